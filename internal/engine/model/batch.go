package model

import (
	"fmt"

	"github.com/parley-chat/parley/internal/engine/tensor"
)

// Segment is one sequence's part of a batched forward pass: tokens that
// follow what its Session already holds.
type Segment struct {
	Session *Session
	Tokens  []int
	// Logits asks for the logits predicting the token after the last one
	// (a prompt chunk that is not the prompt's end needs none).
	Logits bool
}

// Batch is the scratch of forward passes that run several sequences
// through the network at once: their tokens are the rows of one batch,
// so every weight matrix is read once per pass for all of them (mat-mat
// products), while attention runs per sequence over its own KV cache. A
// Batch is not safe for concurrent use; the Sessions of one Forward must
// be distinct.
type Batch struct {
	m          *Model
	rows, outs int
	// Scratch, sized for rows tokens.
	x, xb, q, k, v, att, o []float32
	gate, up               []float32
	logits                 []float32 // outs rows of Vocab
	prods                  [3]tensor.Product
	job                    tokenJob

	// The pass in progress.
	segs     []Segment
	rowSeg   []int32 // the segment of each row
	rowPos   []int32 // the position of each row in its sequence
	outRow   []int   // rows whose logits are wanted, ascending
	segLogit []int   // per segment: its index in outRow, or -1
	singles  []single
	scores   [][]float32 // per single: its scores
	sj       singlesJob
}

// NewBatch returns scratch for passes of at most rows tokens in all, of
// which at most outs ask for logits.
func (m *Model) NewBatch(rows, outs int) *Batch {
	rows, outs = max(rows, 1), max(min(outs, rows), 1)
	c := m.Config
	E, qDim, kvDim, F := c.Embd, c.Heads*c.HeadDim, c.HeadsKV*c.HeadDim, c.FFN
	b := &Batch{
		m: m, rows: rows, outs: outs,
		x: make([]float32, rows*E), xb: make([]float32, rows*E), o: make([]float32, rows*E),
		q: make([]float32, rows*qDim), att: make([]float32, rows*qDim),
		k: make([]float32, rows*kvDim), v: make([]float32, rows*kvDim),
		gate: make([]float32, rows*F), up: make([]float32, rows*F),
		logits: make([]float32, outs*c.Vocab),
		rowSeg: make([]int32, rows), rowPos: make([]int32, rows),
		outRow: make([]int, 0, outs),
	}
	b.job.b = b
	return b
}

// Rows is the most tokens one Forward takes.
func (b *Batch) Rows() int { return b.rows }

// Forward appends each segment's tokens to its session in one pass and
// leaves, for the segments that ask, the logits after their last token
// (Logits(i)). On error no session has changed.
func (b *Batch) Forward(segs []Segment) error {
	c := b.m.Config
	rows, outs := 0, 0
	for _, sg := range segs {
		if len(sg.Tokens) == 0 {
			return fmt.Errorf("model: no tokens to process")
		}
		if s := sg.Session; s.Len()+len(sg.Tokens) > s.Cap() {
			return fmt.Errorf("model: %d tokens after %d do not fit in %d: %w", len(sg.Tokens), s.Len(), s.Cap(), ErrContextFull)
		}
		for _, t := range sg.Tokens {
			if t < 0 || t >= c.Vocab {
				return fmt.Errorf("model: token id %d outside the vocabulary of %d", t, c.Vocab)
			}
		}
		rows += len(sg.Tokens)
		if sg.Logits {
			outs++
		}
	}
	if rows > b.rows || outs > b.outs {
		return fmt.Errorf("model: a pass of %d tokens (%d with logits) exceeds the batch of %d (%d)", rows, outs, b.rows, b.outs)
	}
	if rows == 0 {
		return nil
	}
	for _, sg := range segs {
		if err := sg.Session.cache.Reserve(len(sg.Tokens)); err != nil {
			return fmt.Errorf("model: %w", err)
		}
	}
	b.segs = segs
	b.forward(rows)
	for _, sg := range segs {
		sg.Session.cache.Commit(len(sg.Tokens))
	}
	b.segs = nil
	b.prods = [3]tensor.Product{} // drop the references into scratch
	return nil
}

