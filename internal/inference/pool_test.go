package inference_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/inference"
	"github.com/parley-chat/parley/internal/openai"
	"github.com/parley-chat/parley/internal/testupstream"
)

// modelService runs a Parley model service (the model target's handler)
// in front of up, and returns its URL: what the api's pool talks to.
func modelService(t *testing.T, up *testupstream.Server) string {
	t.Helper()
	return serviceOver(t, openai.NewClient(up.URL, "", nil))
}

// modelHandler is a Parley model service in front of up.
func modelHandler(up *testupstream.Server) http.Handler {
	log := slog.New(slog.DiscardHandler)
	return httpx.Middleware(log, inference.NewServer(openai.NewClient(up.URL, "", nil), inference.Config{}, log))
}

// logBuf collects a router's log lines.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuf) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), "msg=\""+msg)
}

// pool builds the api's router over urls as the api does, and runs it
// (discovery, health checks) until the test ends.
func pool(t *testing.T, cfg inference.RouterConfig, logs io.Writer, urls ...string) *inference.Router {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	cfg.URLs = urls
	r := cfg.NewRouter(slog.New(slog.NewTextHandler(logs, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// await waits, as long as the test may run, until cond holds.
func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-t.Context().Done():
			t.Fatalf("never happened: %s", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func state(r *inference.Router, i int) inference.BackendState { return r.States()[i] }

// opener starts a stream through the router that stays open after its
// first token; it returns the token and the way to end the stream.
type opener func(t *testing.T) (first string, end func())

// generateOpener streams through Router.Generate (the conversations' path).
func generateOpener(_ *testing.T, r *inference.Router) opener {
	return func(t *testing.T) (string, func()) {
		t.Helper()
		ctx, cancel := context.WithCancel(t.Context())
		first := make(chan string, 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = r.Generate(ctx, chat.GenerateRequest{Model: testupstream.DefaultModel, Messages: []chat.Turn{{Role: chat.RoleUser, Content: "x"}}},
				func(d chat.Delta) error {
					select {
					case first <- strings.TrimSpace(d.Content):
					default:
					}
					return nil
				})
		}()
		select {
		case tok := <-first:
			return tok, func() { cancel(); <-done }
		case <-done:
			t.Fatal("the stream ended before its first token")
		}
		return "", nil
	}
}

// v1Opener streams through the api's /v1 (Router.Forward, the pass-through).
func v1Opener(t *testing.T, r *inference.Router) opener {
	srv := httptest.NewServer(inference.NewServer(r, inference.Config{}, nil))
	t.Cleanup(srv.Close)
	return func(t *testing.T) (string, func()) {
		t.Helper()
		ctx, cancel := context.WithCancel(t.Context())
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/chat/completions",
			strings.NewReader(`{"model":"test-model","messages":[{"role":"user","content":"x"}],"stream":true}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("stream: %v %v", resp, err)
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if _, tok, ok := strings.Cut(sc.Text(), `"content":"`); ok && !strings.HasPrefix(tok, `"`) {
				tok, _, _ = strings.Cut(tok, `"`)
				return strings.TrimSpace(tok), func() { cancel(); resp.Body.Close() }
			}
		}
		t.Fatal("the stream ended before its first token")
		return "", nil
	}
}

// Each stream goes to the model service with the fewest in flight, on
// both paths: two services each holding a stream get the next two one
// each; when one's streams end, the next ones go there.
func TestPoolSendsToTheLeastBusy(t *testing.T) {
	for _, path := range []struct {
		name string
		open func(*testing.T, *inference.Router) opener
	}{{"generate", generateOpener}, {"v1", v1Opener}} {
		t.Run(path.name, func(t *testing.T) {
			// Each sends one token, then holds the stream until it is cancelled.
			a := testupstream.New(t, testupstream.Options{Reply: testupstream.Scripted("a a"), Hang: true, FaultAfter: 1})
			b := testupstream.New(t, testupstream.Options{Reply: testupstream.Scripted("b b"), Hang: true, FaultAfter: 1})
			r := pool(t, inference.RouterConfig{}, nil, modelService(t, a), modelService(t, b))
			open := path.open(t, r)
			ends := map[string][]func(){}
			for range 4 {
				from, end := open(t)
				ends[from] = append(ends[from], end)
				t.Cleanup(end)
			}
			if len(ends["a"]) != 2 || len(ends["b"]) != 2 {
				t.Fatalf("4 streams went a %d, b %d; want 2 each", len(ends["a"]), len(ends["b"]))
			}
			for _, end := range ends["a"] {
				end()
			}
			await(t, "a's streams are over", func() bool { return state(r, 0).InFlight == 0 })
			if s := state(r, 1); s.InFlight != 2 {
				t.Fatalf("b: %+v, want 2 in flight", s)
			}
			for i := range 2 {
				if from, _ := open(t); from != "a" {
					t.Fatalf("stream %d after a's ended went to %s, want a (0 in flight against 2)", i, from)
				}
			}
			if s := state(r, 0); s.InFlight != 2 || s.State != "up" {
				t.Fatalf("a: %+v", s)
			}
		})
	}
}

// Idle services take turns, and counting a prompt's tokens does not use
// up a turn: a message counts and then generates on the same service, so
// messages after one another still alternate (they once all went to one).
func TestPoolTurnsSurviveTokenCounting(t *testing.T) {
	a := testupstream.New(t, testupstream.WithReply(testupstream.Scripted("a")))
	b := testupstream.New(t, testupstream.WithReply(testupstream.Scripted("b")))
	r := pool(t, inference.RouterConfig{}, nil, modelService(t, a), modelService(t, b))
	got := map[string]int{}
	for range 4 {
		req := chat.GenerateRequest{Model: testupstream.DefaultModel, Messages: []chat.Turn{{Role: chat.RoleUser, Content: "x"}}}
		if _, err := r.CountTokens(t.Context(), req); err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		if _, err := r.Generate(t.Context(), req, func(d chat.Delta) error { text.WriteString(d.Content); return nil }); err != nil {
			t.Fatal(err)
		}
		got[strings.TrimSpace(text.String())]++
	}
	if got["a"] != 2 || got["b"] != 2 {
		t.Fatalf("4 messages went %v; want 2 each", got)
	}
}

// A model service that fails is taken out of rotation (once, logged
// once); requests go to the other meanwhile, all of them succeeding; its
// readiness checks bring it back when it recovers.
func TestPoolTakesAFailingServiceOutAndBack(t *testing.T) {
	a := testupstream.New(t, testupstream.WithReply(testupstream.Scripted("from a")))
	b := testupstream.New(t, testupstream.WithReply(testupstream.Scripted("from b")))
	logs := &logBuf{}
	r := pool(t, inference.RouterConfig{HealthInterval: 10 * time.Millisecond, Backoff: 10 * time.Millisecond,
		MaxBackoff: 40 * time.Millisecond, MaxFailures: 2}, logs, modelService(t, a), modelService(t, b))
	got := map[string]int{}
	for range 4 {
		text, _, err := ask(t, r, testupstream.DefaultModel, "x")
		if err != nil {
			t.Fatal(err)
		}
		got[text]++
	}
	if got["from a"] != 2 || got["from b"] != 2 {
		t.Fatalf("both up: %v", got)
	}

	a.SetOptions(func(o *testupstream.Options) { o.Status, o.ModelsStatus = 500, 500 })
	for range 6 {
		if text, _, err := ask(t, r, testupstream.DefaultModel, "x"); err != nil || text != "from b" {
			t.Fatalf("with a failing: %q %v", text, err)
		}
	}
	await(t, "a is down", func() bool { return state(r, 0).State == "down" })
	if s := state(r, 0); s.Error == "" || s.RetryIn == "" {
		t.Fatalf("a down: %+v", s)
	}
	refused := a.Stats().Refused
	for range 6 {
		if text, _, err := ask(t, r, testupstream.DefaultModel, "x"); err != nil || text != "from b" {
			t.Fatalf("with a down: %q %v", text, err)
		}
	}
	if n := a.Stats().Refused; n != refused {
		t.Fatalf("a is out of rotation, yet got %d more requests", n-refused)
	}
	if s := state(r, 1); s.State != "up" || s.Failures != 0 {
		t.Fatalf("b: %+v", s)
	}

	a.SetOptions(func(o *testupstream.Options) { o.Status, o.ModelsStatus = 0, 0 })
	await(t, "a is back", func() bool { return state(r, 0).State == "up" })
	got = map[string]int{}
	for range 4 {
		text, _, err := ask(t, r, testupstream.DefaultModel, "x")
		if err != nil {
			t.Fatal(err)
		}
		got[text]++
	}
	if got["from a"] == 0 {
		t.Fatalf("a back in rotation got no request: %v", got)
	}
	if down, back := logs.count("model service is down"), logs.count("model service is back"); down != 1 || back != 1 {
		t.Fatalf("logged down %d, back %d times; want once each:\n%s", down, back, logs.buf.String())
	}
}

// Without readiness checks the pool learns from requests alone: with
// every service down a request still tries one, so a service that came
// back is found by the next request.
func TestPoolWithoutChecksRecoversThroughRequests(t *testing.T) {
	a := testupstream.New(t, testupstream.WithReply(testupstream.Scripted("from a")))
	r := pool(t, inference.RouterConfig{MaxFailures: 1, Backoff: time.Hour}, nil, modelService(t, a))
	a.SetOptions(func(o *testupstream.Options) { o.Status = 500 })
	if _, _, err := ask(t, r, testupstream.DefaultModel, "x"); chat.KindOf(err) != chat.KindUpstream {
		t.Fatalf("failing: %v", err)
	}
	if s := state(r, 0); s.State != "down" {
		t.Fatalf("after a failure with --model-max-failures 1: %+v", s)
	}
	a.SetOptions(func(o *testupstream.Options) { o.Status = 0 })
	if text, _, err := ask(t, r, testupstream.DefaultModel, "x"); err != nil || text != "from a" {
		t.Fatalf("recovered: %q %v", text, err)
	}
	if s := state(r, 0); s.State != "up" {
		t.Fatalf("after a success: %+v", s)
	}
}

// A model service answering 429 or 503 (a full queue) is busy, not
// broken: passed over while another is free, never taken out of rotation
// however often it says so, logged once; when every one is busy, the
// answer is theirs.
func TestPoolPassesOverABusyService(t *testing.T) {
	for _, status := range []int{429, 503} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			a := testupstream.New(t, testupstream.Options{Status: status, Reply: testupstream.Scripted("from a")})
			b := testupstream.New(t, testupstream.WithReply(testupstream.Scripted("from b")))
			logs := &logBuf{}
			r := pool(t, inference.RouterConfig{MaxFailures: 1, BusyWait: time.Hour, MaxBackoff: time.Hour}, logs,
				modelService(t, a), modelService(t, b))
			for range 6 {
				if text, _, err := ask(t, r, testupstream.DefaultModel, "x"); err != nil || text != "from b" {
					t.Fatalf("with a busy: %q %v", text, err)
				}
			}
			s := state(r, 0)
			if s.State != "busy" || s.Failures != 0 || s.Error == "" {
				t.Fatalf("a: %+v, want busy without failures", s)
			}
			if status == 429 {
				// Parley's model service says Retry-After: 1, which wins
				// over the hour of BusyWait.
				if d, _ := time.ParseDuration(s.RetryIn); d > time.Second {
					t.Fatalf("a busy for %s despite Retry-After: 1", s.RetryIn)
				}
			} else if n := a.Stats().Refused; n != 1 {
				t.Fatalf("a busy service got %d requests, want 1 (then passed over)", n)
			}

			b.SetOptions(func(o *testupstream.Options) { o.Status = status })
			for range 3 {
				_, _, err := ask(t, r, testupstream.DefaultModel, "x")
				if want := map[int]chat.Kind{429: chat.KindRateLimited, 503: chat.KindUnavailable}[status]; chat.KindOf(err) != want {
					t.Fatalf("all busy: %v, want %v", err, want)
				}
			}
			for i := range 2 {
				if s := state(r, i); s.State != "busy" {
					t.Fatalf("service %d: %+v", i, s)
				}
			}
			if n := logs.count("model service is busy"); n != 2 {
				t.Fatalf("logged busy %d times, want once per service:\n%s", n, logs.buf.String())
			}
			if n := logs.count("model service is down"); n != 0 {
				t.Fatalf("a busy service was taken down:\n%s", logs.buf.String())
			}
		})
	}
}

// Any server's Retry-After decides how long it is passed over.
func TestPoolHonoursRetryAfter(t *testing.T) {
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/models" {
			io.WriteString(w, `{"data":[{"id":"test-model"}]}`)
			return
		}
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(busy.Close)
	free := testupstream.New(t)
	r := pool(t, inference.RouterConfig{BusyWait: time.Millisecond}, nil, busy.URL, free.URL)
	if _, _, err := ask(t, r, testupstream.DefaultModel, "x"); err != nil {
		t.Fatal(err)
	}
	s := state(r, 0)
	// BusyWait would be a millisecond: anything longer is the server's.
	if d, err := time.ParseDuration(s.RetryIn); s.State != "busy" || err != nil || d <= time.Second || d > 7*time.Second {
		t.Fatalf("after Retry-After: 7: %+v", s)
	}
}

// streamText joins the content of a chat stream's chunks; an error event
// fails the test.
func streamText(t *testing.T, stream string) string {
	t.Helper()
	var b strings.Builder
	for line := range strings.Lines(stream) {
		data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ch struct {
			Error   any
			Choices []struct{ Delta struct{ Content string } }
		}
		if err := json.Unmarshal([]byte(data), &ch); err != nil || ch.Error != nil {
			t.Fatalf("event %s in %s", data, stream)
		}
		for _, c := range ch.Choices {
			b.WriteString(c.Delta.Content)
		}
	}
	return b.String()
}
