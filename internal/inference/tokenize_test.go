package inference_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/engine"
	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/inference"
	"github.com/parley-chat/parley/internal/inference/builtin"
	"github.com/parley-chat/parley/internal/openai"
	"github.com/parley-chat/parley/internal/sharedtest"
	"github.com/parley-chat/parley/internal/testupstream"
)

// modelService serves gen as a model service does, on 127.0.0.1.
func serviceOver(t *testing.T, gen chat.Generator) string {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	srv := httptest.NewServer(httpx.Middleware(log, inference.NewServer(gen, inference.Config{}, log)))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestCountingThroughTheModelService: the api's router counts a prompt as
// the built-in engine behind a model service does, exactly, and a reply
// ending the messages is continued over HTTP as in process.
func TestCountingThroughTheModelService(t *testing.T) {
	g, err := builtin.Open(builtin.Config{ModelPath: sharedtest.Stories260K(t), Engine: engine.Options{ContextLength: 256, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	cfg := inference.RouterConfig{URLs: []string{serviceOver(t, g)}}
	r := inference.NewRouter(cfg.Routes(), cfg, nil)
	zero := 0.0
	for _, req := range []chat.GenerateRequest{
		{Messages: []chat.Turn{{Role: chat.RoleSystem, Content: "A story."}, {Role: chat.RoleUser, Content: "Once upon a time"}}},
		{Messages: []chat.Turn{{Role: chat.RoleUser, Content: "Once upon a time"}, {Role: chat.RoleAssistant, Content: ", there was"}}},
		{Model: "stories260K", Prompt: "Lily went"},
	} {
		want, err := g.CountTokens(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.CountTokens(t.Context(), req)
		if err != nil || got != want || !got.Exact || got.ContextLength != 256 || got.Model != "stories260K" {
			t.Errorf("router counts %+v (%v), the engine %+v", got, err, want)
		}
		req.Params = chat.Params{MaxTokens: 6, Temperature: &zero}
		var remote, local strings.Builder
		rgen, err := r.Generate(t.Context(), req, func(d chat.Delta) error { remote.WriteString(d.Content); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.Generate(t.Context(), req, func(d chat.Delta) error { local.WriteString(d.Content); return nil }); err != nil {
			t.Fatal(err)
		}
		if remote.String() != local.String() || rgen.Usage.PromptTokens != want.Tokens {
			t.Errorf("over HTTP %q (prompt %d tokens), in process %q (%d)", remote.String(), rgen.Usage.PromptTokens, local.String(), want.Tokens)
		}
	}
	// An unknown model is not found, and does not make the client give up
	// on counting.
	if _, err := openai.NewClient(cfg.URLs[0], "", nil).CountTokens(t.Context(), chat.GenerateRequest{Model: "gpt-9", Prompt: "hi"}); chat.KindOf(err) != chat.KindNotFound {
		t.Errorf("counting for an unknown model: %v", err)
	}
	if _, err := r.CountTokens(t.Context(), chat.GenerateRequest{Model: "gpt-9", Prompt: "hi"}); chat.KindOf(err) != chat.KindNotFound {
		t.Errorf("routing a count for an unknown model: %v", err)
	}
}

func postTokenize(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url+"/v1/tokenize", "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestTokenizeEstimates: a model service over a server that cannot count
// answers an estimate on the long side, with the window the server lists.
func TestTokenizeEstimates(t *testing.T) {
	up := testupstream.New(t, testupstream.Options{ContextLength: 4096})
	url := serviceOver(t, openai.NewClient(up.URL, "", nil))
	text := "the quick brown fox jumps over the lazy dog"
	code, body := postTokenize(t, url, `{"messages":[{"role":"user","content":"`+text+`"}]}`)
	var tc chat.TokenCount
	if err := json.Unmarshal(body, &tc); code != 200 || err != nil {
		t.Fatalf("%d %s", code, body)
	}
	if tc.Exact || tc.ContextLength != 4096 || tc.Model != testupstream.DefaultModel || tc.Tokens < len(text)/3 {
		t.Errorf("count %+v", tc)
	}
	for _, bad := range []string{`{}`, `{"messages":[]}`, `{"prompt":"a","messages":[{"role":"user","content":"b"}]}`, `{"messages":[{"role":"robot","content":"b"}]}`} {
		if code, body := postTokenize(t, url, bad); code != http.StatusBadRequest {
			t.Errorf("POST /v1/tokenize %s: %d %s", bad, code, body)
		}
	}
}
