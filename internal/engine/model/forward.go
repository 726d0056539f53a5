package model

import (
	"fmt"
	"sync/atomic"

	"github.com/parley-chat/parley/internal/engine/tensor"
)

// forwardBatch runs n <= batch tokens at positions Len()..Len()+n-1
// through the network, leaving the last token's logits in s.logits.
func (s *Session) forwardBatch(tokens []int) error {
	m, c := s.m, s.m.Config
	n, pos0 := len(tokens), s.cache.Len()
	if err := s.cache.Reserve(n); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	E, qDim, kvDim := c.Embd, c.Heads*c.HeadDim, c.HeadsKV*c.HeadDim
	x, xb := s.x[:n*E], s.xb[:n*E]
	q, k, v := s.q[:n*qDim], s.k[:n*kvDim], s.v[:n*kvDim]
	for i, t := range tokens {
		m.w.embd.Row(t, x[i*E:(i+1)*E])
	}
	neox := c.RoPEStyle == RoPENeox
	for li := range m.w.layers {
		l := &m.w.layers[li]
		for i := range n {
			tensor.RMSNorm(xb[i*E:(i+1)*E], x[i*E:(i+1)*E], l.attnNorm, c.RMSEps)
		}
		s.prods[0] = tensor.Product{Dst: q, W: l.wq}
		s.prods[1] = tensor.Product{Dst: k, W: l.wk}
		s.prods[2] = tensor.Product{Dst: v, W: l.wv}
		m.pool.MatMulMany(s.prods[:3], xb, n)
		for i := range n {
			qi, ki, vi := q[i*qDim:(i+1)*qDim], k[i*kvDim:(i+1)*kvDim], v[i*kvDim:(i+1)*kvDim]
			addBias(qi, l.bq)
			addBias(ki, l.bk)
			addBias(vi, l.bv)
			if l.qNorm != nil {
				headNorm(qi, l.qNorm, c.HeadDim, c.RMSEps)
				headNorm(ki, l.kNorm, c.HeadDim, c.RMSEps)
			}
			tensor.RoPE(qi, pos0+i, c.HeadDim, c.RoPEDim, m.freqs, neox)
			tensor.RoPE(ki, pos0+i, c.HeadDim, c.RoPEDim, m.freqs, neox)
			s.cache.Put(li, pos0+i, ki, vi)
		}
		s.attention(li, pos0, n)
		o := s.o[:n*E]
		m.pool.MatMul(o, l.wo, s.att[:n*qDim], n)
		tensor.Add(x, o)

		for i := range n {
			tensor.RMSNorm(xb[i*E:(i+1)*E], x[i*E:(i+1)*E], l.ffnNorm, c.RMSEps)
		}
		gate, up := s.gate[:n*c.FFN], s.up[:n*c.FFN]
		s.prods[0] = tensor.Product{Dst: gate, W: l.gate}
		s.prods[1] = tensor.Product{Dst: up, W: l.up}
		m.pool.MatMulMany(s.prods[:2], xb, n)
		tensor.SwiGLU(gate, gate, up)
		m.pool.MatMul(o, l.down, gate, n)
		tensor.Add(x, o)
	}
	s.cache.Commit(n)
	last := x[(n-1)*E : n*E]
	tensor.RMSNorm(xb[:E], last, m.w.outNorm, c.RMSEps)
	m.pool.MatVec(s.logits, m.w.output, xb[:E])
	s.prods = [3]tensor.Product{} // drop the references into scratch
	return nil
}

// headNorm RMS-normalises every head of x in place.
func headNorm(x, w []float32, headDim int, eps float32) {
	for h := 0; h+headDim <= len(x); h += headDim {
		tensor.RMSNorm(x[h:h+headDim], x[h:h+headDim], w, eps)
	}
}

func addBias(x, b []float32) {
	if b != nil {
		tensor.Add(x, b)
	}
}

// parallelAttentionWork is the multiply-adds below which attention stays
// on one goroutine: handing work to a helper costs about a microsecond.
const parallelAttentionWork = 1 << 14

// attention computes causal multi-head attention for the n new tokens of
// layer li, whose keys and values are already in the cache, into s.att.
// The (token, head) pairs are independent, so they are spread over the
// pool in chunks of one item, each thread taking the next free one (later
// tokens attend over more positions, so items are uneven).
func (s *Session) attention(li, pos0, n int) {
	c := s.m.Config
	items := n * c.Heads
	ctx := pos0 + n
	j := &s.attn
	for w := range j.scores {
		if cap(j.scores[w]) < ctx {
			j.scores[w] = make([]float32, ctx, max(2*cap(j.scores[w]), ctx))
		}
	}
	j.li, j.pos0, j.n = li, pos0, n
	if items*ctx*c.HeadDim < s.m.parallelAttention {
		j.Run(0, items)
		return
	}
	s.m.pool.Run(items, 1, j)
}

// attendJob is one layer's attention as a tensor.Runner over (token,
// head) items.
type attendJob struct {
	s           *Session
	li, pos0, n int
	// One scores buffer per thread that can be in Run at once.
	scores [][]float32
	busy   []atomic.Bool
}

func newAttendJob(s *Session, threads int) attendJob {
	return attendJob{s: s, scores: make([][]float32, threads), busy: make([]atomic.Bool, threads)}
}

// Run computes items lo..hi with a free scores buffer.
func (j *attendJob) Run(lo, hi int) {
	for w := range j.busy {
		if j.busy[w].CompareAndSwap(false, true) {
			j.s.attend(j.li, j.pos0, j.n, lo, hi, j.scores[w])
			j.busy[w].Store(false)
			return
		}
	}
	panic("model: more concurrent attention runs than pool threads")
}

// attend computes the (token, head) items lo..hi of the n new tokens,
// using scores as scratch. Query head h reads KV head h/(Heads/HeadsKV)
// (grouped-query attention).
func (s *Session) attend(li, pos0, n, lo, hi int, scores []float32) {
	c := s.m.Config
	hd, qDim, kvDim := c.HeadDim, c.Heads*c.HeadDim, c.HeadsKV*c.HeadDim
	group := c.Heads / c.HeadsKV
	keys := s.cache.Keys(li, pos0+n)
	vals := s.cache.Values(li, pos0+n)
	for it := lo; it < hi; it++ {
		i, h := it/c.Heads, it%c.Heads
		ctx := pos0 + i + 1 // causal: positions 0..pos0+i
		sc := scores[:ctx]
		qh := s.q[i*qDim+h*hd : i*qDim+(h+1)*hd]
		kvOff := (h / group) * hd
		tensor.DotStrided(sc, qh, keys[kvOff:], kvDim, s.m.scale)
		tensor.Softmax(sc)
		out := s.att[i*qDim+h*hd : i*qDim+(h+1)*hd]
		clear(out)
		tensor.AxpyStrided(out, sc, vals[kvOff:], kvDim)
	}
}
