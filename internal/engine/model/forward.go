package model

import (
	"fmt"

	"github.com/parley-chat/parley/internal/engine/tensor"
)

// forwardBatch runs n <= batch tokens at positions Len()..Len()+n-1
// through the network, leaving the last token's logits in s.logits. The
// matrix products and attention run on the pool; so do, for a batch, the
// per-token steps between them (norms, RoPE, residual adds).
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
	o := s.o[:n*E]
	gate, up := s.gate[:n*c.FFN], s.up[:n*c.FFN]
	j := &s.tokens
	j.n, j.pos0 = n, pos0
	for li := range m.w.layers {
		l := &m.w.layers[li]
		j.li = li
		if li == 0 {
			j.run(stageAttnNorm)
		}
		s.prods[0] = tensor.Product{Dst: q, W: l.wq}
		s.prods[1] = tensor.Product{Dst: k, W: l.wk}
		s.prods[2] = tensor.Product{Dst: v, W: l.wv}
		m.pool.MatMulMany(s.prods[:3], xb, n)
		j.run(stageQKV)
		s.attention(li, pos0, n)
		m.pool.MatMul(o, l.wo, s.att[:n*qDim], n)
		j.run(stageFFNNorm)
		s.prods[0] = tensor.Product{Dst: gate, W: l.gate}
		s.prods[1] = tensor.Product{Dst: up, W: l.up}
		m.pool.MatMulMany(s.prods[:2], xb, n)
		j.run(stageSwiGLU)
		m.pool.MatMul(o, l.down, gate, n)
		j.run(stageResidual)
	}
	s.cache.Commit(n)
	last := x[(n-1)*E : n*E]
	tensor.RMSNorm(xb[:E], last, m.w.outNorm, c.RMSEps)
	m.pool.MatVec(s.logits, m.w.output, xb[:E])
	s.prods = [3]tensor.Product{} // drop the references into scratch
	return nil
}

// tokenStage is a step of a layer done token by token.
type tokenStage uint8

const (
	stageAttnNorm tokenStage = iota // xb = RMSNorm(x) for the layer's attention
	stageQKV                        // biases, q/k norms, RoPE; keys and values into the cache
	stageFFNNorm                    // x += o (attention out); xb = RMSNorm(x) for the FFN
	stageSwiGLU                     // gate = SwiGLU(gate, up)
	stageResidual                   // x += o (FFN out); xb = RMSNorm(x) for the next layer
)

// tokenJob runs one stage of layer li over the tokens of a batch; as a
// tensor.Runner its items are tokens.
type tokenJob struct {
	s       *Session
	li      int
	n, pos0 int
	stage   tokenStage
}

// tokenChunk is the tokens per pool item: each costs a few microseconds
// of norms and rotations, so smaller chunks would be mostly hand-over.
const tokenChunk = 8

func (j *tokenJob) run(stage tokenStage) {
	j.stage = stage
	j.s.m.pool.Run(j.n, tokenChunk, j)
}

func (j *tokenJob) Run(lo, hi int) {
	s := j.s
	m, c := s.m, s.m.Config
	l := &m.w.layers[j.li]
	E, qDim, kvDim, F := c.Embd, c.Heads*c.HeadDim, c.HeadsKV*c.HeadDim, c.FFN
	for i := lo; i < hi; i++ {
		x, xb, o := s.x[i*E:(i+1)*E], s.xb[i*E:(i+1)*E], s.o[i*E:(i+1)*E]
		switch j.stage {
		case stageAttnNorm:
			tensor.RMSNorm(xb, x, l.attnNorm, c.RMSEps)
		case stageQKV:
			qi, ki, vi := s.q[i*qDim:(i+1)*qDim], s.k[i*kvDim:(i+1)*kvDim], s.v[i*kvDim:(i+1)*kvDim]
			addBias(qi, l.bq)
			addBias(ki, l.bk)
			addBias(vi, l.bv)
			if l.qNorm != nil {
				headNorm(qi, l.qNorm, c.HeadDim, c.RMSEps)
				headNorm(ki, l.kNorm, c.HeadDim, c.RMSEps)
			}
			neox := c.RoPEStyle == RoPENeox
			tensor.RoPE(qi, j.pos0+i, c.HeadDim, c.RoPEDim, m.freqs, neox)
			tensor.RoPE(ki, j.pos0+i, c.HeadDim, c.RoPEDim, m.freqs, neox)
			s.cache.Put(j.li, j.pos0+i, ki, vi)
		case stageFFNNorm:
			tensor.Add(x, o)
			tensor.RMSNorm(xb, x, l.ffnNorm, c.RMSEps)
		case stageSwiGLU:
			g := s.gate[i*F : (i+1)*F]
			tensor.SwiGLU(g, g, s.up[i*F:(i+1)*F])
		case stageResidual:
			tensor.Add(x, o)
			if j.li+1 < len(m.w.layers) {
				tensor.RMSNorm(xb, x, m.w.layers[j.li+1].attnNorm, c.RMSEps)
			}
		}
	}
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
