package obs_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/obs"
)

// A request is one server span in the caller's trace, named after its
// route, with what it asked and how it was answered.
func TestServerSpan(t *testing.T) {
	rec, tp := spanRecorder()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) {
		httpx.NoteRoute(r)
		if r.PathValue("id") == "down" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	h := obs.TracingFor(tp).Handler(httpx.NewHTTPMetrics(prometheus.NewRegistry()).Middleware(slog.New(slog.DiscardHandler), mux))

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	for _, id := range []string{"7", "down"} {
		req := httptest.NewRequest(http.MethodGet, "http://parley.test:8081/things/"+id, nil)
		req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
		req.Header.Set("User-Agent", "probe/1")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	for i, s := range spans {
		if s.Name() != "GET /things/{id}" || s.SpanKind() != trace.SpanKindServer {
			t.Errorf("span %d: %q, kind %v", i, s.Name(), s.SpanKind())
		}
		if s.SpanContext().TraceID().String() != traceID || s.Parent().SpanID().String() != "00f067aa0ba902b7" {
			t.Errorf("span %d is not a child of the caller's: trace %s, parent %s", i, s.SpanContext().TraceID(), s.Parent().SpanID())
		}
		attrs := map[string]string{}
		for _, kv := range s.Attributes() {
			attrs[string(kv.Key)] = kv.Value.Emit()
		}
		status := map[int]string{0: "200", 1: "503"}[i]
		for k, v := range map[string]string{"http.request.method": "GET", "url.path": "/things/" + []string{"7", "down"}[i],
			"http.route": "GET /things/{id}", "http.response.status_code": status, "user_agent.original": "probe/1",
			"server.address": "parley.test", "server.port": "8081", "network.peer.address": "192.0.2.1", "network.protocol.version": "1.1"} {
			if attrs[k] != v {
				t.Errorf("span %d: %s = %q, want %q (all: %v)", i, k, attrs[k], v, attrs)
			}
		}
		if want := map[int]codes.Code{0: codes.Unset, 1: codes.Error}[i]; s.Status().Code != want {
			t.Errorf("span %d: status %v, want %v", i, s.Status().Code, want)
		}
	}
}

// A request whose handler panics is answered 500 by the middleware's
// recovery; its span must say so (composed as app.Serve composes them).
func TestServerSpanOfPanic(t *testing.T) {
	rec, tp := spanRecorder()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) {
		httpx.NoteRoute(r)
		panic("boom")
	})
	log := slog.New(slog.DiscardHandler)
	h := obs.TracingFor(tp).Handler(httpx.NewHTTPMetrics(prometheus.NewRegistry()).Middleware(log, mux))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/boom", nil))
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("answer %d, want 500", w.Code)
	}
	spans := rec.Ended()
	if len(spans) != 1 || spans[0].Status().Code != codes.Error {
		t.Fatalf("spans %v, want one with an error status", spans)
	}
	for _, kv := range spans[0].Attributes() {
		if kv.Key == "http.response.status_code" && kv.Value.AsInt64() != 500 {
			t.Errorf("span status code %d, want 500", kv.Value.AsInt64())
		}
	}
}

// spanRecorder is a tracer provider whose ended spans rec holds.
func spanRecorder() (*tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	rec := tracetest.NewSpanRecorder()
	return rec, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
}
