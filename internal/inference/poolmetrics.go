package inference

import "github.com/prometheus/client_golang/prometheus"

// poolCollector reports a Router's model services at each scrape, from
// the same States /readyz shows: nothing is counted on the request path.
type poolCollector struct {
	r           *Router
	healthy     *prometheus.Desc
	outstanding *prometheus.Desc
	failures    *prometheus.Desc
}

// RegisterMetrics registers the pool's state with reg: per model
// service, whether it is in rotation and how many requests it has in
// flight.
func (r *Router) RegisterMetrics(reg prometheus.Registerer) {
	labels := []string{"backend", "addr"}
	reg.MustRegister(&poolCollector{r: r,
		healthy: prometheus.NewDesc("parley_model_pool_backend_healthy",
			"1 while the model service is in rotation (up), 0 while it is passed over (busy) or out (down).", labels, nil),
		outstanding: prometheus.NewDesc("parley_model_pool_backend_outstanding_requests",
			"Requests this api has in flight at the model service.", labels, nil),
		failures: prometheus.NewDesc("parley_model_pool_backend_consecutive_failures",
			"Failures of the model service in a row (0 after a success).", labels, nil),
	})
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.healthy
	ch <- c.outstanding
	ch <- c.failures
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.r.States() {
		healthy := 0.0
		if s.State == "up" {
			healthy = 1
		}
		ch <- prometheus.MustNewConstMetric(c.healthy, prometheus.GaugeValue, healthy, s.URL, s.Addr)
		ch <- prometheus.MustNewConstMetric(c.outstanding, prometheus.GaugeValue, float64(s.InFlight), s.URL, s.Addr)
		ch <- prometheus.MustNewConstMetric(c.failures, prometheus.GaugeValue, float64(s.Failures), s.URL, s.Addr)
	}
}
