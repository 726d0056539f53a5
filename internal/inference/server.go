// Package inference is the model service: an OpenAI-compatible HTTP server
// (/v1/chat/completions, /v1/completions, /v1/models, Parley's /v1/tokenize,
// /healthz, /readyz) over
// any chat.Generator, and Router, a chat.Generator that spreads requests
// over several backends by model name. The backends themselves live
// elsewhere: the built-in engine in inference/builtin, proxies in
// internal/openai and internal/ollama; BackendConfig names the one a model
// service runs. The api mounts the same server over a Router of
// model-service clients (RouterConfig, --model-url) to offer /v1 itself.
package inference

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/openai"
)

// Config holds the limits of the server; zero fields take their defaults.
type Config struct {
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes int64
	// MaxTokens caps the tokens of one reply: requests asking for more, or
	// for nothing, get this many. 0 leaves the limit to the backend.
	MaxTokens int
	// RequestTimeout bounds one generation; 0 means none. Running out is a
	// 504 (or an in-stream timeout error once streaming has started).
	RequestTimeout time.Duration
	// ReadyTimeout bounds the /readyz check (default 3s).
	ReadyTimeout time.Duration
}

// ownedBy is reported for models whose backend names no owner.
const ownedBy = "parley"

func (c Config) withDefaults() Config {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultConfig().MaxBodyBytes
	}
	if c.ReadyTimeout <= 0 {
		c.ReadyTimeout = 3 * time.Second
	}
	return c
}

type server struct {
	gen     chat.Generator
	fwd     Forwarder // nil: requests are decoded for gen
	cfg     Config
	log     *slog.Logger
	started time.Time
}

// Forwarder is a backend that takes an OpenAI request as it came: an
// OpenAI-compatible server (openai.Client), or a Router whose backends
// all are.
type Forwarder interface {
	Forward(ctx context.Context, req *openai.Request) (*openai.Response, error)
}

// forwarderOf returns gen as a Forwarder, nil when it is none.
func forwarderOf(gen chat.Generator) Forwarder {
	switch g := gen.(type) {
	case *Router:
		if g.forwards() {
			return g
		}
	case Forwarder:
		return g
	}
	return nil
}

// defaultModeler is a generator that can name the model a request naming
// none will get, so that a stream's chunks carry it from the first one.
type defaultModeler interface {
	DefaultModel(ctx context.Context) (string, error)
}

// NewServer returns the OpenAI-compatible handler over gen. It does not add
// request ids or access logs: wrap it with httpx.Middleware.
//
// When gen is an OpenAI-compatible server (a Forwarder) the completions
// endpoints are a pass-through: a request is checked as strictly as
// always, then its body goes on as it came but for what must change (the
// model, the token cap), and the answer comes back as the server wrote it
// (a stream event by event, errors mapped). Otherwise requests are
// decoded and answers built from gen's deltas.
func NewServer(gen chat.Generator, cfg Config, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{gen: gen, fwd: forwarderOf(gen), cfg: cfg.withDefaults(), log: log, started: time.Now()}
	h := &Handler{ServeMux: http.NewServeMux(), s: s}
	h.Mount(h.ServeMux, nil)
	httpx.Health(h.ServeMux, httpx.HealthConfig{Timeout: s.cfg.ReadyTimeout}, log, map[string]httpx.Check{"backend": ModelsCheck(gen)})
	h.Handle("/", httpx.NotFound(log))
	return h
}

// Handler is the OpenAI-compatible server: a mux with the /v1 routes and
// the health endpoints, served as it is by the model service.
type Handler struct {
	*http.ServeMux
	s *server
}

// Mount adds the /v1 routes to mux, each through wrap when it is not nil
// (the api's authentication and limits), and answers 404 for other /v1
// paths. The api mounts them on its own mux rather than behind it: a mux
// fewer under every request keeps the stack short (see the stack note in httpx).
func (h *Handler) Mount(mux *http.ServeMux, wrap func(http.Handler) http.Handler) {
	if wrap == nil {
		wrap = func(h http.Handler) http.Handler { return h }
	}
	s, log := h.s, h.s.log
	mux.Handle("POST /v1/chat/completions", wrap(httpx.Handle(log, s.chatCompletions)))
	mux.Handle("POST /v1/completions", wrap(httpx.Handle(log, s.completions)))
	mux.Handle("POST /v1/tokenize", wrap(httpx.Handle(log, s.tokenize)))
	mux.Handle("GET /v1/models", wrap(httpx.Handle(log, s.models)))
	mux.Handle("GET /v1/models/{id...}", wrap(httpx.Handle(log, s.model)))
	if mux != h.ServeMux {
		mux.Handle("/v1/", wrap(httpx.NotFound(log)))
	}
}

// ModelsCheck is the readiness check of a model backend: it answers and
// offers at least one model.
func ModelsCheck(gen chat.Generator) httpx.Check {
	return func(ctx context.Context) error {
		models, err := gen.Models(ctx)
		if err != nil {
			return err
		}
		if len(models) == 0 {
			return chat.Errorf(chat.KindUnavailable, "no model is available")
		}
		return nil
	}
}

func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func (s *server) chatCompletions(w http.ResponseWriter, r *http.Request) error {
	return s.complete(w, r, false)
}

func (s *server) completions(w http.ResponseWriter, r *http.Request) error {
	return s.complete(w, r, true)
}

