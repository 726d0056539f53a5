package conversation

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-chat/parley/internal/chat"
)

// Metrics are the reply metrics of the api service. A nil *Metrics
// counts nothing, so a service built without a registry (tests, tools)
// pays one nil check per reply.
type Metrics struct {
	replies  *prometheus.CounterVec
	ttft     prometheus.Histogram
	duration prometheus.Histogram
	running  prometheus.Gauge
}

// latencyBuckets span a first token from a warm GPU server (tens of
// milliseconds) to a cold CPU model on a long prompt (a minute).
var latencyBuckets = []float64{.025, .05, .1, .25, .5, 1, 2, 4, 8, 15, 30, 60}

// NewMetrics registers the reply metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		replies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_replies_total",
			Help: "Replies ended, by final status: complete, stopped or failed as this process ended them; interrupted for replies of a process that died, ended by this one when their lease ran out.",
		}, []string{"status"}),
		ttft: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "parley_reply_time_to_first_token_seconds",
			Help:    "Time from a reply's start (its messages stored) until the model's first text reached it.",
			Buckets: latencyBuckets,
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "parley_reply_duration_seconds",
			Help:    "Time from a reply's start until it ended, whatever its status.",
			Buckets: []float64{.1, .25, .5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320, 640},
		}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parley_replies_running",
			Help: "Replies this process is generating now.",
		}),
	}
	// Every status shows from the start, so rate() over a fresh process
	// sees zeros rather than nothing.
	for _, s := range []chat.Status{chat.StatusComplete, chat.StatusStopped, chat.StatusFailed, chat.StatusInterrupted} {
		m.replies.WithLabelValues(string(s))
	}
	reg.MustRegister(m.replies, m.ttft, m.duration, m.running)
	return m
}

func (m *Metrics) started() {
	if m != nil {
		m.running.Inc()
	}
}

func (m *Metrics) firstToken(d time.Duration) {
	if m != nil {
		m.ttft.Observe(d.Seconds())
	}
}

func (m *Metrics) finished(status chat.Status, d time.Duration) {
	if m != nil {
		m.running.Dec()
		m.replies.WithLabelValues(string(status)).Inc()
		m.duration.Observe(d.Seconds())
	}
}

// interrupted counts replies of dead processes ended by this one.
func (m *Metrics) interrupted(n int) {
	if m != nil && n > 0 {
		m.replies.WithLabelValues(string(chat.StatusInterrupted)).Add(float64(n))
	}
}

// WithMetrics makes the service count its replies in m.
func WithMetrics(m *Metrics) Option { return func(s *Service) { s.metrics = m } }
