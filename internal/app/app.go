// Package app wires Parley's services into runnable targets: which
// components a target starts, in what order, with which dependencies. It is
// the only package that imports all the others. `serve` builds every
// component in one process and connects them in memory; `web`, `api` and
// `model` build one each and connect them over HTTP — through the same
// interfaces, so behaviour does not differ.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/cluster"
	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/conversation"
	"github.com/parley-chat/parley/internal/conversation/relay"
	"github.com/parley-chat/parley/internal/guard"
	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/inference"
	"github.com/parley-chat/parley/internal/limit"
	"github.com/parley-chat/parley/internal/limit/redislimit"
	"github.com/parley-chat/parley/internal/obs"
	"github.com/parley-chat/parley/internal/ollama"
	"github.com/parley-chat/parley/internal/openai"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/postgres"
	"github.com/parley-chat/parley/internal/store/sqlite"
	"github.com/parley-chat/parley/internal/web"
)

// ErrUsage reports a command line that was wrong; the message has been
// printed already.
var ErrUsage = cmdline.ErrUsage

// Run builds target from cfg, listens on cfg.Server.Addr and serves until
// ctx is cancelled, then shuts down gracefully.
func Run(ctx context.Context, target string, cfg Config, logOut io.Writer) error {
	log, err := obs.NewLogger(logOut, cfg.Log)
	if err != nil {
		return err
	}
	log = log.With("service", target)
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Addr, err)
	}
	return Serve(ctx, ln, target, cfg, log)
}

// Serve is Run on a listener the caller opened (tests use 127.0.0.1:0).
// The auth mode, when not set, follows the address it actually listens on.
func Serve(ctx context.Context, ln net.Listener, target string, cfg Config, log *slog.Logger) error {
	cfg.Auth.Mode = cfg.Auth.ModeFor(ln.Addr().String())
	cfg.Server.Addr = ln.Addr().String()
	svc, err := Build(ctx, target, cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer svc.Close()
	log.Info("parley listening", "target", target, "addr", ln.Addr().String(), "version", cfg.Version)
	sc := cfg.Server
	if sc.ShutdownTimeout == 0 {
		// --shutdown-timeout 0 stops running replies at once; to httpx a
		// zero would mean its default.
		sc.ShutdownTimeout = time.Nanosecond
	}
	// Traces are configured by the standard OTEL_* variables alone, and
	// cost nothing when none is set.
	tracing, err := obs.NewTracing(ctx, "parley-"+target, os.Getenv)
	if err != nil {
		ln.Close()
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tracing.Shutdown(sctx); err != nil {
			log.Warn("flush traces", "err", err)
		}
	}()
	if tracing.Enabled() {
		log.Info("tracing on: spans go to the OTLP/HTTP endpoint of OTEL_EXPORTER_OTLP_*")
	}
	h := served(svc, tracing, log)
	// Scrapes bypass the middleware: they are neither access-logged nor
	// counted as requests.
	metrics := obs.MetricsHandler(svc.Registry)
	if cfg.Metrics.Addr == "" {
		return httpx.Serve(ctx, ln, beside(h, metrics), sc, log, svc.Shutdown)
	}
	return serveWithMetrics(ctx, ln, h, metrics, cfg, sc, log, svc.Shutdown)
}

// served is svc's handler as Serve serves it: in its server span, with
// request ids, the access log and the HTTP metrics. The span is outermost,
// so the access log and everything below it carry its trace id.
func served(svc *Service, tracing *obs.Tracing, log *slog.Logger) http.Handler {
	return tracing.Handler(httpx.NewHTTPMetrics(svc.Registry).Middleware(log, svc.Handler))
}

// beside serves scrapes (GET or HEAD of obs.MetricsPath) from metrics and
// everything else from h: a test, not a mux in front of h's, which would
// add its frames under every request (see the stack note in httpx).
func beside(h, metrics http.Handler) http.Handler { return &scrapeSplit{h: h, metrics: metrics} }

type scrapeSplit struct{ h, metrics http.Handler }

func (s *scrapeSplit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == obs.MetricsPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		s.metrics.ServeHTTP(w, r)
		return
	}
	s.h.ServeHTTP(w, r)
}

