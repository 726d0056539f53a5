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
	E, qDim, kvDim, F := c.Embd, c.Heads*c.HeadDim, c.HeadsKV*c.HeadDim, c.FFN
	x, xb := s.x[:n*E], s.xb[:n*E]
	q, k, v := s.q[:n*qDim], s.k[:n*kvDim], s.v[:n*kvDim]
	for i, t := range tokens {
		m.w.embd.Row(t, x[i*E:(i+1)*E])
	}
	j := &s.tokens
	j.n, j.pos0, j.first = n, pos0, 0
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
		if li == len(m.w.layers)-1 {
			// Only the last token's output feeds the logits: with every
			// key and value cached, the rest runs for it alone.
			j.first = n - 1
		}
		f, nf := j.first, n-j.first
		s.attention(li, pos0, f, n)
		o := s.o[f*E : n*E]
		m.pool.MatMul(o, l.wo, s.att[f*qDim:n*qDim], nf)
		j.run(stageFFNNorm)
		gate, up := s.gate[f*F:n*F], s.up[f*F:n*F]
		s.prods[0] = tensor.Product{Dst: gate, W: l.gate}
		s.prods[1] = tensor.Product{Dst: up, W: l.up}
		m.pool.MatMulMany(s.prods[:2], xb[f*E:n*E], nf)
		j.run(stageSwiGLU)
		m.pool.MatMul(o, l.down, gate, nf)
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

// tokenJob runs one stage of layer li over tokens first..n-1 of a batch;
// as a tensor.Runner its items are those tokens, counted from first.
type tokenJob struct {
	s              *Session
	li             int
	n, pos0, first int
	stage          tokenStage
}

// tokenChunk is the tokens per pool item: each costs a few microseconds
// of norms and rotations, so smaller chunks would be mostly hand-over.
const tokenChunk = 8

func (j *tokenJob) run(stage tokenStage) {
	j.stage = stage
	j.s.m.pool.Run(j.n-j.first, tokenChunk, j)
}

func (j *tokenJob) Run(lo, hi int) {
	s := j.s
	m, c := s.m, s.m.Config
	l := &m.w.layers[j.li]
	E, qDim, kvDim, F := c.Embd, c.Heads*c.HeadDim, c.HeadsKV*c.HeadDim, c.FFN
	for i := j.first + lo; i < j.first+hi; i++ {
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

// attention computes causal multi-head attention for new tokens f..n-1
// (of n) of layer li, whose keys and values are already in the cache,
// into s.att.
func (s *Session) attention(li, pos0, f, n int) {
	c := s.m.Config
	qDim := c.Heads * c.HeadDim
	keys, vals := s.cache.Keys(li, pos0+n), s.cache.Values(li, pos0+n)
	s.m.pool.Attend(s.att[f*qDim:], s.q[f*qDim:], keys, vals, n-f, pos0+f, tensor.Attention{
		Heads: c.Heads, HeadsKV: c.HeadsKV, HeadDim: c.HeadDim, Scale: s.m.scale,
		MinParallel: s.m.parallelAttention,
	})
}
