package ollama_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/ollama"
	"github.com/parley-chat/parley/internal/testupstream"
)

func ptr[T any](v T) *T { return &v }

func generate(ctx context.Context, g chat.Generator, req chat.GenerateRequest) (string, chat.Generation, error) {
	var b strings.Builder
	gen, err := g.Generate(ctx, req, func(d chat.Delta) error {
		b.WriteString(d.Content)
		return nil
	})
	return b.String(), gen, err
}

func turns(text string) []chat.Turn {
	return []chat.Turn{{Role: chat.RoleSystem, Content: "sys"}, {Role: chat.RoleUser, Content: text}}
}

func TestGenerate(t *testing.T) {
	const msg = "alpha beta gamma delta"
	tests := []struct {
		name       string
		opts       testupstream.Options
		req        chat.GenerateRequest
		wantText   string
		wantFinish string
		wantUsage  int
		wantPath   string
	}{
		{name: "chat", req: chat.GenerateRequest{Messages: turns(msg)}, wantText: msg, wantFinish: "stop", wantUsage: 4, wantPath: "/api/chat"},
		{name: "num_predict", req: chat.GenerateRequest{Messages: turns(msg), Params: chat.Params{MaxTokens: 2}},
			wantText: "alpha beta", wantFinish: "length", wantUsage: 2, wantPath: "/api/chat"},
		{name: "raw prompt", req: chat.GenerateRequest{Prompt: "Once upon"}, wantText: "Once upon", wantFinish: "stop", wantUsage: 2, wantPath: "/api/generate"},
		{name: "stream without done line completes", opts: testupstream.Options{NoDone: true},
			req: chat.GenerateRequest{Messages: turns(msg)}, wantText: msg, wantFinish: "stop", wantPath: "/api/chat"},
		{name: "slow tokens", opts: testupstream.Options{TokenDelay: time.Millisecond},
			req: chat.GenerateRequest{Messages: turns(msg)}, wantText: msg, wantFinish: "stop", wantUsage: 4, wantPath: "/api/chat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := testupstream.New(t, tt.opts)
			c := ollama.New(ollama.Config{BaseURL: up.URL + "/", DefaultModel: testupstream.DefaultModel})
			text, gen, err := generate(t.Context(), c, tt.req)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if text != tt.wantText || gen.FinishReason != tt.wantFinish || gen.Usage.CompletionTokens != tt.wantUsage {
				t.Fatalf("got %q %q %+v, want %q %q %d", text, gen.FinishReason, gen.Usage, tt.wantText, tt.wantFinish, tt.wantUsage)
			}
			last := up.LastRequest()
			if last.Path != tt.wantPath {
				t.Errorf("path = %s, want %s", last.Path, tt.wantPath)
			}
			if tt.req.Prompt != "" && !strings.Contains(string(last.Body), `"raw":true`) {
				t.Errorf("raw not set: %s", last.Body)
			}
		})
	}
}

