package obs

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// NewTraceHandler returns a handler that adds trace_id and span_id to
// every record logged with a context in a sampled trace, so that a log
// line leads to its trace and back. Records without one pass unchanged.
func NewTraceHandler(next slog.Handler) slog.Handler { return &traceHandler{next: next} }

// traceHandler and redactHandler are pointers in the slog.Handler: a
// value would be called through a generated wrapper that copies the
// Record (about 300 bytes) once more on the way, and a log line is written
// at the bottom of deep stacks (see the stack note in httpx).
type traceHandler struct{ next slog.Handler }

func (h *traceHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if inTrace(ctx) {
		return h.handleTraced(ctx, &r)
	}
	return h.next.Handle(ctx, r)
}

// inTrace reports whether ctx is in a sampled trace. Not inlined: the span
// context would take room in Handle's frame.
//
//go:noinline
func inTrace(ctx context.Context) bool { return trace.SpanContextFromContext(ctx).IsValid() }

// handleTraced is Handle for a record in a trace; apart, so that the
// clone is not in Handle's frame for the others.
func (h *traceHandler) handleTraced(ctx context.Context, r *slog.Record) error {
	sc := trace.SpanContextFromContext(ctx)
	c := r.Clone()
	c.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	return h.next.Handle(ctx, c)
}

func (h *traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &traceHandler{next: h.next.WithAttrs(attrs)}
}

func (h *traceHandler) WithGroup(name string) slog.Handler {
	return &traceHandler{next: h.next.WithGroup(name)}
}
