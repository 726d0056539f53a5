package engine

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/parley-chat/parley/internal/engine/model"
	"github.com/parley-chat/parley/internal/engine/sample"
)

// The scheduler runs generations in slots, llama-server's way: each slot
// is a sequence with its own KV cache, and every step is one forward pass
// over the tokens of all busy slots together (continuous batching) — the
// next token of each generating slot and a chunk of the prompt of each
// slot still reading one — so the weights are read once per step for all
// of them. A request takes a free slot at the next step and leaves its slot
// at once when it ends; the slot keeps its tokens' keys and values, so a
// later request whose prompt begins with them (the next turn of a chat)
// starts after them (prefix cache).
type scheduler struct {
	m      *Model
	slots  []*slot
	active []*slot // busy slots in the order their requests arrived
	batch  *model.Batch
	segs   []model.Segment
	owners []*slot // the slot of each segment
	clock  uint64  // counts slot assignments, for least-recently-used
	peak   int     // the most sequences one step has run (tests read it)
}

// slot is one sequence of the scheduler.
type slot struct {
	id     int
	sess   *model.Session // made on first use
	cached []int          // the tokens whose keys and values are in sess
	used   uint64         // clock at the last assignment
	req    *request
	smp    *sample.Sampler
	rest   []int // prompt tokens still to process
	next   int   // the sampled token to feed next, once the prompt is in
	gen    int   // tokens generated
	one    [1]int
}

// prefillWhileDecoding caps the prompt tokens a step takes while other
// slots are generating: a step costs about as much as its tokens, so a
// full micro-batch of prompt would stall every stream for its duration,
// while much smaller chunks lose the GEMM's efficiency.
func prefillWhileDecoding(batch int) int { return max(batch/4, 16) }

func (s *scheduler) init(m *Model) {
	s.m = m
	s.batch = m.net.NewBatch(m.net.BatchSize(), m.parallel)
	for i := range m.parallel {
		s.slots = append(s.slots, &slot{id: i})
	}
}

// loop is the scheduler goroutine: it admits waiting requests to free
// slots and runs steps while any slot is busy, until Close.
func (s *scheduler) loop() {
	m := s.m
	defer close(m.done)
	for {
		s.admit()
		if len(s.active) == 0 {
			select {
			case <-m.wake:
				continue
			case <-m.stop:
				return
			}
		}
		select {
		case <-m.stop:
			for _, sl := range slices.Clone(s.active) {
				s.release(sl, "", ErrClosed)
			}
			return
		default:
		}
		if !s.step() {
			// Every busy slot waits for its reader: sleep until one reads
			// on, leaves, or a request arrives.
			select {
			case <-m.wake:
			case <-m.stop:
			}
		}
	}
}

// admit moves waiting requests into free slots, in arrival order.
func (s *scheduler) admit() {
	m := s.m
	for len(s.active) < len(s.slots) {
		m.mu.Lock()
		if len(m.queue) == 0 {
			m.mu.Unlock()
			return
		}
		r := m.queue[0]
		m.queue = m.queue[1:]
		m.running++
		m.mu.Unlock()
		if r.gone.Load() || r.ctx.Err() != nil {
			m.mu.Lock()
			m.running--
			m.mu.Unlock()
			r.end("", context.Cause(r.ctx))
			continue
		}
		s.start(s.pick(r.prompt), r)
	}
}

// pick chooses a free slot for prompt: the one holding the longest prefix
// of it, else the one used least recently. A slot counts as holding the
// prompt's prefix only when the prompt continues at least half of what it
// holds: sharing just a system prompt, it is another conversation's cache,
// better kept for that conversation's next turn (llama-server's slot
// similarity rule).
func (s *scheduler) pick(prompt []int) *slot {
	var best *slot
	bestKeep := 0
	for _, sl := range s.slots {
		if sl.req != nil {
			continue
		}
		keep := commonPrefix(sl.cached, prompt)
		if 2*keep < len(sl.cached) {
			keep = 0
		}
		if best == nil || keep > bestKeep || (keep == bestKeep && sl.used < best.used) {
			best, bestKeep = sl, keep
		}
	}
	return best
}

