package model

import (
	"fmt"

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
func (s *Session) attention(li, pos0, n int) {
	c := s.m.Config
	s.m.pool.Attend(s.att, s.q, s.cache.Keys(li, pos0+n), s.cache.Values(li, pos0+n), n, pos0, tensor.Attention{
		Heads: c.Heads, HeadsKV: c.HeadsKV, HeadDim: c.HeadDim, Scale: s.m.scale,
		MinParallel: s.m.parallelAttention,
	})
}