// Logits are the logits after segment i of the last Forward, nil if it
// did not ask for them. The slice is reused by the next Forward.
func (b *Batch) Logits(i int) []float32 {
	if i >= len(b.segLogit) || b.segLogit[i] < 0 {
		return nil
	}
	V := b.m.Config.Vocab
	o := b.segLogit[i]
	return b.logits[o*V : (o+1)*V]
}

// forward runs the rows of b.segs, whose cache positions are reserved,
// through the network. The matrix products and attention run on the pool;
// so do, for a batch, the per-token steps between them (norms, RoPE,
// residual adds).
func (b *Batch) forward(n int) {
	m, c := b.m, b.m.Config
	E, qDim, kvDim, F := c.Embd, c.Heads*c.HeadDim, c.HeadsKV*c.HeadDim, c.FFN
	x, xb := b.x[:n*E], b.xb[:n*E]
	q, k, v := b.q[:n*qDim], b.k[:n*kvDim], b.v[:n*kvDim]
	b.outRow, b.segLogit = b.outRow[:0], b.segLogit[:0]
	r := 0
	for si, sg := range b.segs {
		pos0 := sg.Session.Len()
		for i, t := range sg.Tokens {
			m.w.embd.Row(t, x[r*E:(r+1)*E])
			b.rowSeg[r], b.rowPos[r] = int32(si), int32(pos0+i)
			r++
		}
		lo := -1
		if sg.Logits {
			lo = len(b.outRow)
			b.outRow = append(b.outRow, r-1)
		}
		b.segLogit = append(b.segLogit, lo)
	}
	j := &b.job
	j.n = n
	last := len(m.w.layers) - 1
	for li := range m.w.layers {
		l := &m.w.layers[li]
		j.li = li
		if li == 0 {
			j.run(stageAttnNorm)
		}
		b.prods[0] = tensor.Product{Dst: q, W: l.wq}
		b.prods[1] = tensor.Product{Dst: k, W: l.wk}
		b.prods[2] = tensor.Product{Dst: v, W: l.wv}
		m.pool.MatMulMany(b.prods[:3], xb, n)
		j.run(stageQKV)
		if li == last {
			// Only the rows whose logits are wanted feed the output: with
			// every key and value cached, the rest of the layer runs for
			// them alone, moved to the front of the scratch.
			j.n = len(b.outRow)
			if j.n == 0 {
				break
			}
			b.gather(x, E)
			b.gather(q, qDim)
			b.attentionLast(li)
		} else {
			b.attention(li)
		}
		nf := j.n
		o := b.o[:nf*E]
		m.pool.MatMul(o, l.wo, b.att[:nf*qDim], nf)
		j.run(stageFFNNorm)
		gate, up := b.gate[:nf*F], b.up[:nf*F]
		b.prods[0] = tensor.Product{Dst: gate, W: l.gate}
		b.prods[1] = tensor.Product{Dst: up, W: l.up}
		m.pool.MatMulMany(b.prods[:2], xb[:nf*E], nf)
		j.run(stageSwiGLU)
		m.pool.MatMul(o, l.down, gate, nf)
		j.run(stageResidual)
	}
	outs := len(b.outRow)
	if outs == 0 {
		return
	}
	for i := range outs {
		tensor.RMSNorm(xb[i*E:(i+1)*E], x[i*E:(i+1)*E], m.w.outNorm, c.RMSEps)
	}
	m.pool.MatMul(b.logits[:outs*c.Vocab], m.w.output, xb[:outs*E], outs)
}

// gather moves the wanted rows of s (width w) to its front. Rows only move
// down (outRow[i] >= i, ascending), so no row is overwritten before it is
// read.
func (b *Batch) gather(s []float32, w int) {
	for i, r := range b.outRow {
		if r != i {
			copy(s[i*w:(i+1)*w], s[r*w:(r+1)*w])
		}
	}
}

