package inference

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/obs"
	"github.com/parley-chat/parley/internal/openai"
)

// Metrics are the model service's generation metrics: tokens in and out,
// time to first token, time per output token, requests running and
// waiting, KV-cache use and the upstream's errors. Metered counts a
// backend's generations in them.
type Metrics struct {
	promptTokens    prometheus.Counter
	generatedTokens prometheus.Counter
	ttft            prometheus.Histogram
	perToken        prometheus.Histogram
	running         prometheus.Gauge
	upstreamErrors  *prometheus.CounterVec // nil: the backend is no upstream
}

// MetricsOptions say what the backend behind the metrics is.
type MetricsOptions struct {
	// Upstream is set for backends that call another server (openai,
	// ollama): their failures are counted by kind.
	Upstream bool
	// Backend is the generator whose queue and cache are reported, when
	// it knows them (the built-in engine).
	Backend chat.Generator
}

// loadReporter is a backend that knows its own queue and cache: the
// built-in engine, which runs one generation at a time.
type loadReporter interface {
	Load() (waiting int, kvCacheUsage float64)
}

// NewMetrics registers the model service's metrics with reg.
func NewMetrics(reg prometheus.Registerer, opts MetricsOptions) *Metrics {
	m := &Metrics{
		promptTokens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_model_prompt_tokens_total",
			Help: "Prompt tokens the model read, as the backend reported them.",
		}),
		generatedTokens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_model_generated_tokens_total",
			Help: "Tokens the model generated, as the backend reported them (else one per streamed piece).",
		}),
		ttft: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "parley_model_time_to_first_token_seconds",
			Help:    "Time from a generation's start at the model service until the backend's first text.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2, 4, 8, 15, 30, 60},
		}),
		perToken: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "parley_model_time_per_output_token_seconds",
			Help:    "Mean time per generated token after the first, one observation per generation (1/x is the generation speed).",
			Buckets: []float64{.005, .01, .02, .04, .06, .08, .1, .15, .2, .3, .5, 1, 2},
		}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parley_model_requests_running",
			Help: "Generations this model service has started and not finished (waiting ones included).",
		}),
	}
	reg.MustRegister(m.promptTokens, m.generatedTokens, m.ttft, m.perToken, m.running)
	if lr, ok := opts.Backend.(loadReporter); ok {
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "parley_model_requests_waiting",
				Help: "Generations waiting for the engine, which runs one at a time.",
			}, func() float64 { w, _ := lr.Load(); return float64(w) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "parley_model_kv_cache_usage_ratio",
				Help: "Share of the context window the engine's KV cache holds (0 to 1).",
			}, func() float64 { _, u := lr.Load(); return u }),
		)
	}
	if opts.Upstream {
		m.upstreamErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_model_upstream_errors_total",
			Help: "Failed calls to the upstream model server, by error kind (service_unavailable, upstream_error, timeout_error, rate_limit_error, invalid_request_error, ...).",
		}, []string{"kind"})
		// The kinds a sick upstream causes show as zeros from the start.
		for _, k := range []chat.Kind{chat.KindUnavailable, chat.KindUpstream, chat.KindTimeout, chat.KindRateLimited} {
			m.upstreamErrors.WithLabelValues(k.String())
		}
		reg.MustRegister(m.upstreamErrors)
	}
	return m
}

// generation follows one generation for the metrics, and as a span
// when the request is traced.
type generation struct {
	m      *Metrics
	span   trace.Span
	start  time.Time
	first  time.Time
	pieces int
}

func (m *Metrics) begin(ctx context.Context, model string) (context.Context, *generation) {
	m.running.Inc()
	ctx, span := obs.StartSpan(ctx, "generate "+model, attribute.String("gen_ai.request.model", model))
	return ctx, &generation{m: m, span: span, start: time.Now()}
}

