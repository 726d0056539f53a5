package builtin

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/sharedtest"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/engine"
)

func open(t testing.TB, cfg Config) *Generator {
	t.Helper()
	cfg.ModelPath = filepath.Join(sharedtest.Dir(t), "models", "stories260K.gguf")
	if cfg.Engine.Threads == 0 {
		cfg.Engine.Threads = 1
	}
	g, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

type goldenRun struct {
	Prompt        string `json:"prompt"`
	NPredict      int    `json:"n_predict"`
	GeneratedText string `json:"generated_text"`
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

func ptr[T any](v T) *T { return &v }

// run collects the deltas of one generation.
func run(ctx context.Context, g *Generator, req chat.GenerateRequest) ([]string, chat.Generation, error) {
	var deltas []string
	gen, err := g.Generate(ctx, req, func(d chat.Delta) error {
		deltas = append(deltas, d.Content)
		return nil
	})
	return deltas, gen, err
}

func TestModels(t *testing.T) {
	g := open(t, Config{Engine: engine.Options{ContextLength: 256}})
	ms, err := g.Models(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].ID != "stories260K" || ms[0].ContextLength != 256 || ms[0].OwnedBy != "parley" {
		t.Errorf("Models() = %+v", ms)
	}
	if g.ContextLength() != 256 {
		t.Errorf("ContextLength() = %d", g.ContextLength())
	}
	if g.Chats() {
		t.Error("stories260K, a base model without a template, Chats()")
	}
	if id := ModelID("/models/Qwen2.5-0.5B-Instruct-Q8_0.gguf"); id != "Qwen2.5-0.5B-Instruct-Q8_0" {
		t.Errorf("ModelID = %q", id)
	}
}

func TestGreedyGolden(t *testing.T) {
	g := open(t, Config{})
	for _, r := range golden(t) {
		if r.Prompt == "" {
			continue // an empty Prompt means "use Messages"
		}
		deltas, gen, err := run(context.Background(), g, chat.GenerateRequest{
			Model: "stories260K", Prompt: r.Prompt,
			Params: chat.Params{Temperature: ptr(0.0), MaxTokens: r.NPredict},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(deltas, ""); got != r.GeneratedText {
			t.Errorf("prompt %q: %q\nwant %q", r.Prompt, got, r.GeneratedText)
		}
		gen.Usage.CachedTokens = 0 // the earlier runs' prefix: TestPrefixCacheReported
		want := chat.Generation{Model: "stories260K", FinishReason: chat.FinishLength, Usage: chat.Usage{PromptTokens: 5, CompletionTokens: r.NPredict}}
		if gen != want {
			t.Errorf("prompt %q: generation %+v, want %+v", r.Prompt, gen, want)
		}
	}
}

func TestStopStrings(t *testing.T) {
	g := open(t, Config{})
	const full = ", there was a little girl named Lily. She loved to play outside in the park. One day," // 30 tokens
	tests := []struct {
		name   string
		stop   []string
		want   string
		finish string
	}{
		{"inside a token", []string{"ily"}, ", there was a little girl named L", chat.FinishStop},
		{"across tokens", []string{"girl named"}, ", there was a little ", chat.FinishStop},
		{"earliest of several", []string{"park", "little"}, ", there was a ", chat.FinishStop},
		{"never completed", []string{"Lily!"}, full, chat.FinishLength},
		{"empty stop ignored", []string{""}, full, chat.FinishLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			deltas, gen, err := run(context.Background(), g, chat.GenerateRequest{
				Prompt: "Once upon a time",
				Params: chat.Params{Temperature: ptr(0.0), MaxTokens: 30, Stop: tc.stop},
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(deltas, ""); got != tc.want {
				t.Errorf("text %q, want %q", got, tc.want)
			}
			if gen.FinishReason != tc.finish {
				t.Errorf("finish %q, want %q", gen.FinishReason, tc.finish)
			}
		})
	}
}

func TestStreamWithholdsStopPrefixes(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		stops  []string
		want   []string // deltas
		stop   bool
	}{
		{"plain", []string{"ab", "cd"}, nil, []string{"ab", "cd"}, false},
		{"held then released", []string{"a<", "|x"}, []string{"<|end|>"}, []string{"a", "<|x"}, false},
		{"held then matched", []string{"a<|e", "nd|>b"}, []string{"<|end|>"}, []string{"a"}, true},
		{"final flush releases", []string{"a<|en"}, []string{"<|end|>"}, []string{"a", "<|en"}, false},
		{"overlapping stops", []string{"xy", "z"}, []string{"yz", "xyq"}, []string{"x"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			s := &stream{stops: tc.stops, emit: func(d chat.Delta) error { got = append(got, d.Content); return nil }}
			stopped := false
			for _, c := range tc.chunks {
				s.pending += c
				if err := s.push(false); errors.Is(err, engine.ErrStop) {
					stopped = true
					break
				}
			}
			if !stopped {
				if err := s.push(true); err != nil {
					t.Fatal(err)
				}
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || stopped != tc.stop {
				t.Errorf("deltas %q stopped=%v, want %q stopped=%v", got, stopped, tc.want, tc.stop)
			}
		})
	}
}

func TestChatMessages(t *testing.T) {
	g := open(t, Config{})
	deltas, gen, err := run(context.Background(), g, chat.GenerateRequest{
		Messages: []chat.Turn{{Role: chat.RoleUser, Content: "Once upon a time"}},
		Params:   chat.Params{Temperature: ptr(0.0), MaxTokens: 8},
	})
	if err != nil {
		t.Fatal(err)
	}
	if gen.Usage.CompletionTokens != 8 || gen.FinishReason != chat.FinishLength || gen.Usage.PromptTokens < 2 {
		t.Errorf("generation %+v", gen)
	}
	if strings.Join(deltas, "") == "" {
		t.Error("no text generated")
	}
}

func TestSeededSamplingReproducible(t *testing.T) {
	g := open(t, Config{})
	req := chat.GenerateRequest{Prompt: "The little dog", Params: chat.Params{Temperature: ptr(1.0), Seed: ptr(int64(42)), MaxTokens: 24}}
	a, _, err := run(context.Background(), g, req)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := run(context.Background(), g, req)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(a, "") != strings.Join(b, "") {
		t.Errorf("same seed, different text:\n%q\n%q", strings.Join(a, ""), strings.Join(b, ""))
	}
}

func TestGenerateErrors(t *testing.T) {
	g := open(t, Config{Engine: engine.Options{ContextLength: 16}})
	long := strings.Repeat("Once upon a time ", 10)
	tests := []struct {
		name    string
		req     chat.GenerateRequest
		kind    chat.Kind
		tooLong bool
	}{
		{"unknown model", chat.GenerateRequest{Model: "gpt-9", Prompt: "hi"}, chat.KindNotFound, false},
		{"nothing to say", chat.GenerateRequest{}, chat.KindInvalid, false},
		{"prompt too long", chat.GenerateRequest{Prompt: long}, chat.KindInvalid, true},
		{"messages too long", chat.GenerateRequest{Messages: []chat.Turn{{Role: chat.RoleUser, Content: long}}}, chat.KindInvalid, true},
		{"bad top_p", chat.GenerateRequest{Prompt: "hi", Params: chat.Params{TopP: ptr(1.5)}}, chat.KindInvalid, false},
		{"negative max tokens", chat.GenerateRequest{Prompt: "hi", Params: chat.Params{MaxTokens: -1}}, chat.KindInvalid, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := run(context.Background(), g, tc.req)
			if err == nil || chat.KindOf(err) != tc.kind {
				t.Errorf("error %v (kind %v), want kind %v", err, chat.KindOf(err), tc.kind)
			}
			// parley run tells the user to start again.
			if errors.Is(err, engine.ErrPromptTooLong) != tc.tooLong {
				t.Errorf("error %v: errors.Is(ErrPromptTooLong) = %v", err, !tc.tooLong)
			}
			// The conversation service sends less and tries again.
			if (chat.CodeOf(err) == chat.CodeContextLength) != tc.tooLong {
				t.Errorf("error %v: code %q", err, chat.CodeOf(err))
			}
		})
	}
}

func TestCancelAndEmitError(t *testing.T) {
	g := open(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	gen, err := g.Generate(ctx, chat.GenerateRequest{Prompt: "Once upon a time"}, func(chat.Delta) error {
		n++
		if n == 2 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if gen.Usage.CompletionTokens < 2 || gen.Usage.CompletionTokens > 3 {
		t.Errorf("generation after cancel %+v", gen)
	}
	boom := errors.New("client went away")
	_, err = g.Generate(context.Background(), chat.GenerateRequest{Prompt: "Once upon a time"}, func(chat.Delta) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want the emit error", err)
	}
}

// TestCountTokens: the count is the prompt Generate runs, chat template
// included, for every form of request.
func TestCountTokens(t *testing.T) {
	g := open(t, Config{Engine: engine.Options{ContextLength: 256}})
	for _, req := range []chat.GenerateRequest{
		{Prompt: "Once upon a time"},
		{Messages: []chat.Turn{{Role: chat.RoleUser, Content: "Once upon a time"}}},
		{Messages: []chat.Turn{{Role: chat.RoleSystem, Content: "Tell stories."}, {Role: chat.RoleUser, Content: "Lily went"},
			{Role: chat.RoleAssistant, Content: "to the park."}, {Role: chat.RoleUser, Content: "Then what?"}}},
		{Messages: []chat.Turn{{Role: chat.RoleUser, Content: "Lily went"}, {Role: chat.RoleAssistant, Content: "to the"}}},
	} {
		req.Params = chat.Params{MaxTokens: 1}
		c, err := g.CountTokens(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		_, gen, err := run(context.Background(), g, req)
		if err != nil {
			t.Fatal(err)
		}
		if c.Tokens != gen.Usage.PromptTokens || c.Tokens < 2 || !c.Exact || c.ContextLength != 256 || c.Model != "stories260K" {
			t.Errorf("CountTokens(%+v) = %+v, Generate's prompt has %d tokens", req, c, gen.Usage.PromptTokens)
		}
	}
	if _, err := g.CountTokens(context.Background(), chat.GenerateRequest{Model: "gpt-9", Prompt: "hi"}); chat.KindOf(err) != chat.KindNotFound {
		t.Errorf("CountTokens of an unknown model: %v", err)
	}
}

// TestContinueAssistantTurn: a request ending with the assistant's turn
// continues it: greedily, the reply in two parts is the reply in one.
func TestContinueAssistantTurn(t *testing.T) {
	g := open(t, Config{})
	user := chat.Turn{Role: chat.RoleUser, Content: "Once upon a time"}
	greedy := func(n int, msgs ...chat.Turn) string {
		t.Helper()
		deltas, _, err := run(context.Background(), g, chat.GenerateRequest{Messages: msgs,
			Params: chat.Params{Temperature: ptr(0.0), MaxTokens: n}})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(deltas, "")
	}
	whole := greedy(16, user)
	first := greedy(6, user)
	rest := greedy(10, user, chat.Turn{Role: chat.RoleAssistant, Content: first})
	if first+rest != whole || !strings.HasPrefix(whole, first) || rest == "" {
		t.Errorf("continued %q + %q, want %q in one go", first, rest, whole)
	}
}
