package engine

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/parley-chat/parley/internal/sharedtest"
)

type goldenRun struct {
	Prompt       string `json:"prompt"`
	NPredict     int    `json:"n_predict"`
	PromptIDs    []int  `json:"prompt_ids"`
	GeneratedIDs []int  `json:"generated_ids"`
}

func golden(t testing.TB) []goldenRun {
	data, err := os.ReadFile(filepath.Join(sharedtest.Dir(t), "golden", "stories260K.greedy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct{ Results []goldenRun }
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	return g.Results
}

func load(t testing.TB, opts Options) *Model {
	t.Helper()
	m, err := Load(filepath.Join(sharedtest.Dir(t), "models", "stories260K.gguf"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func collect(ctx context.Context, m *Model, prompt []int, p Params) ([]int, Result, error) {
	var ids []int
	res, err := m.Generate(ctx, prompt, p, func(id int) error {
		ids = append(ids, id)
		return nil
	})
	return ids, res, err
}

func TestGenerateGolden(t *testing.T) {
	m := load(t, Options{Threads: 2, ContextLength: 512})
	if m.ContextLength() != 512 {
		t.Fatalf("context %d", m.ContextLength())
	}
	// In file order the 16- and 64-token runs of a prompt follow each
	// other, so the second reuses the first's cache.
	for _, r := range golden(t) {
		ids, res, err := collect(context.Background(), m, r.PromptIDs, Params{MaxTokens: r.NPredict})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, r.GeneratedIDs) {
			t.Errorf("prompt %q: got %v\nwant %v", r.Prompt, ids, r.GeneratedIDs)
		}
		if res.Finish != FinishMaxTokens || res.GeneratedTokens != r.NPredict || res.PromptTokens != len(r.PromptIDs) {
			t.Errorf("prompt %q: result %+v", r.Prompt, res)
		}
	}
}

func TestPrefixReuseContinues(t *testing.T) {
	r := golden(t)[1] // "Once upon a time", 64 tokens
	m := load(t, Options{Threads: 1})
	if _, _, err := collect(context.Background(), m, r.PromptIDs, Params{MaxTokens: 20}); err != nil {
		t.Fatal(err)
	}
	// The next "turn" extends the cached sequence.
	prompt := append(slices.Clone(r.PromptIDs), r.GeneratedIDs[:30]...)
	ids, res, err := collect(context.Background(), m, prompt, Params{MaxTokens: 34})
	if err != nil {
		t.Fatal(err)
	}
	// The first run's prompt and its tokens but the last, never fed.
	if res.CachedTokens != len(r.PromptIDs)+19 {
		t.Errorf("cached tokens %d, want %d", res.CachedTokens, len(r.PromptIDs)+19)
	}
	if !slices.Equal(ids, r.GeneratedIDs[30:]) {
		t.Errorf("continuation %v\nwant %v", ids, r.GeneratedIDs[30:])
	}
	// And a shorter, diverging prompt rewinds it.
	ids, _, err = collect(context.Background(), m, r.PromptIDs, Params{MaxTokens: 64})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, r.GeneratedIDs) {
		t.Errorf("after rewind %v\nwant %v", ids, r.GeneratedIDs)
	}
}

func TestGenerateStops(t *testing.T) {
	r := golden(t)[1]
	m := load(t, Options{Threads: 1, ContextLength: 16})
	stopAt := slices.Index(r.GeneratedIDs, r.GeneratedIDs[4])
	tests := []struct {
		name       string
		prompt     []int
		params     Params
		emitErr    func(n int) error
		wantFinish FinishReason
		wantN      int
		wantErr    error
	}{
		{"max tokens", r.PromptIDs, Params{MaxTokens: 3}, nil, FinishMaxTokens, 3, nil},
		{"context full", r.PromptIDs, Params{}, nil, FinishContext, 16 - 5 + 1, nil},
		{"stop token", r.PromptIDs, Params{StopTokens: []int{r.GeneratedIDs[4]}}, nil, FinishEOG, stopAt, nil},
		{"emit stops", r.PromptIDs, Params{}, func(n int) error {
			if n == 2 {
				return ErrStop
			}
			return nil
		}, FinishStopped, 2, nil},
		{"emit fails", r.PromptIDs, Params{}, func(n int) error {
			if n == 2 {
				return os.ErrClosed
			}
			return nil
		}, "", 2, os.ErrClosed},
		{"prompt too long", make([]int, 16), Params{}, nil, "", 0, ErrPromptTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			res, err := m.Generate(context.Background(), tc.prompt, tc.params, func(int) error {
				n++
				if tc.emitErr != nil {
					return tc.emitErr(n)
				}
				return nil
			})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if res.Finish != tc.wantFinish || res.GeneratedTokens != tc.wantN || n != tc.wantN {
				t.Errorf("result %+v after %d emits, want finish %q with %d tokens", res, n, tc.wantFinish, tc.wantN)
			}
		})
	}
	if _, err := m.Generate(context.Background(), nil, Params{}, nil); err == nil {
		t.Error("empty prompt accepted")
	}
	if _, err := m.Generate(context.Background(), []int{1, 9999}, Params{}, nil); err == nil {
		t.Error("token outside the vocabulary accepted")
	}
}

func TestGenerateCancel(t *testing.T) {
	m := load(t, Options{Threads: 1})
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	res, err := m.Generate(ctx, []int{1}, Params{}, func(int) error {
		n++
		if n == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if n != 3 || res.GeneratedTokens != 3 {
		t.Errorf("%d tokens after cancel (result %+v), want 3", n, res)
	}
	// A request that is cancelled before it starts does not start.
	if _, err := m.Generate(ctx, []int{1}, Params{}, func(int) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled request: %v", err)
	}
}

func TestConcurrentGenerations(t *testing.T) {
	runs := golden(t)
	m := load(t, Options{Threads: 2})
	var wg sync.WaitGroup
	errs := make(chan error, len(runs))
	for _, r := range runs {
		wg.Go(func() {
			ids, _, err := collect(context.Background(), m, r.PromptIDs, Params{MaxTokens: r.NPredict})
			if err == nil && !slices.Equal(ids, r.GeneratedIDs) {
				err = errors.New("prompt " + r.Prompt + ": ids differ from the golden run")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestClose(t *testing.T) {
	m, err := Load(filepath.Join(sharedtest.Dir(t), "models", "stories260K.gguf"), Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, _, err := collect(context.Background(), m, []int{1}, Params{MaxTokens: 1}); !errors.Is(err, ErrClosed) {
		t.Errorf("Generate after Close: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.gguf")
	if err := os.WriteFile(junk, []byte("GGUF but not really"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "missing.gguf"), junk} {
		if m, err := Load(p, Options{}); err == nil {
			m.Close()
			t.Errorf("Load(%s) succeeded", p)
		}
	}
}

func BenchmarkGenerateStories260K(b *testing.B) {
	m := load(b, Options{Threads: 1})
	for b.Loop() {
		if _, _, err := collect(context.Background(), m, []int{1, 403, 407, 261, 378}, Params{MaxTokens: 64}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(64*b.N)/b.Elapsed().Seconds(), "tok/s")
}