// serveWithMetrics serves h on ln and /metrics alone on cfg.Metrics.Addr
// until ctx ends, and returns when both servers have stopped.
func serveWithMetrics(ctx context.Context, ln net.Listener, h, metrics http.Handler, cfg Config,
	sc httpx.ServerConfig, log *slog.Logger, beforeShutdown func(context.Context)) error {
	mln, err := net.Listen("tcp", cfg.Metrics.Addr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("listen on %s (--metrics-addr): %w", cfg.Metrics.Addr, err)
	}
	log.Info("metrics listening", "addr", mln.Addr().String(), "path", obs.MetricsPath)
	mux := http.NewServeMux()
	mux.Handle("GET "+obs.MetricsPath, metrics)
	// Either server failing ends both.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	mdone := make(chan error, 1)
	go func() {
		defer cancel()
		mdone <- httpx.Serve(ctx, mln, mux, httpx.ServerConfig{ShutdownTimeout: time.Second}, log, nil)
	}()
	err = httpx.Serve(ctx, ln, h, sc, log, beforeShutdown)
	cancel()
	return errors.Join(err, <-mdone)
}

// Service is a built target: its handler and how to end it.
type Service struct {
	Handler http.Handler
	// Registry holds the target's metrics, served at /metrics.
	Registry *prometheus.Registry
	// Shutdown lets running work finish until ctx ends (then stops it).
	Shutdown func(ctx context.Context)
	closers  []func() error
}

// Close releases the target's resources, last opened first.
func (s *Service) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	return errors.Join(errs...)
}

