package httpx

import (
	"io"
	"net/http"
	"strconv"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// traceContext writes the W3C traceparent and tracestate headers. It
// holds no state, so no global propagator is needed.
var traceContext propagation.TraceContext

// tracedRoundTrip sends r as a client span of the trace r's context is
// in, with traceparent set so the next server (a Parley service, or an
// upstream model server) continues the trace. Without a trace in the
// context it is base.RoundTrip and nothing else: tracing switched off
// costs one context lookup. The span ends when the answer's body is
// closed or read to its end, so a stream is timed whole.
func tracedRoundTrip(base http.RoundTripper, r *http.Request) (*http.Response, error) {
	parent := trace.SpanFromContext(r.Context())
	if !parent.SpanContext().IsValid() {
		return base.RoundTrip(r)
	}
	tracer := parent.TracerProvider().Tracer("github.com/parley-chat/parley/internal/httpx")
	ctx, span := tracer.Start(r.Context(), "HTTP "+r.Method, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("server.address", r.URL.Host),
			attribute.String("url.path", r.URL.Path),
		))
	r = r.Clone(ctx)
	traceContext.Inject(ctx, propagation.HeaderCarrier(r.Header))
	resp, err := base.RoundTrip(r)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "request failed")
		span.End()
		return resp, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode >= 500 {
		span.SetStatus(codes.Error, strconv.Itoa(resp.StatusCode))
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		span.End() // the body is a connection now, to be left as it is
		return resp, nil
	}
	resp.Body = &spanBody{ReadCloser: resp.Body, span: span}
	return resp, nil
}

// spanBody ends its span when the body is done with.
type spanBody struct {
	io.ReadCloser
	span trace.Span
	once sync.Once
}

func (b *spanBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.end()
	}
	return n, err
}

func (b *spanBody) Close() error {
	err := b.ReadCloser.Close()
	b.end()
	return err
}

func (b *spanBody) end() { b.once.Do(func() { b.span.End() }) }
