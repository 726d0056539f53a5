package tensor

import (
	"fmt"
	"sync/atomic"
)

// Attention describes causal grouped-query attention over a KV cache:
// query head h reads KV head h/(Heads/HeadsKV).
type Attention struct {
	Heads, HeadsKV, HeadDim int
	// Scale multiplies the scores, usually 1/sqrt(HeadDim).
	Scale float32
	// MinParallel is the multiply-adds below which a call stays on the
	// calling goroutine (handing work to a helper costs about a
	// microsecond).
	MinParallel int
}

// Attend computes attention for n new tokens at positions pos0..pos0+n-1,
// whose keys and values are already in keys and vals (position-major,
// HeadsKV*HeadDim floats per position, at least pos0+n positions): for
// token i and head h,
//
//	out[i*Heads*HeadDim + h*HeadDim:][:HeadDim] = Σ_{t<=pos0+i} p_t v_t,
//	p = softmax_t(Scale * q_{i,h}·k_t)
//
// with q laid out like out. A batch of tokens (a prompt) runs on the GEMM
// kernels: for a block of queries, scores against every key they see,
// a softmax per query, then the weighted sum of values; a single token
// does one head at a time with dot products.
func (p *Pool) Attend(out, q, keys, vals []float32, n, pos0 int, a Attention) {
	a.check("Attend", n, pos0, len(out), len(q), len(keys), len(vals))
	p.attend(out, q, keys, vals, nil, nil, n, pos0, a)
}

// AttendF16 is Attend for one token over fp16 keys and values (an F16 KV
// cache read as it is stored), head by head with DotStridedF16 and
// AxpyStridedF16.
func (p *Pool) AttendF16(out, q []float32, keys, vals []uint16, pos0 int, a Attention) {
	a.check("AttendF16", 1, pos0, len(out), len(q), len(keys), len(vals))
	p.attend(out, q, nil, nil, keys, vals, 1, pos0, a)
}

// check panics on a malformed call (caller bugs): n tokens after pos0
// with slices of these lengths.
func (a Attention) check(op string, n, pos0, out, q, keys, vals int) {
	if a.Heads <= 0 || a.HeadsKV <= 0 || a.Heads%a.HeadsKV != 0 || a.HeadDim <= 0 || n < 0 || pos0 < 0 {
		panic(fmt.Sprintf("tensor.%s: %d heads, %d KV heads of %d, %d tokens after %d", op, a.Heads, a.HeadsKV, a.HeadDim, n, pos0))
	}
	qDim, kvDim := a.Heads*a.HeadDim, a.HeadsKV*a.HeadDim
	if out < n*qDim || q < n*qDim || keys < (pos0+n)*kvDim || vals < (pos0+n)*kvDim {
		panic(fmt.Sprintf("tensor.%s: %d tokens after %d need q and out of %d, keys and values of %d; have %d, %d, %d, %d",
			op, n, pos0, n*qDim, (pos0+n)*kvDim, q, out, keys, vals))
	}
}

// attend runs a call over float keys and values or fp16 ones (the other
// pair nil): on p's helpers when p is free, else on the calling goroutine.
func (p *Pool) attend(out, q, keys, vals []float32, keys16, vals16 []uint16, n, pos0 int, a Attention) {
	if n == 0 {
		return
	}
	if p == nil || !p.mu.TryLock() {
		var j attnJob
		j.run(nil, out, q, keys, vals, keys16, vals16, n, pos0, a)
		return
	}
	p.at.run(p, out, q, keys, vals, keys16, vals16, n, pos0, a)
	p.mu.Unlock()
}

// attnJob is one Attend call; as a Runner its items are (token, head)
// pairs or, on the GEMM path, (KV head, panel of tokens) pairs.
type attnJob struct {
	out, q, keys, vals []float32
	keys16, vals16     []uint16 // AttendF16's, instead of keys and vals
	n, pos0            int
	a                  Attention
	gemm               bool
	grouped            bool          // items are (token, KV head): its query heads three at a time
	scratch            []attnScratch // one per thread that can be in Run at once
}

// attnScratch is one thread's buffers.
type attnScratch struct {
	busy atomic.Bool
	sc   []float32 // scores: one row per query of the item
	xp   []float32 // packed queries, then packed probabilities
	o    []float32 // results before they are scattered to out
}