// attention computes causal multi-head attention of layer li for every
// row into b.att, each segment over its own cache (whose keys and values
// for the new rows are already stored).
func (b *Batch) attention(li int) {
	qDim := b.m.Config.Heads * b.m.Config.HeadDim
	b.singles = b.singles[:0]
	r := 0
	for _, sg := range b.segs {
		n := len(sg.Tokens)
		pos0 := sg.Session.Len()
		if n == 1 {
			b.singles = append(b.singles, single{s: sg.Session, row: r, pos: pos0})
		} else {
			b.attend(sg.Session, li, b.att[r*qDim:], b.q[r*qDim:], n, pos0)
		}
		r += n
	}
	b.attendSingles(li)
}

// attentionLast is attention for the gathered rows of the last layer: one
// token, the segment's last, each.
func (b *Batch) attentionLast(li int) {
	b.singles = b.singles[:0]
	for _, sg := range b.segs {
		if sg.Logits {
			pos := sg.Session.Len() + len(sg.Tokens) - 1
			b.singles = append(b.singles, single{s: sg.Session, row: len(b.singles), pos: pos})
		}
	}
	b.attendSingles(li)
}

// single is one decoded token's attention: row of the batch, position in
// session s.
type single struct {
	s        *Session
	row, pos int
}

// attendSingles computes the attention of the one-token segments in
// b.singles. One of them alone is spread over the pool by head (Attend);
// several run side by side, a sequence per pool item, so a decode step
// hands work to the pool once per layer rather than once per sequence.
// Each head is computed as Attend computes a single token, with the same
// operations in the same order, so the results are the same.
func (b *Batch) attendSingles(li int) {
	if len(b.singles) == 1 {
		sg := b.singles[0]
		qDim := b.m.Config.Heads * b.m.Config.HeadDim
		b.attend(sg.s, li, b.att[sg.row*qDim:], b.q[sg.row*qDim:], 1, sg.pos)
		return
	}
	if len(b.singles) == 0 {
		return
	}
	for len(b.scores) < len(b.singles) {
		b.scores = append(b.scores, nil)
	}
	b.sj.b, b.sj.li = b, li
	b.m.pool.Run(len(b.singles), 1, &b.sj)
}

// singlesJob runs attendSingles' items: one sequence each.
type singlesJob struct {
	b  *Batch
	li int
}

func (j *singlesJob) Run(lo, hi int) {
	b, c := j.b, j.b.m.Config
	hd, qDim, kvDim := c.HeadDim, c.Heads*c.HeadDim, c.HeadsKV*c.HeadDim
	group := c.Heads / c.HeadsKV
	for i := lo; i < hi; i++ {
		sg := b.singles[i]
		ctx := sg.pos + 1
		// An F16 cache is read as it is stored; others as floats.
		var keys, vals tensor.KV
		half := false
		if b.m.readHalf {
			keys.H, vals.H, half = sg.s.cache.Half(j.li, ctx)
		}
		if !half {
			keys.F, vals.F = sg.s.cache.Keys(j.li, ctx), sg.s.cache.Values(j.li, ctx)
		}
		if cap(b.scores[i]) < ctx {
			b.scores[i] = make([]float32, ctx, max(ctx, 2*cap(b.scores[i])))
		}
		sc := b.scores[i][:ctx]
		q, out := b.q[sg.row*qDim:(sg.row+1)*qDim], b.att[sg.row*qDim:(sg.row+1)*qDim]
		for h := range c.Heads {
			tensor.AttendHead(out[h*hd:(h+1)*hd], q[h*hd:(h+1)*hd], sc, keys, vals, (h/group)*hd, kvDim, b.m.scale)
		}
	}
}

// attend runs n queries at positions pos0.. of session s against its
// cache of layer li.
func (b *Batch) attend(s *Session, li int, out, q []float32, n, pos0 int) {
	c := b.m.Config
	a := tensor.Attention{
		Heads: c.Heads, HeadsKV: c.HeadsKV, HeadDim: c.HeadDim, Scale: b.m.scale,
		MinParallel: b.m.parallelAttention,
	}
	if n == 1 && b.m.readHalf {
		if hk, hv, ok := s.cache.Half(li, pos0+n); ok {
			b.m.pool.AttendF16(out, q, hk, hv, pos0, a)
			return
		}
	}
	keys, vals := s.cache.Keys(li, pos0+n), s.cache.Values(li, pos0+n)
	b.m.pool.Attend(out, q, keys, vals, n, pos0, a)
}