// Build assembles target from cfg.
func Build(ctx context.Context, target string, cfg Config, log *slog.Logger) (*Service, error) {
	if err := cfg.validate(target); err != nil {
		return nil, err
	}
	s := &Service{Shutdown: func(context.Context) {}, Registry: obs.NewRegistry()}
	var err error
	switch target {
	case TargetModel:
		err = s.buildModel(ctx, cfg, log)
	case TargetAPI:
		err = s.buildAPI(ctx, cfg, log)
	case TargetWeb:
		err = s.buildWeb(cfg, log)
	case TargetServe:
		err = s.buildServe(ctx, cfg, log)
	default:
		err = fmt.Errorf("unknown target %q", target)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Service) buildModel(ctx context.Context, cfg Config, log *slog.Logger) error {
	gen, err := s.backend(ctx, cfg, log)
	if err != nil {
		return err
	}
	key, err := cfg.ModelAuth.Resolve(cfg.Server.Addr, auth.Loopback(cfg.Server.Addr))
	if err != nil {
		return err
	}
	// The server answers /healthz and /readyz itself.
	var h http.Handler = inference.NewServer(s.metered(gen, cfg), cfg.Inference, log)
	if key != "" {
		h = inference.RequireKey(key, h)
		log.Info("model: /v1 needs the key (Authorization: Bearer)")
	} else {
		log.Info("model: no key; everyone who reaches this service may use it", "addr", cfg.Server.Addr)
	}
	// Without a key nothing but the Host tells a page that rebound its
	// name to this address from the api.
	s.Handler = guard.New(cfg.Guard, guard.Options{CheckHost: key == ""}, log)(h)
	return nil
}

func (s *Service) buildAPI(ctx context.Context, cfg Config, log *slog.Logger) error {
	if cfg.Router.Key == "" && cfg.Router.KeyFile != "" {
		key, err := inference.ReadKeyFile(cfg.Router.KeyFile)
		if err != nil {
			return fmt.Errorf("--model-key-file: %w (the model service's --api-key-file makes it on its first start)", err)
		}
		cfg.Router.Key = key
	}
	router := cfg.Router.NewRouter(log)
	router.RegisterMetrics(s.Registry)
	// The router re-discovers which model service serves which model, and
	// checks which are fit, in the background until the target closes.
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { router.Run(rctx); close(done) }()
	s.closers = append(s.closers, func() error { cancel(); <-done; return nil })
	h, err := s.apiHandler(ctx, cfg, router, log)
	if err != nil {
		return err
	}
	s.Handler = apiGuard(cfg, log)(h)
	return nil
}

// apiGuard is the guard of a service with the api in it: the Host is
// checked when the api does not ask who is calling (--auth none), and the
// browser's host comes from the trusted proxies (the web service).
func apiGuard(cfg Config, log *slog.Logger) func(http.Handler) http.Handler {
	proxies, _ := httpx.ParsePrefixes(cfg.Auth.TrustedProxies) // validated
	return guard.New(cfg.Guard, guard.Options{
		CheckHost: cfg.Auth.ModeFor(cfg.Server.Addr) == auth.ModeNone, Proxies: proxies}, log)
}

// modelHealth is the api's readiness check of its model backend, and
// the states /readyz shows beside it: each model service of a pool.
func modelHealth(gen chat.Generator) (httpx.Check, map[string]func() any) {
	if r, ok := gen.(*inference.Router); ok {
		return r.Ready, map[string]func() any{"model_services": func() any { return r.States() }}
	}
	return inference.ModelsCheck(gen), nil
}

func (s *Service) buildWeb(cfg Config, log *slog.Logger) error {
	proxies, _ := httpx.ParsePrefixes(cfg.Web.TrustedProxies) // validated
	proxy, err := web.NewAPIProxy(cfg.Web.APIURL, log, proxies...)
	if err != nil {
		return err
	}
	// The web service is ready when the api answers at all, not when the
	// api is ready: with the model down the api is not ready, yet history
	// must stay readable through web (fault isolation).
	apiAlive := strings.TrimRight(cfg.Web.APIURL, "/") + "/healthz"
	mux := http.NewServeMux()
	httpx.Health(mux, httpx.HealthConfig{}, log, map[string]httpx.Check{"api": httpCheck(apiAlive)})
	mux.Handle("/", web.New(web.Config{}, proxy, log))
	// The api checks the Host, knowing its auth mode; the web refuses
	// cross-origin writes before they travel.
	s.Handler = guard.New(guard.Config{}, guard.Options{Proxies: proxies}, log)(mux)
	return nil
}

func (s *Service) buildServe(ctx context.Context, cfg Config, log *slog.Logger) error {
	gen, err := s.backend(ctx, cfg, log)
	if err != nil {
		return err
	}
	h, err := s.apiHandler(ctx, cfg, s.metered(gen, cfg), log)
	if err != nil {
		return err
	}
	// The api's health endpoints answer for the whole process; everything
	// else goes through the web service, which hands /api, /v1 and /chat
	// to the api in memory.
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", h)
	mux.Handle("GET /readyz", h)
	mux.Handle("/", web.New(web.Config{}, h, log))
	s.Handler = apiGuard(cfg, log)(mux)
	return nil
}

// apiHandler builds the api service over gen: the store, the account and
// conversation services, authentication, /v1 and the health endpoints.
func (s *Service) apiHandler(ctx context.Context, cfg Config, gen chat.Generator, log *slog.Logger) (http.Handler, error) {
	st, err := openStore(ctx, cfg.Store, cfg.SQLite)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, st.Close)
	accounts := account.NewService(st, cfg.Accounts, log)
	authn, err := s.authenticator(ctx, cfg, accounts, log)
	if err != nil {
		return nil, err
	}
	// With a Redis shared by the replicas, any of them follows and stops
	// a reply that another runs.
	rdb, err := cluster.Connect(ctx, cfg.Cluster, log)
	if err != nil {
		return nil, err
	}
	details := map[string]func() any{}
	if rdb != nil {
		s.closers = append(s.closers, rdb.Close)
		cfg.Conversation.Relay = relay.New(rdb, cfg.Relay)
		details["redis"] = func() any { return cluster.State(rdb) }
	}
	// One count of running replies for conversations and /v1 alike; with
	// Redis, one count for all the replicas (a dead replica's slots come
	// back when their lease, the reply lease, runs out).
	running := limit.NewRunning(cfg.Limits.MaxRunning)
	rate := limit.NewRate(cfg.Limits.RatePerMinute, nil)
	if rdb != nil {
		running = redislimit.NewRunning(rdb, cfg.Limits.MaxRunning, cfg.Conversation.ReplyLease, log)
		rate = redislimit.NewRate(rdb, cfg.Limits.RatePerMinute, log)
	}
	cfg.API.Rate, cfg.API.Running = rate, running
	svc := conversation.NewService(store.Metered(st, s.Registry), gen, cfg.Conversation, log,
		conversation.WithRunning(running), conversation.WithMetrics(conversation.NewMetrics(s.Registry)))
	s.Shutdown = svc.Shutdown
	// Normally Shutdown has run by now; if serving never began, this stops
	// the service's sweep before the store closes.
	s.closers = append(s.closers, func() error {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		svc.Shutdown(ctx)
		return nil
	})
	// /v1 on the api keeps the api's limits.
	v1 := inference.NewServer(gen, inference.Config{MaxBodyBytes: cfg.API.MaxBodyBytes, MaxTokens: cfg.Conversation.MaxTokens}, log)
	// Ready when the database answers and the model backend lists a model
	// (with a pool: and one of its model services is in rotation).
	modelCheck, modelDetails := modelHealth(gen)
	maps.Copy(details, modelDetails)
	health := func(mux *http.ServeMux) {
		httpx.Health(mux, httpx.HealthConfig{Details: details}, log, map[string]httpx.Check{
			"database": st.Ping,
			"model":    modelCheck,
		})
	}
	return api.New(cfg.API, svc, accounts, authn, gen, v1, log, health), nil
}