// attnGemmMin is the batch from which Attend uses the GEMM kernels.
const attnGemmMin = 4

func (j *attnJob) run(p *Pool, out, q, keys, vals []float32, keys16, vals16 []uint16, n, pos0 int, a Attention) {
	j.out, j.q, j.keys, j.vals, j.keys16, j.vals16 = out, q, keys, vals, keys16, vals16
	j.n, j.pos0, j.a = n, pos0, a
	hd, group, pw := a.HeadDim, a.Heads/a.HeadsKV, panelWidth()
	ctx := pos0 + n
	j.gemm = n >= attnGemmMin && hd%gemmRows == 0
	items := n * a.Heads
	j.grouped = !j.gemm && group >= 3 && attend3Fits(hd)
	var sc, xp, o int
	if j.grouped {
		items, sc = n*a.HeadsKV, 3*ctx
	} else if j.gemm {
		items = a.HeadsKV * ((n + pw - 1) / pw)
		ldc := (ctx + gemmRows - 1) &^ (gemmRows - 1)
		sc, xp, o = group*pw*ldc, group*pw*max(hd, ctx), group*pw*hd
	} else {
		sc = ctx
	}
	threads := p.Threads()
	if len(j.scratch) < threads {
		j.scratch = make([]attnScratch, threads)
	}
	for i := range j.scratch {
		s := &j.scratch[i]
		s.sc, s.xp, s.o = grow(s.sc, sc), grow(s.xp, xp), grow(s.o, o)
	}
	// Work: about ctx/2 keys per query on average, twice (scores, sums).
	if items == 1 || n*a.Heads*ctx*hd < a.MinParallel {
		j.Run(0, items)
	} else {
		p.runOwned(items, 1, j)
	}
	j.out, j.q, j.keys, j.vals, j.keys16, j.vals16 = nil, nil, nil, nil, nil, nil
}

func (j *attnJob) Run(lo, hi int) {
	s := j.claim()
	for it := lo; it < hi; it++ {
		switch {
		case j.gemm:
			j.panel(it, s)
		case j.grouped:
			j.group(it, s.sc)
		default:
			j.head(it, s.sc)
		}
	}
	s.busy.Store(false)
}

func (j *attnJob) claim() *attnScratch {
	for i := range j.scratch {
		if s := &j.scratch[i]; s.busy.CompareAndSwap(false, true) {
			return s
		}
	}
	panic("tensor: more concurrent Attend runs than pool threads")
}

// head does item it = (token i, head h) with dot products.
func (j *attnJob) head(it int, scores []float32) {
	a := j.a
	hd, qDim := a.HeadDim, a.Heads*a.HeadDim
	i, h := it/a.Heads, it%a.Heads
	ctx := j.pos0 + i + 1 // causal: positions 0..pos0+i
	kvOff := (h / (a.Heads / a.HeadsKV)) * hd
	AttendHead(j.out[i*qDim+h*hd:i*qDim+(h+1)*hd], j.q[i*qDim+h*hd:i*qDim+(h+1)*hd], scores[:ctx],
		KV{F: j.keys, H: j.keys16}, KV{F: j.vals, H: j.vals16}, kvOff, a.HeadsKV*hd, a.Scale)
}

// group does item it = (token i, KV head kh): the query heads sharing kh
// three at a time (attend3), the rest one by one.
func (j *attnJob) group(it int, scores []float32) {
	a := j.a
	hd, qDim, g := a.HeadDim, a.Heads*a.HeadDim, a.Heads/a.HeadsKV
	i, kh := it/a.HeadsKV, it%a.HeadsKV
	ctx := j.pos0 + i + 1 // causal: positions 0..pos0+i
	keys, vals := KV{F: j.keys, H: j.keys16}, KV{F: j.vals, H: j.vals16}
	off, stride := kh*hd, a.HeadsKV*hd
	first := i*qDim + kh*g*hd
	h := 0
	for ; h+3 <= g; h += 3 {
		lo, hi := first+h*hd, first+(h+3)*hd
		attend3(j.out[lo:hi], j.q[lo:hi], scores[:3*ctx], keys, vals, off, stride, a.Scale)
	}
	for ; h < g; h++ {
		lo := first + h*hd
		AttendHead(j.out[lo:lo+hd], j.q[lo:lo+hd], scores[:ctx], keys, vals, off, stride, a.Scale)
	}
}

