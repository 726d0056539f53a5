package model

import (
	"github.com/parley-chat/parley/internal/engine/tensor"
)

// tokenStage is a step of a layer done token by token.
type tokenStage uint8

const (
	stageAttnNorm tokenStage = iota // xb = RMSNorm(x) for the layer's attention
	stageQKV                        // biases, q/k norms, RoPE; keys and values into the cache
	stageFFNNorm                    // x += o (attention out); xb = RMSNorm(x) for the FFN
	stageSwiGLU                     // gate = SwiGLU(gate, up)
	stageResidual                   // x += o (FFN out); xb = RMSNorm(x) for the next layer
)

// tokenJob runs one stage of layer li over rows 0..n-1 of a batch; as a
// tensor.Runner its items are those rows.
type tokenJob struct {
	b     *Batch
	li, n int
	stage tokenStage
}

// tokenChunk is the tokens per pool item: each costs a few microseconds
// of norms and rotations, so smaller chunks would be mostly hand-over.
const tokenChunk = 8

func (j *tokenJob) run(stage tokenStage) {
	j.stage = stage
	j.b.m.pool.Run(j.n, tokenChunk, j)
}

func (j *tokenJob) Run(lo, hi int) {
	s := j.b
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
			pos := int(s.rowPos[i])
			tensor.RoPE(qi, pos, c.HeadDim, c.RoPEDim, m.freqs, neox)
			tensor.RoPE(ki, pos, c.HeadDim, c.RoPEDim, m.freqs, neox)
			s.segs[s.rowSeg[i]].Session.cache.Put(j.li, pos, ki, vi)
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
