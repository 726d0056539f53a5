package inference

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/openai"
)

// Route is one backend of a Router.
type Route struct {
	// Name identifies the backend in errors, logs and /readyz: the URL it
	// was configured as, without a password.
	Name string
	// Addr is the address the backend is reached at when Name's host
	// name stands for several (RouterConfig.Resolve); "" otherwise.
	Addr string
	// Models are the model ids this backend serves. Empty means: ask the
	// backend (Gen.Models) and follow what it answers.
	Models []string
	Gen    chat.Generator
}

// key tells routes apart across resolutions.
func (rt Route) key() string { return rt.Name + " " + rt.Addr }

// Router is a chat.Generator over several backends, the api's pool of
// model services. It picks the backends serving the request's model and
// of those the least busy fit one (see pool.go): fewest requests in
// flight, ties taken in turn; one that failed repeatedly is out of
// rotation until it recovers, one that answered 429 or 503 is passed over
// for a while. A request that fails before its first token moves on to
// the next backend; after it, the error stands. Model "" goes to the
// first backend's default model. Models merges every backend's list.
// Discovery happens on the first request, on a request for an unknown
// model, on every Models call, and every RefreshInterval while Run runs;
// Run also checks the backends' readiness.
type Router struct {
	cfg  RouterConfig
	log  *slog.Logger
	turn atomic.Uint64
	// source gives the current routes at each discovery; nil keeps the
	// ones the router was made with.
	source func(ctx context.Context) ([]Route, error)
	// forwarding says every backend is a Forwarder, now and later.
	forwarding bool
	// wake tells the health loop that a probe fell due earlier.
	wake chan struct{}

	mu         sync.Mutex
	backends   []*backend // replaced when the routes change, never edited
	sourceErr  string     // the last failure of source, to log it once
	fetched    time.Time
	refreshing chan struct{} // non-nil while a discovery runs; closed when done
}

var (
	_ chat.Generator    = (*Router)(nil)
	_ chat.TokenCounter = (*Router)(nil)
)

// NewRouter returns a router over routes, tried in the given order when
// all are equally busy. log may be nil.
func NewRouter(routes []Route, cfg RouterConfig, log *slog.Logger) *Router {
	r := newRouter(routes, cfg, log)
	r.forwarding = len(routes) > 0
	for _, rt := range routes {
		if _, ok := rt.Gen.(Forwarder); !ok {
			r.forwarding = false
		}
	}
	return r
}

func newRouter(routes []Route, cfg RouterConfig, log *slog.Logger) *Router {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Router{cfg: cfg.withDefaults(), log: log, wake: make(chan struct{}, 1)}
	for _, rt := range routes {
		r.backends = append(r.backends, &backend{Route: rt})
	}
	return r
}

// Run re-discovers models every RefreshInterval and checks the backends'
// readiness every HealthInterval until ctx ends. Without it discovery
// happens on demand only, and the pool learns from requests alone.
func (r *Router) Run(ctx context.Context) {
	// Know the pool before the first request needs it.
	_ = r.refresh(ctx)
	var wg sync.WaitGroup
	if r.cfg.HealthInterval > 0 {
		wg.Go(func() { r.watch(ctx) })
	}
	t := time.NewTicker(r.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
			_ = r.refresh(ctx)
		}
	}
}

// snapshot returns the current backends.
func (r *Router) snapshot() []*backend {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.backends
}