// attend3 is AttendHead for three query heads sharing a KV head (q and o
// three heads side by side, sc three rows of scores): one pass over the
// keys and one over the values for the three, where the assembly has it,
// with the same bits as three AttendHead calls.
func attend3(o, q, sc []float32, keys, vals KV, off, stride int, scale float32) {
	if archAttend3(o, q, sc, keys, vals, off, stride, scale) {
		return
	}
	hd, ctx := len(q)/3, len(sc)/3
	for g := range 3 {
		AttendHead(o[g*hd:(g+1)*hd], q[g*hd:(g+1)*hd], sc[g*ctx:(g+1)*ctx], keys, vals, off, stride, scale)
	}
}

// KV is one layer's cached keys or values, rows of all KV heads side by
// side: as floats (F) or, read as stored, fp16 (H); one of the two.
type KV struct {
	F []float32
	H []uint16
}

// AttendHead runs one query head q of one token over len(sc) cached
// positions: scores sc = scale·K·q against the key columns from off of
// rows stride wide, their softmax, and o = Σ sc[t]·V[t] over the same
// columns of the values.
func AttendHead(o, q, sc []float32, keys, vals KV, off, stride int, scale float32) {
	if keys.H != nil {
		DotStridedF16(sc, q, keys.H[off:], stride, scale)
	} else {
		DotStrided(sc, q, keys.F[off:], stride, scale)
	}
	Softmax(sc)
	clear(o)
	if vals.H != nil {
		AxpyStridedF16(o, sc, vals.H[off:], stride)
	} else {
		AxpyStrided(o, sc, vals.F[off:], stride)
	}
}

// panel does item it = (KV head kh, panel of pw tokens from i0) for the
// group of query heads sharing kh, one packed panel per head: scores
// S = K·Q over the T keys the last token sees (rows of four keys), the
// causal softmax of each query's row, then O = Vᵀ·P four dimensions at a
// time, scattered to out.
func (j *attnJob) panel(it int, s *attnScratch) {
	a := j.a
	hd, group, pw := a.HeadDim, a.Heads/a.HeadsKV, panelWidth()
	qDim, kvDim := a.Heads*hd, a.HeadsKV*hd
	np := (j.n + pw - 1) / pw
	kh, i0 := it/np, it%np*pw
	nv := min(pw, j.n-i0)
	T := j.pos0 + i0 + nv // keys seen by the panel's last query
	ldc := (T + gemmRows - 1) &^ (gemmRows - 1)
	xp, sc, o := s.xp, s.sc[:group*pw*ldc], s.o[:group*pw*hd]
	for g := range group {
		h := kh*group + g
		packF32(xp[g*pw*hd:], j.q[i0*qDim+h*hd:], qDim, nv, hd)
	}
	keys := j.keys[kh*hd:]
	full := T &^ (gemmRows - 1)
	for t := 0; t < full; t += gemmRows {
		gemmF32(keys[t*kvDim:], kvDim, 1, xp, hd, group, group*pw, sc[t:], ldc)
	}
	if full < T { // the last keys, zero-padded to four rows
		w := o[:gemmRows*hd]
		clear(w)
		for t := full; t < T; t++ {
			copy(w[(t-full)*hd:(t-full+1)*hd], keys[t*kvDim:])
		}
		gemmF32(w, hd, 1, xp, hd, group, group*pw, sc[full:], ldc)
	}
	for g := range group {
		for lane := range nv {
			row := sc[(g*pw+lane)*ldc : (g*pw+lane)*ldc+T]
			ctx := j.pos0 + i0 + lane + 1
			Scale(row[:ctx], a.Scale)
			Softmax(row[:ctx])
			clear(row[ctx:])
		}
		packF32(xp[g*pw*T:], sc[g*pw*ldc:], ldc, nv, T)
	}
	vals := j.vals[kh*hd:]
	for d := 0; d < hd; d += gemmRows {
		gemmF32(vals[d:], 1, kvDim, xp, T, group, group*pw, o[d:], hd)
	}
	for g := range group {
		h := kh*group + g
		for lane := range nv {
			copy(j.out[(i0+lane)*qDim+h*hd:][:hd], o[(g*pw+lane)*hd:])
		}
	}
}
