package inference

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/openai"
)

// The pool. Each backend counts the requests it has in flight and keeps
// the state its answers put it in:
//
//   - up: in rotation; a request goes to the up backend with the fewest
//     requests in flight (ties in turn).
//   - busy: it answered 429 or 503 (a full queue, a rate limit, a drain):
//     alive, but passed over until its Retry-After (or BusyWait) is over,
//     unless no up backend is left.
//   - down: MaxFailures failures in a row (unreachable, 5xx, a broken
//     stream), or a readiness check it answered "not ready": out of
//     rotation, the circuit open. It is checked again after Backoff, then
//     twice as long after each failed check, up to MaxBackoff (the half-open
//     probe); the first success, of a check or a request, puts it back.
//     When every backend serving a model is down, a request still tries
//     the one due first, rather than refuse without asking.
//
// Each change of state is logged once. The fields below are guarded by
// Router.mu.
type backend struct {
	Route

	// discovery
	known        []chat.ModelInfo // the last successful answer
	discoveryErr error            // the last discovery's failure

	inFlight  int
	fails     int // failures in a row
	down      bool
	backoff   time.Duration // the wait before the next check, while down
	retryAt   time.Time     // down: when it is checked again
	busyUntil time.Time
	busy      bool      // busy was logged and no success since
	lastErr   error     // the failure that made it down or busy
	probeAt   time.Time // when the health loop checks it next
}

// verdict is what an outcome says about the backend that gave it.
type verdict int

const (
	neutral verdict = iota // the caller left, or the request was at fault
	fit                    // it answered
	busy                   // it answered 429 or 503
	broken                 // it failed
)

// verdictOf judges an outcome, and returns the wait a busy backend asked
// for.
func verdictOf(ctx context.Context, err error) (verdict, time.Duration) {
	if err == nil {
		return fit, 0
	}
	if ctx.Err() != nil {
		return neutral, 0
	}
	switch status, wait := openai.AnswerStatus(err); {
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		return busy, wait
	case status >= 500:
		return broken, 0
	case status != 0:
		return neutral, 0 // a 4xx: the request's fault
	}
	switch chat.KindOf(err) {
	case chat.KindUnavailable, chat.KindUpstream, chat.KindTimeout:
		return broken, 0
	}
	return neutral, 0
}

// retryable reports whether a try that ended in err should move on to
// another backend: only when the backend is busy or broken, nothing went
// to the client yet, and the caller is still there.
func retryable(ctx context.Context, err error, emitted bool) bool {
	if err == nil || emitted || ctx.Err() != nil {
		return false
	}
	v, _ := verdictOf(ctx, err)
	return v == busy || v == broken
}

// tries hands out the backends one request may try, each once, best
// first.
type tries struct {
	r     *Router
	cands []*backend
	tried []bool
	start int // where ties begin, in turn
	// downTried: a request tries at most one backend that is down.
	downTried bool
}

// attempts begins a request's tries over cands. A generation takes its
// turn; a measurement (counting tokens) only peeks at it, so it lands on
// the backend the generation after it will get: otherwise a message that
// counts and then generates would always count on one backend and
// generate on the other.
func (r *Router) attempts(cands []*backend, takeTurn bool) *tries {
	turn := r.turn.Load()
	if takeTurn {
		turn = r.turn.Add(1) - 1
	}
	return &tries{r: r, cands: cands, tried: make([]bool, len(cands)), start: int(turn)}
}

// next returns the backend to try now, counted in flight until done, or
// nil when none is left: the up one with the fewest requests in flight
// (ties in turn), else the busy one free soonest, else the down one due
// first.
func (t *tries) next() *backend {
	now := time.Now()
	t.r.mu.Lock()
	defer t.r.mu.Unlock()
	n := len(t.cands)
	best, class := -1, 4
	for k := range n {
		i := (t.start + k) % n
		b := t.cands[i]
		if t.tried[i] {
			continue
		}
		c := 0
		switch {
		case b.down:
			c = 2
		case now.Before(b.busyUntil):
			c = 1
		}
		if c == 2 && t.downTried {
			continue
		}
		if c < class || c == class && t.better(b, t.cands[best], c) {
			best, class = i, c
		}
	}
	if best < 0 {
		return nil
	}
	t.tried[best] = true
	t.downTried = t.downTried || class == 2
	b := t.cands[best]
	b.inFlight++
	return b
}

// better compares two backends of one class; a tie keeps the one met
// first, which is the turn order.
func (t *tries) better(b, than *backend, class int) bool {
	switch class {
	case 0:
		return b.inFlight < than.inFlight
	case 1:
		return b.busyUntil.Before(than.busyUntil)
	}
	return b.retryAt.Before(than.retryAt)
}

// done ends a request's try of b with err: no longer in flight, judged.
func (r *Router) done(ctx context.Context, b *backend, err error) {
	r.mu.Lock()
	b.inFlight--
	r.mu.Unlock()
	r.judge(ctx, b, err, false)
}

