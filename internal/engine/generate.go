package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// request is one Generate call: what the scheduler needs to run it, and
// what it hands back. The scheduler appends tokens and ends it; the
// caller's goroutine reads them and calls emit, so a slow client never
// holds up the batch.
type request struct {
	ctx      context.Context
	prompt   []int
	params   Params
	arrived  time.Time
	notify   chan struct{} // capacity 1: tokens or the end arrived
	gone     atomic.Bool   // the caller stopped reading: free the slot
	read     atomic.Int64  // tokens the caller has taken
	position int           // place in the queue on arrival (0: a slot was free)

	mu       sync.Mutex
	out      []int
	ended    bool
	finish   FinishReason
	err      error
	cached   int
	started  time.Time
	assigned bool
}

func (r *request) signal() {
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// put hands a generated token to the caller.
func (r *request) put(tok int) {
	r.mu.Lock()
	r.out = append(r.out, tok)
	r.mu.Unlock()
	r.signal()
}

// end finishes the request with a reason or an error.
func (r *request) end(f FinishReason, err error) {
	r.mu.Lock()
	if !r.ended {
		r.ended, r.finish, r.err = true, f, err
	}
	r.mu.Unlock()
	r.signal()
}

// Generate runs prompt through the model and samples tokens after it,
// calling emit with each one (p.StopTokens are not emitted) on the
// calling goroutine. It waits for a free slot, or fails at once with
// ErrBusy when the wait queue is full. Cancelling ctx stops it before the
// next token (its slot is freed at the next step); it then returns the
// result so far and ctx's error.
func (m *Model) Generate(ctx context.Context, prompt []int, p Params, emit func(token int) error) (Result, error) {
	res := Result{PromptTokens: len(prompt)}
	if len(prompt) == 0 {
		return res, fmt.Errorf("engine: empty prompt")
	}
	if p.MaxTokens < 0 {
		return res, fmt.Errorf("engine: negative MaxTokens %d", p.MaxTokens)
	}
	if len(prompt) >= m.ctxLen {
		return res, fmt.Errorf("engine: %d prompt tokens, context window %d: %w", len(prompt), m.ctxLen, ErrPromptTooLong)
	}
	vocab := m.net.Config.Vocab
	for _, t := range prompt {
		if t < 0 || t >= vocab {
			return res, fmt.Errorf("engine: prompt token %d outside the vocabulary of %d", t, vocab)
		}
	}
	if err := context.Cause(ctx); err != nil {
		return res, err
	}
	r := &request{ctx: ctx, prompt: prompt, params: p, arrived: time.Now(), notify: make(chan struct{}, 1)}
	if err := m.enqueue(r); err != nil {
		return res, err
	}
	defer m.leave(r)
	delivered := 0
	for {
		select {
		case <-r.notify:
		case <-ctx.Done():
			return m.result(r, res, delivered), context.Cause(ctx)
		}
		r.mu.Lock()
		toks, ended, finish, err := r.out[delivered:], r.ended, r.finish, r.err
		r.mu.Unlock()
		for _, t := range toks {
			if err := context.Cause(ctx); err != nil {
				return m.result(r, res, delivered), err
			}
			delivered++
			r.read.Store(int64(delivered))
			if err := emit(t); err != nil {
				res = m.result(r, res, delivered)
				if errors.Is(err, ErrStop) {
					res.Finish = FinishStopped
					return res, nil
				}
				return res, err
			}
		}
		m.poke() // a slot paused for its reader may go on
		if ended {
			res = m.result(r, res, delivered)
			res.Finish = finish
			return res, err
		}
	}
}

// result fills in what the scheduler reported about r.
func (m *Model) result(r *request, res Result, delivered int) Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res.GeneratedTokens, res.CachedTokens = delivered, r.cached
	if r.assigned {
		res.Queued = r.started.Sub(r.arrived)
	}
	return res
}

// enqueue puts r in the wait queue, or refuses it when the slots and the
// queue are full.
func (m *Model) enqueue(r *request) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	waiting := m.running + len(m.queue) - m.parallel // ahead of r in the queue
	if waiting >= m.maxQueue {
		m.mu.Unlock()
		m.log.Warn("generation refused: every slot is busy and the wait queue is full",
			slog.Int("slots", m.parallel), slog.Int("queued", len(m.queue)), slog.Int("max_queue", m.maxQueue))
		return ErrBusy
	}
	r.position = max(waiting+1, 0)
	m.queue = append(m.queue, r)
	m.mu.Unlock()
	if r.position > 0 {
		m.log.Info("generation queued: every slot is busy", slog.Int("position", r.position), slog.Int("slots", m.parallel))
	}
	m.poke()
	return nil
}

// poke wakes the scheduler if it sleeps.
func (m *Model) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// leave tells the scheduler that nobody reads r any more: a request still
// waiting leaves the queue, one in a slot frees it at the next step.
func (m *Model) leave(r *request) {
	r.gone.Store(true)
	m.mu.Lock()
	for i, q := range m.queue {
		if q == r {
			m.queue = append(m.queue[:i], m.queue[i+1:]...)
			break
		}
	}
	m.mu.Unlock()
	m.poke()
}
