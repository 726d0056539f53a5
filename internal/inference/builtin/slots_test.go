package builtin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/engine"
	"github.com/parley-chat/parley/internal/httpx"
)

// TestBusyIsRateLimited: with every sequence busy and no room to wait, a
// request is refused at once as 429 with Retry-After.
func TestBusyIsRateLimited(t *testing.T) {
	g := open(t, Config{Engine: engine.Options{Parallel: 1, MaxQueue: engine.NoQueue}})
	first, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		once := false
		g.Generate(context.Background(), chat.GenerateRequest{Prompt: "Once upon a time", Params: chat.Params{MaxTokens: 40, IgnoreEOS: true}},
			func(chat.Delta) error {
				if !once {
					once = true
					close(first)
					<-release // the reader stalls: the sequence stays busy
				}
				return nil
			})
	})
	defer wg.Wait()
	defer close(release)
	<-first
	_, _, err := run(context.Background(), g, chat.GenerateRequest{Prompt: "Lily wanted to"})
	if chat.KindOf(err) != chat.KindRateLimited || chat.RetryAfterOf(err) <= 0 {
		t.Fatalf("error %v (kind %v), want a rate limit with Retry-After", err, chat.KindOf(err))
	}
	rec := httptest.NewRecorder()
	httpx.WriteError(rec, httptest.NewRequest(http.MethodPost, "/v1/completions", nil), nil, err)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" ||
		!strings.Contains(rec.Body.String(), `"type":"rate_limit_error"`) {
		t.Errorf("answer %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
}

// TestPrefixCacheReported: the next turn of a chat reuses the slot's keys
// and values, reports them as cached tokens, and says what a cold run says.
func TestPrefixCacheReported(t *testing.T) {
	turn1 := []chat.Turn{{Role: chat.RoleUser, Content: "Once upon a time"}}
	params := chat.Params{Temperature: ptr(0.0), MaxTokens: 12}
	warm := open(t, Config{})
	reply, gen, err := run(context.Background(), warm, chat.GenerateRequest{Messages: turn1, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	if gen.Usage.CachedTokens != 0 {
		t.Errorf("first turn: %d cached tokens", gen.Usage.CachedTokens)
	}
	turn2 := append(turn1, chat.Turn{Role: chat.RoleAssistant, Content: strings.Join(reply, "")},
		chat.Turn{Role: chat.RoleUser, Content: "Then what?"})
	got, gen, err := run(context.Background(), warm, chat.GenerateRequest{Messages: turn2, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	if gen.Usage.CachedTokens < 5 || gen.Usage.CachedTokens >= gen.Usage.PromptTokens {
		t.Errorf("second turn: %d of %d prompt tokens cached", gen.Usage.CachedTokens, gen.Usage.PromptTokens)
	}
	cold := open(t, Config{})
	want, coldGen, err := run(context.Background(), cold, chat.GenerateRequest{Messages: turn2, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "") != strings.Join(want, "") || coldGen.Usage.CachedTokens != 0 {
		t.Errorf("warm %q, cold %q (cold cached %d)", strings.Join(got, ""), strings.Join(want, ""), coldGen.Usage.CachedTokens)
	}
}

// TestIgnoreEOS: ignore_eos generates past the end of turn, to max_tokens.
func TestIgnoreEOS(t *testing.T) {
	g, err := Open(Config{ModelPath: chatModel(t, "<|im_end|>"), Engine: engine.Options{Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	req := chat.GenerateRequest{Messages: []chat.Turn{{Role: chat.RoleUser, Content: "hi"}},
		Params: chat.Params{Temperature: ptr(0.0), MaxTokens: 5}}
	if _, gen, err := run(context.Background(), g, req); err != nil || gen.Usage.CompletionTokens != 0 || gen.FinishReason != chat.FinishStop {
		t.Fatalf("without ignore_eos: %+v, %v", gen, err)
	}
	req.Params.IgnoreEOS = true
	if _, gen, err := run(context.Background(), g, req); err != nil || gen.Usage.CompletionTokens != 5 || gen.FinishReason != chat.FinishLength {
		t.Errorf("with ignore_eos: %+v, %v", gen, err)
	}
}

// TestConcurrentRequests: more requests than sequences all finish with
// the text each gives alone.
func TestConcurrentRequests(t *testing.T) {
	g := open(t, Config{Engine: engine.Options{Parallel: 4, Threads: 2}})
	var runs []goldenRun
	for _, r := range golden(t) {
		if r.Prompt != "" {
			runs = append(runs, r)
		}
	}
	runs = append(runs, runs...) // 12 requests for 4 sequences
	got := make([]string, len(runs))
	errs := make([]error, len(runs))
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Go(func() {
			var d []string
			d, _, errs[i] = run(context.Background(), g, chat.GenerateRequest{Prompt: r.Prompt,
				Params: chat.Params{Temperature: ptr(0.0), MaxTokens: r.NPredict}})
			got[i] = strings.Join(d, "")
		})
	}
	wg.Wait()
	for i, r := range runs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if got[i] != r.GeneratedText {
			t.Errorf("prompt %q n=%d: %q\nwant %q", r.Prompt, r.NPredict, got[i], r.GeneratedText)
		}
	}
}