// judge records what an outcome says about b, and logs a change of state.
// probe says the outcome is a readiness check's: any failure of it is
// broken (a 503 from /readyz means not ready, not busy), its success does
// not end a busy spell (only a served request does), and a backend that
// answered it "not ready" is down at once.
func (r *Router) judge(ctx context.Context, b *backend, err error, probe bool) {
	v, wait := verdictOf(ctx, err)
	if probe && err != nil {
		v = broken
	}
	if v == neutral {
		return
	}
	now := time.Now()
	var logIt func()
	r.mu.Lock()
	switch v {
	case fit:
		b.fails = 0
		if b.down {
			b.down, b.lastErr = false, nil
			b.probeAt = now.Add(r.cfg.HealthInterval)
			logIt = func() { r.log.Info("model service is back in rotation", "url", b.Name, "addr", b.Addr) }
		}
		if b.busy && !probe {
			b.busy, b.busyUntil = false, time.Time{}
			if logIt == nil {
				logIt = func() { r.log.Info("model service takes requests again", "url", b.Name, "addr", b.Addr) }
			}
		}
	case busy:
		if wait <= 0 {
			wait = r.cfg.BusyWait
		}
		wait = min(wait, r.cfg.MaxBackoff)
		b.busyUntil, b.lastErr = now.Add(wait), err
		if !b.busy {
			b.busy = true
			logIt = func() {
				r.log.Warn("model service is busy; passing it over", "url", b.Name, "addr", b.Addr, "for", wait, "err", err)
			}
		}
	case broken:
		b.fails++
		b.lastErr = err
		if status, _ := openai.AnswerStatus(err); probe && status != 0 {
			b.fails = max(b.fails, r.cfg.MaxFailures)
		}
		switch {
		case b.down:
			b.backoff = min(2*b.backoff, r.cfg.MaxBackoff)
			b.retryAt = now.Add(b.backoff)
			b.probeAt = b.retryAt
		case b.fails >= r.cfg.MaxFailures:
			b.down = true
			b.backoff = r.cfg.Backoff
			b.retryAt = now.Add(b.backoff)
			b.probeAt = b.retryAt
			fails, backoff := b.fails, b.backoff
			logIt = func() {
				r.log.Warn("model service is down; out of rotation", "url", b.Name, "addr", b.Addr,
					"failures", fails, "next_check_in", backoff, "err", err)
				r.poke()
			}
		}
	}
	r.mu.Unlock()
	if logIt != nil {
		logIt()
	}
}

// poke wakes the health loop to look at its schedule again.
func (r *Router) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// BackendState is how one model service of the pool stands, for /readyz.
type BackendState struct {
	URL string `json:"url"`
	// Addr is the address behind URL with RouterConfig.Resolve.
	Addr string `json:"addr,omitempty"`
	// State is "up", "busy" or "down".
	State    string `json:"state"`
	InFlight int    `json:"in_flight"`
	// Failures counts the failures in a row.
	Failures int `json:"failures,omitempty"`
	// RetryIn is, for busy and down, how long until it is tried again.
	RetryIn string `json:"retry_in,omitempty"`
	// Error is what made it busy or down, in the words a client would get.
	Error string `json:"error,omitempty"`
}

// States reports every backend's state, in the routes' order.
func (r *Router) States() []BackendState {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]BackendState, 0, len(r.backends))
	for _, b := range r.backends {
		s := BackendState{URL: b.Name, Addr: b.Addr, State: "up", InFlight: b.inFlight, Failures: b.fails}
		until := time.Time{}
		switch {
		case b.down:
			s.State, until = "down", b.retryAt
		case now.Before(b.busyUntil):
			s.State, until = "busy", b.busyUntil
		}
		if s.State != "up" {
			s.RetryIn = max(until.Sub(now), 0).Round(100 * time.Millisecond).String()
			if b.lastErr != nil {
				s.Error = chat.MessageOf(b.lastErr)
			}
		}
		out = append(out, s)
	}
	return out
}

// Ready is the api's readiness check of its model services: at least one
// is in rotation and they list a model.
func (r *Router) Ready(ctx context.Context) error {
	if err := ModelsCheck(r)(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.backends) == 0 {
		return r.noBackend()
	}
	var lastErr error
	for _, b := range r.backends {
		if !b.down {
			return nil
		}
		lastErr = b.lastErr
	}
	return &chat.Error{Kind: chat.KindUnavailable, Code: chat.CodeOf(lastErr),
		Message: "every model service is out of rotation: " + chat.MessageOf(lastErr), Err: lastErr}
}

// watch checks each backend's readiness when it is due: an up one every
// HealthInterval, a down one when its backoff is over. Checks of one round
// run together.
func (r *Router) watch(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		now := time.Now()
		var due []*backend
		next := now.Add(r.cfg.HealthInterval)
		r.mu.Lock()
		for _, b := range r.backends {
			if !now.Before(b.probeAt) {
				due = append(due, b)
				b.probeAt = now.Add(r.cfg.HealthInterval) // judge moves it for a down one
			} else if b.probeAt.Before(next) {
				next = b.probeAt
			}
		}
		r.mu.Unlock()
		if len(due) > 0 {
			var wg sync.WaitGroup
			for _, b := range due {
				wg.Go(func() { r.probe(ctx, b) })
			}
			wg.Wait()
			if ctx.Err() != nil {
				return
			}
			continue
		}
		timer.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
			timer.Stop() // since Go 1.23 no stale tick is left behind
		case <-timer.C:
		}
	}
}

// readier is a backend with a readiness check of its own (a Parley model
// service's /readyz, openai.Client.Ready); the others are asked for their
// models.
type readier interface {
	Ready(ctx context.Context) error
}

// probe checks b's readiness once and judges it.
func (r *Router) probe(ctx context.Context, b *backend) {
	pctx, cancel := context.WithTimeout(ctx, r.cfg.HealthTimeout)
	defer cancel()
	var err error
	if rd, ok := b.Gen.(readier); ok {
		err = rd.Ready(pctx)
	} else {
		_, err = b.Gen.Models(pctx)
	}
	if ctx.Err() != nil {
		return
	}
	if err != nil && pctx.Err() != nil {
		err = chat.E(chat.KindTimeout, "the model service's readiness check took longer than "+r.cfg.HealthTimeout.String(), err)
	}
	r.judge(ctx, b, err, true)
}
