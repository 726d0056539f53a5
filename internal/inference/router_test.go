package inference_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/inference"
	"github.com/parley-chat/parley/internal/openai"
	"github.com/parley-chat/parley/internal/testupstream"
)

func ask(t *testing.T, g chat.Generator, model, text string) (string, chat.Generation, error) {
	t.Helper()
	var b strings.Builder
	gen, err := g.Generate(t.Context(), chat.GenerateRequest{Model: model, Messages: []chat.Turn{{Role: chat.RoleUser, Content: text}}},
		func(d chat.Delta) error { b.WriteString(d.Content); return nil })
	return b.String(), gen, err
}

func route(up *testupstream.Server, models ...string) inference.Route {
	return inference.Route{Name: up.URL, Models: models, Gen: openai.NewClient(up.URL, "", nil)}
}

func TestRouterPicksBackendByModel(t *testing.T) {
	a := testupstream.New(t, testupstream.Options{Models: []string{"a1", "a2"}, Reply: testupstream.Scripted("from a")})
	b := testupstream.New(t, testupstream.Options{Models: []string{"b1"}, Reply: testupstream.Scripted("from b")})
	c := testupstream.New(t, testupstream.Options{Models: []string{"c-hidden", "c1"}, Reply: testupstream.Scripted("from c")})
	r := inference.NewRouter([]inference.Route{route(a), route(b), route(c, "c1")}, inference.RouterConfig{}, nil)

	tests := []struct{ model, want, wantModel string }{
		{"a2", "from a", "a2"},
		{"b1", "from b", "b1"},
		{"c1", "from c", "c1"},
		{"", "from a", "a1"}, // the first backend's default
	}
	for _, tt := range tests {
		text, gen, err := ask(t, r, tt.model, "hi")
		if err != nil || text != tt.want || gen.Model != tt.wantModel {
			t.Errorf("model %q: got %q %q %v, want %q %q", tt.model, text, gen.Model, err, tt.want, tt.wantModel)
		}
	}
	for _, m := range []string{"nope", "c-hidden"} {
		if _, _, err := ask(t, r, m, "hi"); chat.KindOf(err) != chat.KindNotFound {
			t.Errorf("model %q: err = %v, want KindNotFound", m, err)
		}
	}
	models, err := r.Models(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range models {
		ids = append(ids, m.ID)
	}
	if got := strings.Join(ids, ","); got != "a1,a2,b1,c1" {
		t.Errorf("Models = %s", got)
	}
}

func TestRouterDiscoversOnMiss(t *testing.T) {
	a := testupstream.New(t, testupstream.WithModels("old"))
	r := inference.NewRouter([]inference.Route{route(a)}, inference.RouterConfig{MissInterval: time.Nanosecond}, nil)
	if _, _, err := ask(t, r, "old", "x"); err != nil {
		t.Fatal(err)
	}
	a.SetOptions(func(o *testupstream.Options) { o.Models = []string{"old", "new"} })
	if text, _, err := ask(t, r, "new", "pulled"); err != nil || text != "pulled" {
		t.Fatalf("new model after discovery: %q %v", text, err)
	}
}

func TestRouterBalancesAndFailsOver(t *testing.T) {
	r1 := testupstream.New(t)
	r2 := testupstream.New(t)
	r := inference.NewRouter([]inference.Route{route(r1), route(r2)}, inference.RouterConfig{}, nil)
	for range 4 {
		if _, _, err := ask(t, r, testupstream.DefaultModel, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if s1, s2 := r1.Stats().Requests, r2.Stats().Requests; s1 != 2 || s2 != 2 {
		t.Fatalf("requests split %d/%d, want 2/2", s1, s2)
	}
	r2.Close() // one replica dies: every request still succeeds on the other
	for range 4 {
		if text, _, err := ask(t, r, testupstream.DefaultModel, "still here"); err != nil || text != "still here" {
			t.Fatalf("with one replica down: %q %v", text, err)
		}
	}
	if _, err := r.Models(t.Context()); err != nil {
		t.Fatalf("Models with one of two down: %v", err)
	}
	r1.Close()
	if _, _, err := ask(t, r, testupstream.DefaultModel, "x"); chat.KindOf(err) != chat.KindUnavailable {
		t.Fatalf("all down: err = %v, want KindUnavailable", err)
	}
	if _, err := r.Models(t.Context()); chat.KindOf(err) != chat.KindUnavailable {
		t.Fatalf("Models all down: err = %v, want KindUnavailable", err)
	}
}

func TestRouterNoFailoverAfterText(t *testing.T) {
	r1 := testupstream.New(t, testupstream.Options{CloseMidStream: true, FaultAfter: 1})
	r2 := testupstream.New(t)
	r := inference.NewRouter([]inference.Route{route(r1), route(r2)}, inference.RouterConfig{}, nil)
	// The first request goes to r1, which breaks after one token: the text
	// already emitted cannot be taken back, so the error stands.
	text, _, err := ask(t, r, testupstream.DefaultModel, "a b c")
	if chat.KindOf(err) != chat.KindUpstream || text != "a" {
		t.Fatalf("got %q %v", text, err)
	}
	if r2.Stats().Requests != 0 {
		t.Fatalf("retried on another replica after text was emitted")
	}
}

func TestRouterRunStops(t *testing.T) {
	a := testupstream.New(t)
	r := inference.NewRouter([]inference.Route{route(a)}, inference.RouterConfig{RefreshInterval: time.Millisecond}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	cancel()
	<-done
}

func TestRouterConcurrent(t *testing.T) {
	r1 := testupstream.New(t, testupstream.WithModels("m"))
	r2 := testupstream.New(t, testupstream.WithModels("m"))
	r := inference.NewRouter([]inference.Route{route(r1), route(r2)}, inference.RouterConfig{MissInterval: time.Nanosecond}, nil)
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			model := "m"
			if i%4 == 0 {
				model = "missing" // forces concurrent discoveries
			}
			_, _, err := ask(t, r, model, "x")
			if model == "missing" && chat.KindOf(err) == chat.KindNotFound {
				err = nil
			}
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := r1.Stats().Requests + r2.Stats().Requests; n != 12 {
		t.Fatalf("upstreams served %d requests, want 12", n)
	}
}

// The api's /v1 passes requests through the router: by model name to the
// backend serving it, the model filled in and the token cap applied in the
// body that goes out, and on to another replica when one is down.
func TestRouterPassesThrough(t *testing.T) {
	a := testupstream.New(t, testupstream.Options{Models: []string{"a1", "a2"}, Reply: testupstream.Scripted("from a")})
	b1 := testupstream.New(t, testupstream.Options{Models: []string{"b"}, Reply: testupstream.Scripted("from b")})
	b2 := testupstream.New(t, testupstream.Options{Models: []string{"b"}, Reply: testupstream.Scripted("from b")})
	r := inference.NewRouter([]inference.Route{route(a), route(b1), route(b2)}, inference.RouterConfig{}, nil)
	srv := httptest.NewServer(inference.NewServer(r, inference.Config{MaxTokens: 5}, nil))
	t.Cleanup(srv.Close)
	post := func(body string) string {
		t.Helper()
		status, got := rawPost(t, srv.URL+"/v1/chat/completions", body)
		if status != 200 {
			t.Fatalf("%s: %d %s", body, status, got)
		}
		return got
	}
	if got := post(`{"messages":[{"role":"user","content":"x"}],"store":true}`); !strings.Contains(got, "from a") {
		t.Fatalf("default model: %s", got)
	}
	if sent := string(a.LastRequest().Body); sent != `{"model":"a1","messages":[{"role":"user","content":"x"}],"max_tokens":5}` {
		t.Fatalf("upstream got %s", sent)
	}
	if got := post(`{"model":"a2","messages":[{"role":"user","content":"x"}],"max_tokens":900,"stream":true}`); !strings.Contains(got, `"content":" a"`) || !strings.HasSuffix(got, "data: [DONE]\n\n") {
		t.Fatalf("a2 streamed: %s", got)
	}
	if sent := string(a.LastRequest().Body); !strings.Contains(sent, `"model":"a2"`) || !strings.Contains(sent, `"max_tokens":5`) {
		t.Fatalf("upstream got %s", sent)
	}
	b2.Close()
	for range 4 {
		if got := post(`{"model":"b","messages":[{"role":"user","content":"x"}],"stream":true}`); !strings.Contains(got, "from") {
			t.Fatalf("b with a replica down: %s", got)
		}
	}
	if n := b1.Stats().Requests; n != 4 {
		t.Fatalf("the live replica served %d of 4", n)
	}
	status, got := rawPost(t, srv.URL+"/v1/chat/completions", `{"model":"nope","messages":[{"role":"user","content":"x"}]}`)
	if status != 404 || !strings.Contains(got, "model_not_found") {
		t.Fatalf("unknown model: %d %s", status, got)
	}
}
