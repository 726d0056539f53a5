package model

import (
	"fmt"
	"sync"

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
		m.pool.MatMul(q, l.wq, xb, n)
		m.pool.MatMul(k, l.wk, xb, n)
		m.pool.MatMul(v, l.wv, xb, n)
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
		m.pool.MatMul(gate, l.gate, xb, n)
		m.pool.MatMul(up, l.up, xb, n)
		tensor.SwiGLU(gate, gate, up)
		m.pool.MatMul(o, l.down, gate, n)
		tensor.Add(x, o)
	}
	s.cache.Commit(n)
	last := x[(n-1)*E : n*E]
	tensor.RMSNorm(xb[:E], last, m.w.outNorm, c.RMSEps)
	m.pool.MatVec(s.logits, m.w.output, xb[:E])
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
// on one goroutine: starting helpers costs a few microseconds.
const parallelAttentionWork = 1 << 16

// attention computes causal multi-head attention for the n new tokens of
// layer li, whose keys and values are already in the cache, into s.att.
// The (token, head) pairs are independent, so they are dealt round-robin
// to as many goroutines as the pool has threads (round-robin because later
// tokens attend over more positions); the call returns when all are done.
func (s *Session) attention(li, pos0, n int) {
	c := s.m.Config
	items := n * c.Heads
	ctx := pos0 + n
	workers := min(s.m.pool.Threads(), items)
	if items*ctx*c.HeadDim < s.m.parallelAttention {
		workers = 1
	}
	if len(s.scores) < workers {
		s.scores = append(s.scores, make([][]float32, workers-len(s.scores))...)
	}
	for w := range workers {
		if cap(s.scores[w]) < ctx {
			s.scores[w] = make([]float32, ctx, max(2*cap(s.scores[w]), ctx))
		}
	}
	if workers == 1 {
		s.attend(li, pos0, n, 0, 1, s.scores[0])
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { s.attend(li, pos0, n, w, workers, s.scores[w]) })
	}
	wg.Wait()
}

// attend computes the (token, head) items first, first+stride, ... of the
// n new tokens, using scores as scratch. Query head h reads KV head
// h/(Heads/HeadsKV) (grouped-query attention).
func (s *Session) attend(li, pos0, n, first, stride int, scores []float32) {
	c := s.m.Config
	hd, qDim, kvDim := c.HeadDim, c.Heads*c.HeadDim, c.HeadsKV*c.HeadDim
	group := c.Heads / c.HeadsKV
	keys := s.cache.Keys(li, pos0+n)
	vals := s.cache.Values(li, pos0+n)
	for it := first; it < n*c.Heads; it += stride {
		i, h := it/c.Heads, it%c.Heads
		ctx := pos0 + i + 1 // causal: positions 0..pos0+i
		sc := scores[:ctx]
		qh := s.q[i*qDim+h*hd : i*qDim+(h+1)*hd]
		kvOff := (h / group) * hd
		for t := range ctx {
			sc[t] = tensor.Dot(qh, keys[t*kvDim+kvOff:t*kvDim+kvOff+hd]) * s.m.scale
		}
		tensor.Softmax(sc)
		out := s.att[i*qDim+h*hd : i*qDim+(h+1)*hd]
		clear(out)
		for t, p := range sc {
			tensor.Axpy(out, p, vals[t*kvDim+kvOff:t*kvDim+kvOff+hd])
		}
	}
}