// authenticator is the api's authentication in the mode cfg names, or the
// one its address implies.
func (s *Service) authenticator(ctx context.Context, cfg Config, accounts *account.Service, log *slog.Logger) (*auth.Authenticator, error) {
	mode := cfg.Auth.ModeFor(cfg.Server.Addr)
	switch mode {
	case auth.ModeNone:
		// The local user owns what none mode stores; an admin may have
		// deleted it while the database served in password mode.
		if err := accounts.EnsureLocal(ctx); err != nil {
			return nil, fmt.Errorf("prepare the local user: %w", err)
		}
		log.Info("auth: none; everyone who reaches this service is the local user", "addr", cfg.Server.Addr)
	case auth.ModePassword:
		log.Info("auth: password; requests need a session or an API key", "signup", cfg.Accounts.Signup)
		if first, err := accounts.FirstSignupPending(ctx); err == nil && first {
			log.Warn("no account yet: the first one signed up (POST /api/auth/signup) becomes the admin; make it now")
		}
	}
	return auth.New(cfg.Auth, mode, accounts, log)
}

// database is what a SQL store is: conversations and accounts.
type database interface {
	chat.Store
	account.Store
}

// openStore opens the database cfg names: a postgres:// URL or a SQLite
// file path.
func openStore(ctx context.Context, cfg store.Config, opts sqlite.Options) (database, error) {
	if cfg.Postgres() {
		db, err := postgres.Open(ctx, cfg.Database)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		return db, nil
	}
	db, err := sqlite.Open(ctx, cfg.SQLitePath(), opts)
	if err != nil {
		return nil, fmt.Errorf("open SQLite database %s: %w", cfg.Database, err)
	}
	return db, nil
}

// backend returns the model service's generator for cfg.Backend.
func (s *Service) backend(ctx context.Context, cfg Config, log *slog.Logger) (chat.Generator, error) {
	up, model := cfg.Upstream, cfg.Backend.Model
	switch cfg.Backend.Backend {
	case inference.BackendOpenAI:
		hc := &http.Client{Transport: httpx.Transport(openai.NewTransport(0))} // request ids go upstream too
		return openai.NewClient(up.URL, up.Key, hc, up.Options(model)...), nil
	case inference.BackendOllama:
		oc := cfg.Ollama
		oc.BaseURL, oc.DefaultModel = up.URL, model
		oc.FirstByteTimeout, oc.IdleTimeout = up.FirstByteTimeout, up.IdleTimeout
		return ollama.New(oc), nil
	case inference.BackendBuiltin:
		return s.builtin(ctx, cfg.Builtin, cfg.Models, model, log)
	default:
		return nil, fmt.Errorf("unknown backend %q", cfg.Backend.Backend)
	}
}

// metered is the model backend gen with its generations counted in the
// target's registry.
func (s *Service) metered(gen chat.Generator, cfg Config) chat.Generator {
	m := inference.NewMetrics(s.Registry, inference.MetricsOptions{
		Upstream: cfg.Backend.Backend != inference.BackendBuiltin, Backend: gen})
	return inference.Metered(gen, m)
}

// httpCheck is a readiness check that GETs url and wants a 2xx.
func httpCheck(url string) httpx.Check {
	client := &http.Client{Transport: httpx.Transport(nil), Timeout: 3 * time.Second}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return chat.E(chat.KindUnavailable, "api service unreachable", err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return chat.Errorf(chat.KindUnavailable, "api service answered HTTP %d", resp.StatusCode)
		}
		return nil
	}
}
