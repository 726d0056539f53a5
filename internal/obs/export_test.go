package obs

import sdktrace "go.opentelemetry.io/otel/sdk/trace"

// TracingFor is tracing on, with tp's spans: for tests that record them.
func TracingFor(tp *sdktrace.TracerProvider) *Tracing {
	return &Tracing{Provider: tp, sdk: tp}
}
