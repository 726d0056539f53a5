package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/parley-chat/parley/internal/obs"
	"github.com/parley-chat/parley/internal/testupstream"
)

// The stack budgets of a pass-through request (see the stack note in
// httpx): the depth below a service's handler at the answer's first write
// (where net/http's largest frame runs) and at the access-log line. They
// are the frames measured with Go 1.26 and a margin: a new layer under
// every request fails them, and should earn its place against the budget.
// As built: streamed, 1664 bytes on the model service and 2016 on the api,
// the log line 3192 (before the frames were trimmed: 2352, 3832 and
// 5328). Under the race detector, which CI runs: up to 2632 and 3136 (the
// first write comes from one of two places in the relay), the log line
// 4528 (before: 3344, 4800 and 6080).
func stackBudgets() (write, log int) {
	if raceBuild {
		return 3456, 5120
	}
	return 2304, 3584
}

func TestPassThroughStackDepth(t *testing.T) {
	writeStackBudget, logStackBudget := stackBudgets()
	up := testupstream.New(t)
	for _, tc := range []struct {
		target string
		args   []string
	}{
		{TargetModel, []string{"--backend", "openai", "--upstream-url", up.URL + "/v1"}},
		{TargetAPI, []string{"--model-url", up.URL, "--database", filepath.Join(t.TempDir(), "parley.db")}},
	} {
		for _, stream := range []bool{false, true} {
			name := tc.target + map[bool]string{false: "/plain", true: "/stream"}[stream]
			t.Run(name, func(t *testing.T) {
				write, logged := passThroughDepths(t, tc.target, tc.args, stream)
				t.Logf("stack under the handler: %d bytes at the first write, %d at the access log", write, logged)
				if write <= 0 || logged <= 0 {
					t.Fatalf("depths not measured: write %d, log %d", write, logged)
				}
				if write > writeStackBudget {
					t.Errorf("%d bytes of stack under the first write, over the budget of %d", write, writeStackBudget)
				}
				if logged > logStackBudget {
					t.Errorf("%d bytes of stack under the access log, over the budget of %d", logged, logStackBudget)
				}
			})
		}
	}
}

// passThroughDepths serves one chat completion through target's handler,
// built and wrapped as Serve does, and returns how deep the stack is, below
// the handler's ServeHTTP, at the answer's first write and at the
// access-log line.
func passThroughDepths(t *testing.T, target string, args []string, stream bool) (write, logged int) {
	cfg := parseTarget(t, target, args...)
	cfg.Server.Addr = "127.0.0.1:0"
	probe := &depthProbe{}
	// The production chain of log handlers, over the probe.
	log := slog.New(obs.NewTraceHandler(obs.NewRedactingHandler(&logProbe{probe: probe,
		next: slog.NewJSONHandler(io.Discard, nil)})))
	svc, err := Build(t.Context(), target, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	tracing, err := obs.NewTracing(t.Context(), "parley-"+target, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	h := beside(served(svc, tracing, log), obs.MetricsHandler(svc.Registry))

	body := `{"model":"` + testupstream.DefaultModel + `","messages":[{"role":"user","content":"one two three"}]`
	if stream {
		body += `,"stream":true`
	}
	req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/v1/chat/completions", strings.NewReader(body+"}"))
	req.Host = "127.0.0.1"
	req.Header.Set("Content-Type", "application/json")
	rec := &depthWriter{ResponseRecorder: httptest.NewRecorder(), probe: probe}

	// A stack copied while the request runs would move the frames the
	// depths are measured from: the goroutine grows its stack first, and
	// no GC (which may shrink it) runs meanwhile.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var wg sync.WaitGroup
	wg.Go(func() {
		growStack(64)
		probe.top = stackAddr()
		h.ServeHTTP(rec, req)
	})
	wg.Wait()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	return probe.write, probe.log
}

// depthProbe holds where a request's goroutine started (top) and how far
// below it the first write and the access log were.
type depthProbe struct {
	top        uintptr
	write, log int
}

func (p *depthProbe) depth() int { return int(p.top - stackAddr()) }

// depthWriter is the response writer, noting the depth of its first
// Write or Flush: where net/http would write the header.
type depthWriter struct {
	*httptest.ResponseRecorder
	probe *depthProbe
}

func (w *depthWriter) note() {
	if w.probe.write == 0 {
		w.probe.write = w.probe.depth()
	}
}

func (w *depthWriter) Write(b []byte) (int, error) {
	w.note()
	return w.ResponseRecorder.Write(b)
}

func (w *depthWriter) Flush() {
	w.note()
	w.ResponseRecorder.Flush()
}

// logProbe is the last handler of the log chain, noting the depth of the
// access-log line.
type logProbe struct {
	probe *depthProbe
	next  slog.Handler
}

func (h *logProbe) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }
func (h *logProbe) WithAttrs(a []slog.Attr) slog.Handler {
	return &logProbe{probe: h.probe, next: h.next.WithAttrs(a)}
}
func (h *logProbe) WithGroup(name string) slog.Handler {
	return &logProbe{probe: h.probe, next: h.next.WithGroup(name)}
}

func (h *logProbe) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "http" && h.probe.top != 0 {
		h.probe.log = h.probe.depth()
	}
	return h.next.Handle(ctx, r)
}

// stackAddr is the address of a local of its own frame: the stack's depth
// where it is called, give or take its small frame.
//
//go:noinline
func stackAddr() uintptr {
	var b byte
	return uintptr(unsafe.Pointer(&b))
}

// growStack uses n KiB of stack, so that the goroutine's stack is at least
// that large afterwards.
//
//go:noinline
func growStack(n int) byte {
	var pad [1024]byte
	pad[n%1024] = byte(n)
	if n > 1 {
		return growStack(n-1) + pad[0]
	}
	return pad[0]
}