// start puts r into sl, reusing the longest prefix of its prompt that sl
// holds.
func (s *scheduler) start(sl *slot, r *request) {
	m := s.m
	if sl.sess == nil {
		sess, err := m.net.NewSession(m.ctxLen)
		if err != nil {
			m.mu.Lock()
			m.running--
			m.mu.Unlock()
			r.end("", fmt.Errorf("engine: %w", err))
			return
		}
		sl.sess = sess
	}
	// At least one token must run to produce logits.
	keep := min(commonPrefix(sl.cached, r.prompt), len(r.prompt)-1)
	sl.sess.Truncate(keep)
	sl.cached = sl.cached[:keep]
	s.clock++
	sl.used, sl.req, sl.rest, sl.gen = s.clock, r, r.prompt[keep:], 0
	sl.smp = sample.New(r.params.Sampling)
	for _, t := range r.prompt {
		sl.smp.Accept(t)
	}
	s.active = append(s.active, sl)
	now := time.Now()
	r.mu.Lock()
	r.cached, r.started, r.assigned = keep, now, true
	r.mu.Unlock()
	lvl := slog.LevelDebug
	if r.position > 0 {
		lvl = slog.LevelInfo
	}
	m.log.Log(r.ctx, lvl, "generation started", slog.Int("slot", sl.id), slog.Int("queue_position", r.position),
		slog.Duration("waited", now.Sub(r.arrived)), slog.Int("prompt_tokens", len(r.prompt)), slog.Int("cached_tokens", keep))
}

// release ends sl's request and frees the slot; its cache stays for a
// later request with the same prefix.
func (s *scheduler) release(sl *slot, f FinishReason, err error) {
	r := sl.req
	sl.req, sl.smp, sl.rest = nil, nil, nil
	s.active = slices.DeleteFunc(s.active, func(x *slot) bool { return x == sl })
	s.m.mu.Lock()
	s.m.running--
	s.m.mu.Unlock()
	r.end(f, err)
}

// readAhead is how many generated tokens a slot may hold that its reader
// has not taken yet: a slow client pauses its slot (the others go on)
// instead of the slot computing a reply nobody may read.
const readAhead = 16

// step runs one forward pass over every busy slot whose reader keeps up
// and hands out the sampled tokens. It reports whether there was any work.
func (s *scheduler) step() bool {
	defer s.countKV()
	// A caller that went away frees its slot now.
	for _, sl := range slices.Clone(s.active) {
		if sl.req.gone.Load() || sl.req.ctx.Err() != nil {
			s.release(sl, "", context.Cause(sl.req.ctx))
		}
	}
	if len(s.active) == 0 {
		return true
	}
	s.segs, s.owners = s.segs[:0], s.owners[:0]
	budget := s.batch.Rows()
	for _, sl := range s.active {
		if len(sl.rest) == 0 && sl.gen-int(sl.req.read.Load()) < readAhead {
			sl.one[0] = sl.next
			s.segs = append(s.segs, model.Segment{Session: sl.sess, Tokens: sl.one[:], Logits: true})
			s.owners = append(s.owners, sl)
			budget--
		}
	}
	if len(s.segs) > 0 {
		budget = min(budget, prefillWhileDecoding(s.batch.Rows()))
	}
	for _, sl := range s.active {
		if len(sl.rest) == 0 || budget <= 0 {
			continue
		}
		n := min(len(sl.rest), budget)
		s.segs = append(s.segs, model.Segment{Session: sl.sess, Tokens: sl.rest[:n], Logits: n == len(sl.rest)})
		s.owners = append(s.owners, sl)
		budget -= n
	}
	if len(s.segs) == 0 {
		return false
	}
	s.peak = max(s.peak, len(s.segs))
	if err := s.batch.Forward(s.segs); err != nil {
		// Forward checks before it changes anything, so the slots' caches
		// still hold what they list; end the requests of this step.
		for _, sl := range s.owners {
			s.release(sl, "", fmt.Errorf("engine: %w", err))
		}
		return true
	}
	for i, sl := range s.owners {
		seg := s.segs[i]
		sl.cached = append(sl.cached, seg.Tokens...)
		if len(sl.rest) > 0 {
			sl.rest = sl.rest[len(seg.Tokens):]
		}
		if logits := s.batch.Logits(i); logits != nil {
			s.sample(sl, logits)
		}
	}
	clear(s.segs) // drop the references to sessions and prompts
	return true
}

// sample picks sl's next token from logits and hands it out, or ends the
// request.
func (s *scheduler) sample(sl *slot, logits []float32) {
	r := sl.req
	tok := sl.smp.Sample(logits)
	if slices.Contains(r.params.StopTokens, tok) {
		s.release(sl, FinishEOG, nil)
		return
	}
	sl.smp.Accept(tok)
	sl.gen++
	r.put(tok)
	switch {
	// Stop before computing logits nobody will read.
	case r.params.MaxTokens > 0 && sl.gen >= r.params.MaxTokens:
		s.release(sl, FinishMaxTokens, nil)
	case sl.sess.Len() >= sl.sess.Cap():
		s.release(sl, FinishContext, nil)
	default:
		sl.next = tok
	}
}

func commonPrefix(a, b []int) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// countKV publishes how many tokens the slots' caches hold, for Stats.
func (s *scheduler) countKV() {
	n := 0
	for _, sl := range s.slots {
		n += len(sl.cached)
	}
	s.m.kvTokens.Store(int64(n))
}