// refresh learns the current routes (when they can change) and asks every
// backend for its models. Concurrent callers share one discovery. A
// backend that fails keeps its last known list, so that a request for its
// model gets "unavailable" rather than "not found".
func (r *Router) refresh(ctx context.Context) error {
	r.mu.Lock()
	if ch := r.refreshing; ch != nil {
		r.mu.Unlock()
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	ch := make(chan struct{})
	r.refreshing = ch
	r.mu.Unlock()

	if r.source != nil {
		routes, err := r.source(ctx)
		r.setRoutes(routes, err)
	}
	bs := r.snapshot()
	lists := make([][]chat.ModelInfo, len(bs))
	errs := make([]error, len(bs))
	var wg sync.WaitGroup
	for i, b := range bs {
		wg.Go(func() {
			dctx, cancel := context.WithTimeout(ctx, r.cfg.DiscoveryTimeout)
			defer cancel()
			lists[i], errs[i] = b.Gen.Models(dctx)
		})
	}
	wg.Wait()

	r.mu.Lock()
	for i, b := range bs {
		b.discoveryErr = errs[i]
		if errs[i] == nil {
			b.known = lists[i]
		}
	}
	r.fetched = time.Now()
	r.refreshing = nil
	r.mu.Unlock()
	close(ch)
	return nil
}

// setRoutes makes routes the router's backends, keeping the state of
// those that stay. A source that failed (err) is logged when its failure
// changes; the routes it still gave are taken.
func (r *Router) setRoutes(routes []Route, err error) {
	r.mu.Lock()
	old := make(map[string]*backend, len(r.backends))
	for _, b := range r.backends {
		old[b.key()] = b
	}
	var added, kept []*backend
	for _, rt := range routes {
		if b, ok := old[rt.key()]; ok {
			delete(old, rt.key())
			kept = append(kept, b)
			continue
		}
		b := &backend{Route: rt}
		added = append(added, b)
		kept = append(kept, b)
	}
	r.backends = kept
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	logErr := msg != r.sourceErr
	r.sourceErr = msg
	r.mu.Unlock()

	for _, b := range added {
		r.log.Info("model service found", "url", b.Name, "addr", b.Addr)
	}
	for _, b := range old {
		r.log.Info("model service gone", "url", b.Name, "addr", b.Addr)
	}
	if logErr && err != nil {
		r.log.Warn("cannot resolve model services; keeping the addresses known", "err", err)
	}
	if len(added) > 0 {
		r.poke()
	}
}

// serves reports whether b serves model, by its static list or its
// discovered one. Callers hold r.mu.
func (b *backend) serves(model string) bool {
	if len(b.Models) > 0 {
		for _, m := range b.Models {
			if m == model {
				return true
			}
		}
		return false
	}
	for _, m := range b.known {
		if m.ID == model {
			return true
		}
	}
	return false
}

// firstModel returns b's first model, "" when none is known. Callers
// hold r.mu.
func (b *backend) firstModel() string {
	if len(b.Models) > 0 {
		return b.Models[0]
	}
	if len(b.known) > 0 {
		return b.known[0].ID
	}
	return ""
}

// candidates returns the backends serving model, and whether a discovery
// is due for it.
func (r *Router) candidates(model string) ([]*backend, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*backend
	for _, b := range r.backends {
		if b.serves(model) {
			out = append(out, b)
		}
	}
	due := r.fetched.IsZero() || (len(out) == 0 && time.Since(r.fetched) >= r.cfg.MissInterval)
	return out, due
}

// pick resolves model ("" is the first backend's default) and returns the
// backends that may take it. A "" model with no known default goes to
// the first backend, to pick its own.
func (r *Router) pick(ctx context.Context, model string) (string, []*backend, error) {
	if model == "" {
		first, def, err := r.firstDefault(ctx)
		if err != nil {
			return "", nil, err
		}
		if def == "" {
			return "", []*backend{first}, nil
		}
		model = def
	}
	cands, due := r.candidates(model)
	if due {
		if err := r.refresh(ctx); err != nil {
			return "", nil, err
		}
		cands, _ = r.candidates(model)
	}
	if len(cands) == 0 {
		return "", nil, r.unknownModel(model)
	}
	return model, cands, nil
}

// firstDefault returns the first backend and its first model, discovering
// first if that never happened; the model is "" when none is known.
func (r *Router) firstDefault(ctx context.Context) (*backend, string, error) {
	r.mu.Lock()
	fresh := r.fetched.IsZero()
	r.mu.Unlock()
	if fresh {
		if err := r.refresh(ctx); err != nil {
			return nil, "", err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.backends) == 0 {
		return nil, "", r.noBackend()
	}
	return r.backends[0], r.backends[0].firstModel(), nil
}

// noBackend is the error for a router without backends. Callers hold r.mu.
func (r *Router) noBackend() error {
	if r.sourceErr != "" {
		return chat.E(chat.KindUnavailable, "no model service is reachable: their names do not resolve", errors.New(r.sourceErr))
	}
	return chat.Errorf(chat.KindUnavailable, "no model backend configured")
}

// DefaultModel names the model a request without one gets.
func (r *Router) DefaultModel(ctx context.Context) (string, error) {
	model, cands, err := r.pick(ctx, "")
	if err != nil || model != "" {
		return model, err
	}
	if d, ok := cands[0].Gen.(defaultModeler); ok {
		return d.DefaultModel(ctx)
	}
	return "", nil
}

// Generate routes req to a backend serving req.Model. See chat.Generator.
func (r *Router) Generate(ctx context.Context, req chat.GenerateRequest, emit func(chat.Delta) error) (chat.Generation, error) {
	model, cands, err := r.pick(ctx, req.Model)
	if err != nil {
		return chat.Generation{}, err
	}
	req.Model = model
	emitted := false
	wrapped := func(d chat.Delta) error {
		emitted = true
		return emit(d)
	}
	var gen chat.Generation
	tries := r.attempts(cands, true)
	for b := tries.next(); b != nil; b = tries.next() {
		gen, err = b.Gen.Generate(ctx, req, wrapped)
		r.done(ctx, b, err)
		if !retryable(ctx, err, emitted) {
			break
		}
	}
	return gen, err
}

// Forward routes an OpenAI request to a backend serving its model, as
// Generate does, passing it on as it is. The answer is read up to its
// first token before it is returned (openai.Response.Prime), so that a
// backend failing before then is left for the next one while the client
// has got nothing. See Forwarder.
func (r *Router) Forward(ctx context.Context, req *openai.Request) (*openai.Response, error) {
	model, cands, err := r.pick(ctx, req.Target())
	if err != nil {
		return nil, err
	}
	req.SetModel(model)
	tries := r.attempts(cands, true)
	for b := tries.next(); b != nil; b = tries.next() {
		var resp *openai.Response
		resp, err = r.forwardTo(ctx, b, req)
		if err == nil {
			return resp, nil
		}
		if !retryable(ctx, err, false) {
			break
		}
	}
	return nil, err
}

// forwardTo sends req to b and primes the answer. b stays in flight until
// the answer is closed.
func (r *Router) forwardTo(ctx context.Context, b *backend, req *openai.Request) (*openai.Response, error) {
	fwd, ok := b.Gen.(Forwarder)
	if !ok {
		r.done(ctx, b, nil)
		return nil, chat.Errorf(chat.KindInternal, "model backend %s cannot pass requests through", b.Name)
	}
	resp, err := fwd.Forward(ctx, req)
	if err == nil {
		if err = resp.Prime(); err != nil {
			resp.Close()
		}
	}
	if err != nil {
		r.done(ctx, b, err)
		return nil, err
	}
	r.judge(ctx, b, nil, false) // it answered: fit, whatever comes later
	resp.OnClose(func(failed error) { r.done(ctx, b, failed) })
	return resp, nil
}

// forwards reports whether every backend is a Forwarder, so that the
// Router can be one.
func (r *Router) forwards() bool { return r.forwarding }

// CountTokens measures req with a backend serving req.Model, picked as
// Generate picks it (chat.CountTokens: exactly where the backend can).
func (r *Router) CountTokens(ctx context.Context, req chat.GenerateRequest) (chat.TokenCount, error) {
	model, cands, err := r.pick(ctx, req.Model)
	if err != nil {
		return chat.TokenCount{}, err
	}
	req.Model = model
	var tc chat.TokenCount
	tries := r.attempts(cands, false)
	for b := tries.next(); b != nil; b = tries.next() {
		tc, err = chat.CountTokens(ctx, b.Gen, req)
		r.done(ctx, b, err)
		if !retryable(ctx, err, false) {
			break
		}
	}
	return tc, err
}

// unknownModel is the error for a model no backend is known to serve: not
// found, unless a backend that might serve it could not be asked, in which
// case the model may well exist and the backend being down is the news.
func (r *Router) unknownModel(model string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.backends) == 0 {
		return r.noBackend()
	}
	for _, b := range r.backends {
		if err := b.discoveryErr; err != nil && len(b.Models) == 0 && len(b.known) == 0 {
			return &chat.Error{Kind: chat.KindUnavailable, Code: chat.CodeOf(err),
				Message: fmt.Sprintf("model %q is not available: %s", model, chat.MessageOf(err)), Err: err}
		}
	}
	return &chat.Error{Kind: chat.KindNotFound, Code: "model_not_found",
		Message: fmt.Sprintf("model %q not found", model)}
}

// Models merges the model lists of all backends after a fresh discovery,
// first backend first, without duplicates. It fails only when every
// backend fails, so that it can serve as a readiness check ("at least one
// model backend answers").
func (r *Router) Models(ctx context.Context) ([]chat.ModelInfo, error) {
	if err := r.refresh(ctx); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.backends) == 0 {
		return nil, r.noBackend()
	}
	var (
		out  []chat.ModelInfo
		seen = make(map[string]bool)
		errs []error
	)
	add := func(m chat.ModelInfo) {
		if !seen[m.ID] {
			seen[m.ID] = true
			out = append(out, m)
		}
	}
	for _, b := range r.backends {
		if b.discoveryErr != nil {
			errs = append(errs, b.discoveryErr)
			if len(b.Models) == 0 {
				continue
			}
		}
		if len(b.Models) == 0 {
			for _, m := range b.known {
				add(m)
			}
			continue
		}
		for _, id := range b.Models {
			info := chat.ModelInfo{ID: id}
			for _, m := range b.known {
				if m.ID == id {
					info = m
				}
			}
			add(info)
		}
	}
	if len(errs) == len(r.backends) {
		// Every backend is down: report the first failure's kind and
		// message, keeping all of them as the cause for the logs.
		return nil, &chat.Error{Kind: chat.KindOf(errs[0]), Code: chat.CodeOf(errs[0]),
			Message: "no model backend answers: " + chat.MessageOf(errs[0]), Err: errors.Join(errs...)}
	}
	return out, nil
}