func TestOptionsMapping(t *testing.T) {
	up := testupstream.New(t)
	c := ollama.New(ollama.Config{BaseURL: up.URL, KeepAlive: "5m"})
	p := chat.Params{
		Temperature: ptr(0.7), TopP: ptr(0.8), TopK: ptr(30), MinP: ptr(0.1), MaxTokens: 50,
		Stop: []string{"User:"}, Seed: ptr(int64(42)), RepeatPenalty: ptr(1.2),
		FrequencyPenalty: ptr(0.3), PresencePenalty: ptr(0.4),
	}
	if _, _, err := generate(t.Context(), c, chat.GenerateRequest{Messages: turns("x"), Params: p}); err != nil {
		t.Fatal(err)
	}
	var body struct {
		Model     string         `json:"model"`
		Stream    bool           `json:"stream"`
		KeepAlive string         `json:"keep_alive"`
		Options   map[string]any `json:"options"`
	}
	if err := json.Unmarshal(up.LastRequest().Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Model != testupstream.DefaultModel || !body.Stream || body.KeepAlive != "5m" {
		t.Errorf("body = %+v", body)
	}
	want := map[string]any{"temperature": 0.7, "top_p": 0.8, "top_k": 30.0, "min_p": 0.1, "num_predict": 50.0,
		"seed": 42.0, "repeat_penalty": 1.2, "frequency_penalty": 0.3, "presence_penalty": 0.4}
	for k, v := range want {
		if body.Options[k] != v {
			t.Errorf("options.%s = %v, want %v", k, body.Options[k], v)
		}
	}
	if stop, _ := body.Options["stop"].([]any); len(stop) != 1 || stop[0] != "User:" {
		t.Errorf("options.stop = %v", body.Options["stop"])
	}
	// No params: no options object at all, so Ollama's model defaults apply.
	if _, _, err := generate(t.Context(), c, chat.GenerateRequest{Messages: turns("x")}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(up.LastRequest().Body), `"options"`) {
		t.Errorf("empty params sent options: %s", up.LastRequest().Body)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name     string
		opts     testupstream.Options
		model    string
		wantKind chat.Kind
		wantText string
		wantMsg  string
	}{
		{name: "error line", opts: testupstream.Options{StreamError: "model runner has unexpectedly stopped", FaultAfter: 1},
			wantKind: chat.KindUpstream, wantText: "one", wantMsg: "model runner has unexpectedly stopped"},
		{name: "connection broken", opts: testupstream.Options{CloseMidStream: true, FaultAfter: 2},
			wantKind: chat.KindUpstream, wantText: "one two"},
		{name: "unknown model", model: "llama9", wantKind: chat.KindNotFound, wantMsg: "llama9"},
		{name: "500", opts: testupstream.Options{Status: 500, StatusMessage: "llama runner process has terminated"},
			wantKind: chat.KindUpstream, wantMsg: "Ollama failed (HTTP 500)"},
		{name: "503", opts: testupstream.Options{Status: 503, StatusMessage: "server busy"},
			wantKind: chat.KindUnavailable, wantMsg: "Ollama is unavailable (HTTP 503)"},
		{name: "400", opts: testupstream.Options{Status: 400, StatusMessage: "invalid options"}, wantKind: chat.KindInvalid,
			wantMsg: "Ollama refused the request (HTTP 400)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := testupstream.New(t, tt.opts)
			c := ollama.New(ollama.Config{BaseURL: up.URL})
			text, _, err := generate(t.Context(), c, chat.GenerateRequest{Model: tt.model, Messages: turns("one two three")})
			if chat.KindOf(err) != tt.wantKind {
				t.Fatalf("err = %v, want kind %v", err, tt.wantKind)
			}
			if text != tt.wantText || !strings.Contains(chat.MessageOf(err), tt.wantMsg) {
				t.Fatalf("text %q message %q, want %q and %q", text, chat.MessageOf(err), tt.wantText, tt.wantMsg)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	up := testupstream.New(t)
	url := up.URL
	up.Close()
	c := ollama.New(ollama.Config{BaseURL: url, DefaultModel: "m"})
	if _, _, err := generate(t.Context(), c, chat.GenerateRequest{Messages: turns("x")}); chat.KindOf(err) != chat.KindUnavailable {
		t.Fatalf("err = %v, want KindUnavailable", err)
	}
	if _, err := c.Models(t.Context()); chat.KindOf(err) != chat.KindUnavailable {
		t.Fatalf("Models err = %v, want KindUnavailable", err)
	}
}

func TestCancelReachesUpstream(t *testing.T) {
	up := testupstream.New(t, testupstream.Options{Hang: true, FaultAfter: 1})
	c := ollama.New(ollama.Config{BaseURL: up.URL})
	ctx, cancel := context.WithCancel(t.Context())
	_, err := c.Generate(ctx, chat.GenerateRequest{Messages: turns("a b c")}, func(chat.Delta) error {
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	wait, done := context.WithTimeout(t.Context(), 10*time.Second)
	defer done()
	if err := up.Await(wait, func(s testupstream.Stats) bool { return s.Canceled == 1 }); err != nil {
		t.Fatalf("upstream never saw the cancel: %v", err)
	}
}

func TestFirstByteTimeout(t *testing.T) {
	up := testupstream.New(t, testupstream.Options{HangBeforeHeaders: true})
	c := ollama.New(ollama.Config{BaseURL: up.URL, DefaultModel: testupstream.DefaultModel, FirstByteTimeout: 50 * time.Millisecond})
	if _, _, err := generate(t.Context(), c, chat.GenerateRequest{Messages: turns("x")}); chat.KindOf(err) != chat.KindTimeout {
		t.Fatalf("err = %v, want KindTimeout", err)
	}
}

func TestIdleTimeout(t *testing.T) {
	up := testupstream.New(t, testupstream.Options{Hang: true, FaultAfter: 2})
	c := ollama.New(ollama.Config{BaseURL: up.URL, DefaultModel: testupstream.DefaultModel, IdleTimeout: 50 * time.Millisecond})
	text, _, err := generate(t.Context(), c, chat.GenerateRequest{Messages: turns("one two three")})
	if chat.KindOf(err) != chat.KindTimeout || text != "one two" {
		t.Fatalf("got %q, %v; want the text before the stall and KindTimeout", text, err)
	}
}

func TestModels(t *testing.T) {
	up := testupstream.New(t, testupstream.WithModels("llama3.2:1b", "qwen2.5:0.5b"))
	c := ollama.New(ollama.Config{BaseURL: up.URL})
	models, err := c.Models(t.Context())
	if err != nil || len(models) != 2 || models[0].ID != "llama3.2:1b" || models[1].OwnedBy != "ollama" {
		t.Fatalf("Models = %+v, %v", models, err)
	}
	up.SetOptions(func(o *testupstream.Options) { o.ModelsStatus = 503 })
	if _, err := c.Models(t.Context()); chat.KindOf(err) != chat.KindUnavailable {
		t.Fatalf("err = %v", err)
	}
	up.SetOptions(func(o *testupstream.Options) { o.ModelsStatus = 500 })
	if _, err := c.Models(t.Context()); chat.KindOf(err) != chat.KindUpstream {
		t.Fatalf("err = %v", err)
	}
}
