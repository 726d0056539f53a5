package obs

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Tracing is a process's OpenTelemetry tracing: on when the standard
// OTEL_* environment asks for an exporter, off (and free) otherwise.
type Tracing struct {
	// Provider makes the process's spans; a no-op one when off.
	Provider trace.TracerProvider
	sdk      *sdktrace.TracerProvider // nil when off
}

// Enabled reports whether spans are recorded and exported.
func (t *Tracing) Enabled() bool { return t != nil && t.sdk != nil }

// tracingWanted reads the standard variables: an OTLP endpoint (or
// OTEL_TRACES_EXPORTER=otlp) switches tracing on; OTEL_SDK_DISABLED=true
// or OTEL_TRACES_EXPORTER=none keeps it off.
func tracingWanted(getenv func(string) string) (bool, error) {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return false, nil
	}
	switch exp := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))); exp {
	case "none":
		return false, nil
	case "otlp":
	case "":
		if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
			return false, nil
		}
	default:
		return false, fmt.Errorf("OTEL_TRACES_EXPORTER=%s: Parley exports traces with otlp only (or none)", exp)
	}
	protocol := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if protocol != "" && protocol != "http/protobuf" {
		return false, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%s: Parley speaks http/protobuf only; point it at the collector's OTLP/HTTP port (4318)", protocol)
	}
	return true, nil
}

// NewTracing sets up tracing from the OTEL_* variables getenv reads,
// the exporter's (OTEL_EXPORTER_OTLP_HEADERS, …) among them; the SDK
// reads the sampler's and the resource's (OTEL_TRACES_SAMPLER,
// OTEL_RESOURCE_ATTRIBUTES) from the process environment. service is the
// service name unless OTEL_SERVICE_NAME gives one. Shutdown flushes what
// is buffered.
func NewTracing(ctx context.Context, service string, getenv func(string) string) (*Tracing, error) {
	on, err := tracingWanted(getenv)
	if err != nil || !on {
		return &Tracing{Provider: tracenoop.NewTracerProvider()}, err
	}
	cfg, err := newOTLPConfig(getenv)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	exp := newOTLPExporter(cfg)
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", service)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
		resource.WithTelemetrySDK(),
		resource.WithHost(),
	)
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	// The sampler comes from OTEL_TRACES_SAMPLER (default: parent-based,
	// always on).
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{Provider: tp, sdk: tp}, nil
}

// Shutdown exports the spans still buffered and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	return t.sdk.Shutdown(ctx)
}

// propagator reads and writes W3C trace context and baggage.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Handler wraps h so that each request is a server span, continuing the
// trace (and baggage) of an incoming traceparent. Off, it returns h
// untouched. The span is named after the method here: httpx's
// HTTPMetrics.Middleware, inside, renames it after the route and records
// the status once they are known, as it does for its own metrics (and as
// httpx's client spans are made, with no instrumentation library, whose
// response-writer wrappers would cost every service memory for this).
func (t *Tracing) Handler(h http.Handler) http.Handler {
	if !t.Enabled() {
		return h
	}
	return &traced{tracer: t.Provider.Tracer(tracerName), h: h}
}

// traced is a handler in server spans: a type, and the span started in a
// frame of its own, as httpx's stack note asks of what stays under every
// request.
type traced struct {
	tracer trace.Tracer
	h      http.Handler
}

func (t *traced) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r, span := t.start(r)
	defer span.End()
	t.h.ServeHTTP(w, r)
}

// start starts r's server span and returns r in it.
func (t *traced) start(r *http.Request) (*http.Request, trace.Span) {
	ctx := propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := t.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(serverAttributes(r)...))
	r = r.WithContext(ctx)
	// A mux in front routed it; the route that names the span is the
	// service's own.
	r.Pattern = ""
	return r, span
}

// serverAttributes are OpenTelemetry's HTTP server conventions for what
// a request says before it is answered.
func serverAttributes(r *http.Request) []attribute.KeyValue {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", r.Method),
		attribute.String("url.path", r.URL.Path),
		attribute.String("url.scheme", scheme),
		attribute.String("network.protocol.version", strings.TrimPrefix(r.Proto, "HTTP/")),
	}
	if host, port, err := net.SplitHostPort(r.Host); err == nil {
		attrs = append(attrs, attribute.String("server.address", host))
		if n, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, attribute.Int("server.port", n))
		}
	} else if r.Host != "" {
		attrs = append(attrs, attribute.String("server.address", r.Host))
	}
	if ua := r.UserAgent(); ua != "" {
		attrs = append(attrs, attribute.String("user_agent.original", ua))
	}
	// The peer, not the client: behind the web service or a proxy it is
	// that hop (which the access log resolves with the trusted proxies).
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		attrs = append(attrs, attribute.String("network.peer.address", host))
	}
	return attrs
}

// tracerName names the spans Parley's own code makes.
const tracerName = "github.com/parley-chat/parley"

// StartSpan starts a span named name as a child of the span in ctx,
// with the tracer provider that made that span. Outside a trace it
// starts nothing and returns ctx with its (non-recording) span: code
// that traces costs nothing while tracing is off. End the span.
func StartSpan(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.SpanContext().IsValid() {
		return ctx, parent
	}
	return parent.TracerProvider().Tracer(tracerName).Start(ctx, name, trace.WithAttributes(attrs...))
}