// complete serves both completion endpoints: read and check the request,
// then pass it through or generate.
func (s *server) complete(w http.ResponseWriter, r *http.Request, legacy bool) error {
	body, release, err := httpx.ReadBody(r, s.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	defer release()
	req, err := openai.ParseRequest(body, legacy, s.fwd == nil)
	if err != nil {
		return err
	}
	req.LimitTokens(s.cfg.MaxTokens)
	ctx, cancel := s.deadline(r.Context())
	defer cancel()
	if s.fwd != nil {
		return s.forward(ctx, w, r, req)
	}
	return s.serve(ctx, w, r, req)
}

// deadline is ctx under the request timeout, if there is one.
func (s *server) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	d := s.cfg.RequestTimeout
	if d <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, d, chat.Errorf(chat.KindTimeout, "generation took longer than %s", d))
}

func (s *server) newReply(w http.ResponseWriter, legacy bool, model string) *reply {
	rs := &reply{w: w, legacy: legacy, created: time.Now().Unix(), model: model}
	if legacy {
		rs.id = newID("cmpl-")
	} else {
		rs.id = newID("chatcmpl-")
	}
	return rs
}

// serve generates the reply with gen, from the decoded request.
func (s *server) serve(ctx context.Context, w http.ResponseWriter, r *http.Request, req *openai.Request) error {
	gr := req.Gen
	if d, ok := s.gen.(defaultModeler); ok && gr.Model == "" {
		// Chunks name the model from the first one on.
		m, err := d.DefaultModel(ctx)
		if err != nil {
			return err
		}
		gr.Model = m
	}
	rs := s.newReply(w, req.Legacy, gr.Model)
	if !req.Stream {
		return s.whole(ctx, r, gr, rs)
	}
	return s.stream(ctx, r, gr, rs, req.IncludeUsage)
}

// generationErr decides what a failed generation reports: nothing when the
// client is gone, the timeout when ours ran out, else the error itself.
func generationErr(r *http.Request, ctx context.Context, err error) (error, bool) {
	if r.Context().Err() != nil {
		return nil, false
	}
	if ctx.Err() != nil {
		return context.Cause(ctx), true
	}
	return err, true
}

func (s *server) clientGone(r *http.Request) {
	s.log.DebugContext(r.Context(), "client went away during generation", "request_id", httpx.RequestID(r.Context()))
}

// failure is what a handler returns for a generation that failed before
// its answer began: nothing when the client is gone, else the error (ours,
// when our time limit ran out).
func (s *server) failure(ctx context.Context, r *http.Request, err error) error {
	err, report := generationErr(r, ctx, err)
	if !report {
		s.clientGone(r)
	}
	return err
}

func (s *server) whole(ctx context.Context, r *http.Request, req chat.GenerateRequest, rs *reply) error {
	var text strings.Builder
	gen, err := s.gen.Generate(ctx, req, func(d chat.Delta) error {
		text.WriteString(d.Content)
		return nil
	})
	if err != nil {
		return s.failure(ctx, r, err)
	}
	rs.settle(gen)
	httpx.WriteJSON(rs.w, http.StatusOK, rs.whole(text.String(), gen))
	return nil
}

func (s *server) stream(ctx context.Context, r *http.Request, req chat.GenerateRequest, rs *reply, includeUsage bool) error {
	// The status line waits for the first token, so that failures before
	// it (unknown model, backend down) are proper HTTP errors.
	gen, err := s.gen.Generate(ctx, req, func(d chat.Delta) error {
		if err := rs.start(); err != nil {
			return err
		}
		if d.Content == "" {
			return nil
		}
		return rs.sse.Data(rs.deltaChunk(d.Content))
	})
	if err != nil {
		return s.streamFailed(ctx, r, rs.sse, err)
	}
	rs.settle(gen)
	return rs.finish(gen, includeUsage)
}

// streamFailed reports a failure of a streamed reply: as an HTTP error
// before the stream began (sse nil), else inside it.
func (s *server) streamFailed(ctx context.Context, r *http.Request, sse *httpx.SSE, err error) error {
	if err = s.failure(ctx, r, err); err == nil || sse == nil {
		return err
	}
	s.log.LogAttrs(r.Context(), slog.LevelError, "generation failed mid-stream",
		slog.String("request_id", httpx.RequestID(r.Context())), slog.Any("err", err))
	// Too late for a status: say it in the stream and end without
	// [DONE], so no client mistakes the reply for complete.
	_ = sse.Data(httpx.ErrorBodyOf(err))
	return nil
}

func (s *server) modelList(ctx context.Context) ([]openai.Model, error) {
	infos, err := s.gen.Models(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]openai.Model, 0, len(infos))
	for _, m := range infos {
		owner := m.OwnedBy
		if owner == "" {
			owner = ownedBy
		}
		out = append(out, openai.Model{ID: m.ID, Object: openai.ObjectModel, Created: s.started.Unix(),
			OwnedBy: owner, ContextLength: m.ContextLength})
	}
	return out, nil
}

func (s *server) models(w http.ResponseWriter, r *http.Request) error {
	list, err := s.modelList(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, openai.ModelList{Object: openai.ObjectList, Data: list})
	return nil
}

func (s *server) model(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	list, err := s.modelList(r.Context())
	if err != nil {
		return err
	}
	for _, m := range list {
		if m.ID == id {
			httpx.WriteJSON(w, http.StatusOK, m)
			return nil
		}
	}
	return &chat.Error{Kind: chat.KindNotFound, Code: "model_not_found", Message: fmt.Sprintf("model %q not found", id)}
}
