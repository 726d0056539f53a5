package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/conversation"
	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/inference"
	"github.com/parley-chat/parley/internal/store/sqlite"
)

// instant answers every request at once with a fixed reply, so the fuzzer
// spends its time in decoding and validation rather than in a model.
type instant struct{}

func (instant) Generate(ctx context.Context, req chat.GenerateRequest, emit func(chat.Delta) error) (chat.Generation, error) {
	if err := emit(chat.Delta{Content: "ok"}); err != nil {
		return chat.Generation{}, err
	}
	return chat.Generation{Model: "instant", FinishReason: chat.FinishStop, Usage: chat.Usage{CompletionTokens: 1}}, nil
}

func (instant) Models(context.Context) ([]chat.ModelInfo, error) {
	return []chat.ModelInfo{{ID: "instant"}}, nil
}

// FuzzHandlersDecodeJSON sends arbitrary bodies to every route that reads
// one. Whatever arrives, the api must not panic, must not answer 5xx, and
// must answer every error with OpenAI-style JSON.
func FuzzHandlersDecodeJSON(f *testing.F) {
	seeds := []string{
		`{"message":"hi"}`, `{"message":"hi","conversation_id":""}`, `{"message":""}`, `{"message":1}`,
		`{"content":"hello","model":"instant","stream":false}`, `{"content":"x","stream":true}`,
		`{"title":"t","system_prompt":"s","model":"m"}`, `{"title":null}`, `{"model":"instant","stream":false}`,
		`{"model":"instant","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"max_tokens":-1,"temperature":9,"stop":"x"}`,
		`{"model":"instant","messages":[],"n":2,"seed":-1,"top_p":2}`,
		`{`, `[]`, `null`, `""`, `{"a":1}`, "{\"message\":\"\xff\"}", `{"message":"hi"} {}`, "",
	}
	for route := range fuzzRoutes {
		for _, s := range seeds {
			f.Add(uint8(route), s)
		}
	}
	log := slog.New(slog.DiscardHandler)
	db, err := sqlite.Open(context.Background(), filepath.Join(f.TempDir(), "fuzz.db"), sqlite.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	gen := instant{}
	svc := conversation.NewService(db, gen, conversation.Config{MaxMessageBytes: 4 << 10}, log)
	f.Cleanup(func() { svc.Shutdown(context.Background()) })
	v1 := inference.NewServer(gen, inference.Config{MaxBodyBytes: 16 << 10}, log)
	accounts, authn := newAuth(f, db, auth.ModeNone, account.Config{})
	h := httpx.Middleware(log, api.New(api.Config{MaxBodyBytes: 16 << 10}, svc, accounts, authn, gen, v1, log))
	conv, err := svc.CreateConversation(context.Background(), account.LocalID, chat.Conversation{})
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, route uint8, body string) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		path := strings.ReplaceAll(rt.path, "{id}", conv.ID)
		req := httptest.NewRequest(rt.method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { defer close(done); h.ServeHTTP(rec, req) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s %s %q: no answer after 10s", rt.method, rt.path, body)
		}
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: status %d %s", rt.method, rt.path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var e httpx.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
				t.Fatalf("%s %s %q: %d with a non-JSON error %q", rt.method, rt.path, body, rec.Code, rec.Body)
			}
		}
	})
}

var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/chat"},
	{"POST", "/api/conversations"},
	{"PATCH", "/api/conversations/{id}"},
	{"POST", "/api/conversations/{id}/messages"},
	{"POST", "/api/conversations/{id}/regenerate"},
	{"POST", "/api/conversations/{id}/continue"},
	{"POST", "/v1/chat/completions"},
	{"POST", "/v1/completions"},
	{"POST", "/api/auth/signup"},
	{"POST", "/api/auth/login"},
	{"POST", "/api/keys"},
	{"PATCH", "/api/admin/users/{id}"},
}
