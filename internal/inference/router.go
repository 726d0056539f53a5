package inference

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/openai"
)

// Route is one backend of a Router.
type Route struct {
	// Name identifies the backend in errors and logs (e.g. its URL).
	Name string
	// Models are the model ids this backend serves. Empty means: ask the
	// backend (Gen.Models) and follow what it answers.
	Models []string
	Gen    chat.Generator
}

// RouterConfig names the model services of the api and tunes model
// discovery.
type RouterConfig struct {
	// URLs are the model services' base URLs, each maybe pinned to model
	// names (see Routes); Key is the bearer key sent to all of them.
	URLs []string
	Key  string
	// RefreshInterval is how often Run re-discovers models (default 30s).
	RefreshInterval time.Duration
	// MissInterval is the least time between two discoveries caused by
	// requests for unknown models (default 2s), so a client asking for a
	// model that does not exist cannot hammer the backends.
	MissInterval time.Duration
	// DiscoveryTimeout bounds one backend's Models call (default 5s).
	DiscoveryTimeout time.Duration
}

func (c RouterConfig) withDefaults() RouterConfig {
	if c.RefreshInterval <= 0 {
		c.RefreshInterval = 30 * time.Second
	}
	if c.MissInterval <= 0 {
		c.MissInterval = 2 * time.Second
	}
	if c.DiscoveryTimeout <= 0 {
		c.DiscoveryTimeout = 5 * time.Second
	}
	return c
}

// Router is a chat.Generator over several backends. It picks the backend by
// model name; when several serve the model it takes turns between them and
// moves on to the next one when a backend is unavailable before it produced
// any text. Model "" goes to the first backend's default model. Models
// merges every backend's list. Discovery happens on the first request, on a
// request for an unknown model, on every Models call, and every
// RefreshInterval while Run runs.
type Router struct {
	routes []Route
	cfg    RouterConfig
	turn   atomic.Uint64

	mu         sync.Mutex
	known      [][]chat.ModelInfo // per route, the last successful answer
	errs       []error            // per route, the last discovery error
	fetched    time.Time
	refreshing chan struct{} // non-nil while a discovery runs; closed when done
}

var (
	_ chat.Generator    = (*Router)(nil)
	_ chat.TokenCounter = (*Router)(nil)
)

// NewRouter returns a router over routes, tried in the given order.
func NewRouter(routes []Route, cfg RouterConfig) *Router {
	return &Router{
		routes: routes,
		cfg:    cfg.withDefaults(),
		known:  make([][]chat.ModelInfo, len(routes)),
		errs:   make([]error, len(routes)),
	}
}

// Run re-discovers models every RefreshInterval until ctx ends. It is
// optional: without it discovery happens on demand only.
func (r *Router) Run(ctx context.Context) {
	t := time.NewTicker(r.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = r.refresh(ctx)
		}
	}
}

// refresh asks every backend for its models. Concurrent callers share one
// discovery. A backend that fails keeps its last known list, so that a
// request for its model gets "unavailable" rather than "not found".
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

	lists := make([][]chat.ModelInfo, len(r.routes))
	errs := make([]error, len(r.routes))
	var wg sync.WaitGroup
	for i, rt := range r.routes {
		wg.Go(func() {
			dctx, cancel := context.WithTimeout(ctx, r.cfg.DiscoveryTimeout)
			defer cancel()
			lists[i], errs[i] = rt.Gen.Models(dctx)
		})
	}
	wg.Wait()

	r.mu.Lock()
	for i := range r.routes {
		r.errs[i] = errs[i]
		if errs[i] == nil {
			r.known[i] = lists[i]
		}
	}
	r.fetched = time.Now()
	r.refreshing = nil
	r.mu.Unlock()
	close(ch)
	return nil
}

// serves reports whether route i serves model, by its static list or its
// discovered one. Callers hold r.mu.
func (r *Router) serves(i int, model string) bool {
	if len(r.routes[i].Models) > 0 {
		for _, m := range r.routes[i].Models {
			if m == model {
				return true
			}
		}
		return false
	}
	for _, m := range r.known[i] {
		if m.ID == model {
			return true
		}
	}
	return false
}

// firstModel returns route i's first model, "" when none is known. Callers
// hold r.mu.
func (r *Router) firstModel(i int) string {
	if len(r.routes[i].Models) > 0 {
		return r.routes[i].Models[0]
	}
	if len(r.known[i]) > 0 {
		return r.known[i][0].ID
	}
	return ""
}

// candidates returns the routes serving model, and whether a discovery is
// due for it.
func (r *Router) candidates(model string) ([]int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for i := range r.routes {
		if r.serves(i, model) {
			out = append(out, i)
		}
	}
	due := r.fetched.IsZero() || (len(out) == 0 && time.Since(r.fetched) >= r.cfg.MissInterval)
	return out, due
}