// piece notes streamed text.
func (g *generation) piece(content string) {
	if content == "" {
		return
	}
	if g.pieces == 0 {
		g.first = time.Now()
		g.m.ttft.Observe(g.first.Sub(g.start).Seconds())
	}
	g.pieces++
}

// end records the generation's outcome. ctx is the caller's: a
// cancelled caller is no upstream failure.
func (g *generation) end(ctx context.Context, usage chat.Usage, err error) {
	m := g.m
	m.running.Dec()
	m.promptTokens.Add(float64(usage.PromptTokens))
	out := usage.CompletionTokens
	if out == 0 {
		out = g.pieces
	}
	m.generatedTokens.Add(float64(out))
	if out > 1 && !g.first.IsZero() {
		m.perToken.Observe(time.Since(g.first).Seconds() / float64(out-1))
	}
	failed := err != nil && ctx.Err() == nil && !errors.Is(err, openai.ErrClientGone)
	if failed && m.upstreamErrors != nil {
		m.upstreamErrors.WithLabelValues(chat.KindOf(err).String()).Inc()
	}
	if g.span.IsRecording() {
		g.span.SetAttributes(
			attribute.Int("gen_ai.usage.input_tokens", usage.PromptTokens),
			attribute.Int("gen_ai.usage.output_tokens", out))
		if !g.first.IsZero() {
			g.span.SetAttributes(attribute.Float64("parley.time_to_first_token_seconds", g.first.Sub(g.start).Seconds()))
		}
		if failed {
			g.span.SetStatus(codes.Error, chat.KindOf(err).String())
		}
	}
	g.span.End()
}

// Metered returns gen with its generations counted in m. What gen offers
// beyond chat.Generator that the model service uses (counting tokens,
// naming its default model, passing requests through) is kept. A nil m
// returns gen.
func Metered(gen chat.Generator, m *Metrics) chat.Generator {
	if m == nil {
		return gen
	}
	mg := &metered{Generator: gen, m: m}
	if f, ok := gen.(Forwarder); ok {
		return &meteredForwarder{metered: mg, fwd: f}
	}
	return mg
}

type metered struct {
	chat.Generator
	m *Metrics
}

var _ chat.TokenCounter = (*metered)(nil)

func (g *metered) Generate(ctx context.Context, req chat.GenerateRequest, emit func(chat.Delta) error) (chat.Generation, error) {
	ctx, gm := g.m.begin(ctx, req.Model)
	gen, err := g.Generator.Generate(ctx, req, func(d chat.Delta) error {
		gm.piece(d.Content)
		return emit(d)
	})
	gm.end(ctx, gen.Usage, err)
	return gen, err
}

// CountTokens counts as gen does: exactly when it can, else an estimate.
func (g *metered) CountTokens(ctx context.Context, req chat.GenerateRequest) (chat.TokenCount, error) {
	return chat.CountTokens(ctx, g.Generator, req)
}

// DefaultModel is gen's, or "" (the request keeps naming none) when gen
// cannot tell.
func (g *metered) DefaultModel(ctx context.Context) (string, error) {
	if d, ok := g.Generator.(defaultModeler); ok {
		return d.DefaultModel(ctx)
	}
	return "", nil
}

// meteredForwarder is a metered OpenAI-compatible backend: passed-through
// requests count as running while their answer is relayed, their
// failures by kind, and their tokens as the answer's usage reports them
// (a stream reports usage only when its client asked for it; Parley's api
// always does). Time to first token is not measured on this path: the
// bytes are relayed unread.
type meteredForwarder struct {
	*metered
	fwd Forwarder
}

func (g *meteredForwarder) Forward(ctx context.Context, req *openai.Request) (*openai.Response, error) {
	ctx, gm := g.m.begin(ctx, req.Target())
	resp, err := g.fwd.Forward(ctx, req)
	if err != nil {
		gm.end(ctx, chat.Usage{}, err)
		return nil, err
	}
	resp.OnClose(func(failed error) { gm.end(ctx, resp.Usage(), failed) })
	return resp, nil
}
