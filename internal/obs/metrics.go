package obs

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parley-chat/parley/internal/cmdline"
)

// MetricsPath is where every service answers Prometheus' scrapes.
const MetricsPath = "/metrics"

// MetricsConfig says where /metrics is served.
type MetricsConfig struct {
	// Addr, when set, serves /metrics on its own listener (host:port)
	// instead of the service's port, so that it can stay inside a private
	// network while the service's port is public.
	Addr string
}

// RegisterFlags binds c to its flags, each declaring its default.
func (c *MetricsConfig) RegisterFlags(f *cmdline.Flags) {
	f.String(&c.Addr, "metrics-addr", "", "serve /metrics on this host:port instead of the service's own port (empty: on the service's port)")
}

// Validate reports settings that cannot work.
func (c MetricsConfig) Validate() error { return nil }

// NewRegistry returns the metrics registry of one process, with the Go
// runtime and process collectors in it. Each process makes its own and
// hands it to the components it runs; nothing registers with Prometheus'
// global default registry, so two services built in one test process do
// not collide.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// MetricsHandler answers scrapes of reg in Prometheus' text format (or
// OpenMetrics, when the scraper asks for it).
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, EnableOpenMetrics: true})
}
