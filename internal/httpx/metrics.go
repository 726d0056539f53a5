package httpx

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// HTTPMetrics are the request metrics every Parley service exports.
type HTTPMetrics struct {
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// NewHTTPMetrics registers the request metrics with reg.
func NewHTTPMetrics(reg prometheus.Registerer) *HTTPMetrics {
	m := &HTTPMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "parley_http_request_duration_seconds",
			Help: "Time from a request's arrival until its answer ended (for a stream: the whole stream), by route pattern, method and status code.",
			// From a health check to a reply streamed for minutes.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"handler", "method", "code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parley_http_requests_in_flight",
			Help: "Requests being served now, streams included.",
		}),
	}
	reg.MustRegister(m.duration, m.inFlight)
	return m
}

// UnmatchedRoute is the handler label of requests no route matched.
const UnmatchedRoute = "unmatched"

// routeSlot is where the innermost route pattern of a request is noted
// (see NoteRoute). Muxes nest (web → api → /v1), and each sets the
// pattern only on the request value it was given, which the wrappers
// around it replace; so the pattern travels up in a slot instead.
type routeSlot struct {
	pattern string
	start   time.Time
}

type routeSlotKey struct{}

// NoteRoute records r's route pattern, as set by the ServeMux that routed
// it, as the request's handler label. Handle and Health call it; a
// handler mounted by other means may call it too. The last call wins:
// the innermost mux routes last.
func NoteRoute(r *http.Request) {
	if r.Pattern == "" {
		return
	}
	if s, ok := r.Context().Value(routeSlotKey{}).(*routeSlot); ok {
		s.pattern = r.Pattern
	}
}

// Middleware is httpx.Middleware (request ids, recovery, the access log)
// that also counts every request in m, labelled with the route pattern
// that served it (never the raw path, whose ids would make a series per
// conversation), and names its server span after that route. One layer,
// not two: what wraps a service stays under every request (see the stack
// note in doc.go). A nil m is httpx.Middleware alone.
func (m *HTTPMetrics) Middleware(log *slog.Logger, next http.Handler) http.Handler {
	if m == nil {
		return Middleware(log, next)
	}
	return &measured{m: m, log: log, next: next}
}

// measured is a handler behind HTTPMetrics.Middleware.
type measured struct {
	m    *HTTPMetrics
	log  *slog.Logger
	next http.Handler
}

func (h *measured) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec, r := begin(w, r)
	defer rec.finish(h.log, r)
	slot, r := h.m.begin(r)
	defer h.m.finish(slot, rec, r)
	h.next.ServeHTTP(rec, r)
}

// begin counts a request in flight and gives it the slot its route is
// noted in, carried by the returned request's context.
func (m *HTTPMetrics) begin(r *http.Request) (*routeSlot, *http.Request) {
	m.inFlight.Inc()
	slot := &routeSlot{start: time.Now()}
	return slot, r.WithContext(context.WithValue(r.Context(), routeSlotKey{}, slot))
}

// finish records the request's duration under its route and status, and
// names its span after the route. Deferred, it sees a panic of the
// handler, counts it as the 500 Middleware (outside) answers, and panics
// on.
func (m *HTTPMetrics) finish(slot *routeSlot, rec *recorder, r *http.Request) {
	m.inFlight.Dec()
	status := rec.statusOr200()
	v := recover()
	if v != nil && v != http.ErrAbortHandler && !rec.wrote {
		status = http.StatusInternalServerError
	}
	handler := slot.pattern
	if handler == "" {
		handler = r.Pattern // the outermost mux, when it is the only one
	}
	if handler == "" {
		handler = UnmatchedRoute
	}
	m.duration.WithLabelValues(handler, methodLabel(r.Method), strconv.Itoa(status)).
		Observe(time.Since(slot.start).Seconds())
	if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
		span.SetName(routeName(r.Method, handler))
		span.SetAttributes(attribute.String("http.route", handler), attribute.Int("http.response.status_code", status))
		if status >= 500 {
			span.SetStatus(codes.Error, strconv.Itoa(status))
		}
	}
	if v != nil {
		panic(v)
	}
}

// routeName names a server span after its route: the pattern, with the
// method in front when the pattern has none.
func routeName(method, pattern string) string {
	if strings.Contains(pattern, " ") {
		return pattern
	}
	return method + " " + pattern
}

// methodLabel keeps the method label to the methods HTTP defines, so
// that a client inventing methods cannot make new series.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}