// pick resolves model ("" is the first backend's default) and returns the
// backends to try for it, in turn order. A "" model with no known default
// goes to the first backend, to pick its own.
func (r *Router) pick(ctx context.Context, model string) (string, []int, error) {
	if len(r.routes) == 0 {
		return "", nil, chat.Errorf(chat.KindUnavailable, "no model backend configured")
	}
	if model == "" {
		def, err := r.firstDefault(ctx)
		if err != nil {
			return "", nil, err
		}
		if def == "" {
			return "", []int{0}, nil
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
	start := int(r.turn.Add(1)-1) % len(cands)
	return model, append(cands[start:len(cands):len(cands)], cands[:start]...), nil
}

// firstDefault returns the first backend's first model, discovering
// models first if that never happened; "" when none is known.
func (r *Router) firstDefault(ctx context.Context) (string, error) {
	r.mu.Lock()
	fresh := r.fetched.IsZero()
	r.mu.Unlock()
	if fresh {
		if err := r.refresh(ctx); err != nil {
			return "", err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.firstModel(0), nil
}

// DefaultModel names the model a request without one gets.
func (r *Router) DefaultModel(ctx context.Context) (string, error) {
	model, cands, err := r.pick(ctx, "")
	if err != nil || model != "" {
		return model, err
	}
	if d, ok := r.routes[cands[0]].Gen.(defaultModeler); ok {
		return d.DefaultModel(ctx)
	}
	return "", nil
}

// failover reports whether a try that ended in err should move on to the
// next backend: only when it is unavailable, nothing went to the client
// yet, and the caller is still there.
func failover(ctx context.Context, err error, emitted bool) bool {
	return err != nil && !emitted && ctx.Err() == nil && chat.KindOf(err) == chat.KindUnavailable
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
	for _, i := range cands {
		gen, err = r.routes[i].Gen.Generate(ctx, req, wrapped)
		if !failover(ctx, err, emitted) {
			break
		}
	}
	return gen, err
}

// Forward routes an OpenAI request to a backend serving its model, as
// Generate does, passing it on as it is. See Forwarder.
func (r *Router) Forward(ctx context.Context, req *openai.Request) (*openai.Response, error) {
	model, cands, err := r.pick(ctx, req.Target())
	if err != nil {
		return nil, err
	}
	req.SetModel(model)
	var resp *openai.Response
	for _, i := range cands {
		resp, err = r.routes[i].Gen.(Forwarder).Forward(ctx, req)
		if !failover(ctx, err, false) {
			break
		}
	}
	return resp, err
}

// forwards reports whether every backend is a Forwarder, so that the
// Router can be one.
func (r *Router) forwards() bool {
	for _, rt := range r.routes {
		if _, ok := rt.Gen.(Forwarder); !ok {
			return false
		}
	}
	return len(r.routes) > 0
}

// CountTokens measures req with a backend serving req.Model, picked as
// Generate picks it (chat.CountTokens: exactly where the backend can).
func (r *Router) CountTokens(ctx context.Context, req chat.GenerateRequest) (chat.TokenCount, error) {
	model, cands, err := r.pick(ctx, req.Model)
	if err != nil {
		return chat.TokenCount{}, err
	}
	req.Model = model
	var tc chat.TokenCount
	for _, i := range cands {
		tc, err = chat.CountTokens(ctx, r.routes[i].Gen, req)
		if !failover(ctx, err, false) {
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
	for i, rt := range r.routes {
		if err := r.errs[i]; err != nil && len(rt.Models) == 0 && len(r.known[i]) == 0 {
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
	if len(r.routes) == 0 {
		return nil, chat.Errorf(chat.KindUnavailable, "no model backend configured")
	}
	if err := r.refresh(ctx); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
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
	for i, rt := range r.routes {
		if r.errs[i] != nil {
			errs = append(errs, r.errs[i])
			if len(rt.Models) == 0 {
				continue
			}
		}
		if len(rt.Models) == 0 {
			for _, m := range r.known[i] {
				add(m)
			}
			continue
		}
		for _, id := range rt.Models {
			info := chat.ModelInfo{ID: id}
			for _, m := range r.known[i] {
				if m.ID == id {
					info = m
				}
			}
			add(info)
		}
	}
	if len(errs) == len(r.routes) {
		// Every backend is down: report the first failure's kind and
		// message, keeping all of them as the cause for the logs.
		return nil, &chat.Error{Kind: chat.KindOf(errs[0]), Code: chat.CodeOf(errs[0]),
			Message: "no model backend answers: " + chat.MessageOf(errs[0]), Err: errors.Join(errs...)}
	}
	return out, nil
}
