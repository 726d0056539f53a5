package tensor

import "sync/atomic"

// matMulJob is one MatMulMany call. It runs in phases over the pool:
// quantizing the input vectors, packing them into panels, then work items
// (rows of one product against a block of vectors).
type matMulJob struct {
	prods   []Product
	ks      []kernelSet
	modes   []mulMode
	x       []float32
	n, cols int
	phase   jobPhase
	// Row-kernel path: x quantized per vector.
	act   q8Act
	views []q8Act // per vector
	quads []q8Act // per group of four vectors
	trans bool    // a multi-vector row kernel runs: lay out act.t too
	// GEMM path: x packed into panels of pw vectors.
	pw      int
	xf      []float32 // float panels (gemm_ref.go)
	xq      []byte    // quantized panels (gemm_quant.go)
	items   []mulItem
	scratch []gemmScratch // one per thread that can be in Run at once
}

type jobPhase uint8

const (
	phaseQuantize jobPhase = iota // items are vectors
	phasePackF                    // items are panels
	phasePackQ                    // items are panels
	phaseWork                     // items are j.items
)

// mulMode is how one product is computed.
type mulMode uint8

const (
	modeRows  mulMode = iota // row kernels: each weight row against every vector
	modeGemmF                // float GEMM: four rows against panels of vectors
	modeGemmQ                // quantized GEMM
)

// mulItem is rows [r0, r1) of product prod against panels [p0, p1) (the
// row-kernel mode ignores the panels: it does every vector).
type mulItem struct {
	prod, r0, r1, p0, p1 int
}

// gemmScratch is one thread's buffers, claimed for one Run.
type gemmScratch struct {
	busy atomic.Bool
	wt   []float32 // a four-row float tile (decoded or zero-padded)
	out  []float32 // the results of a tile of fewer than four rows
	wq   []byte    // a four-row quantized tile
}

// gemmMinVectors is the batch from which the GEMM kernels beat the row
// kernels: below it a panel is mostly padding.
const gemmMinVectors = 4

// gemmBlockBytes is the packed activations a block of vectors may take:
// a block is reused against every weight row, so it should stay in a
// core's L2 (typically 1-2 MiB) next to the weights streaming through.
const gemmBlockBytes = 384 << 10

// rowsNMaxVectors is the batch up to which the multi-vector row kernels,
// where a type has them, take the place of the GEMM: they need no tile
// decoding and no panel padding, which dominate the GEMM at the few
// vectors of a decode step of several sequences (streaming a SmolLM2-135M
// Q8_0 model, 4 sequences: 14-18 ms a step against 24 ms), and a
// sequence's decode step gives the same bits batched or alone. From about
// 8 vectors the GEMM catches up; at 12-16 it is ahead.
const rowsNMaxVectors = 8

// modeOf picks the mode for weights of type t against n vectors.
func modeOf(t Type, n int) mulMode {
	if n < gemmMinVectors || (n <= rowsNMaxVectors && kernelsOf(t).rowsN != nil) {
		return modeRows
	}
	switch t {
	case F32, F16, BF16:
		return modeGemmF
	}
	if gemmQuantTile(t) != nil {
		return modeGemmQ
	}
	return modeRows
}

// run does the call, on p's helpers when p is non-nil (its owner).
func (j *matMulJob) run(p *Pool, prods []Product, x []float32, n int) {
	cols := prods[0].W.Cols
	j.prods, j.x, j.n, j.cols = append(j.prods[:0], prods...), x, n, cols
	j.ks, j.modes = j.ks[:0], j.modes[:0]
	j.pw = panelWidth()
	var quantize, packF, packQ bool
	j.trans = false
	for _, pr := range prods {
		k := kernelsOf(pr.W.Type)
		m := modeOf(pr.W.Type, n)
		j.ks = append(j.ks, k)
		j.modes = append(j.modes, m)
		quantize = quantize || (m == modeRows && k.fdot == nil)
		j.trans = j.trans || (m == modeRows && k.usesRowsN(n))
		packF = packF || m == modeGemmF
		packQ = packQ || m == modeGemmQ
	}
	np := (n + j.pw - 1) / j.pw
	if quantize {
		j.prepareAct(n, cols)
		j.phase = phaseQuantize
		if n == 1 {
			j.Run(0, 1)
		} else {
			// Quantizing is cheap next to the product but not free for
			// big batches, so spread it over the pool by vector.
			p.runOwned(n, 1, j)
		}
	}
	if packF {
		j.xf = grow(j.xf, np*j.pw*cols)
		j.phase = phasePackF
		p.runOwned(np, 1, j)
	}
	if packQ {
		j.xq = grow(j.xq, np*gemmQPanelBytes(cols, j.pw))
		j.phase = phasePackQ
		p.runOwned(np, 1, j)
	}
	j.plan(p.Threads())
	j.phase = phaseWork
	p.runOwned(len(j.items), 1, j)
	clear(j.prods) // drop references to the caller's memory
	j.x = nil
}

// grow returns s resized to n, reallocating (at least doubling, as a
// context grows token by token) only when its capacity is short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, max(n, 2*cap(s)))
	}
	return s[:n]
}

// runOwned is Run by the owner of p.mu (or on a nil pool).
func (p *Pool) runOwned(total, chunk int, r Runner) {
	if p == nil || p.threads == 1 {
		r.Run(0, total)
		return
	}
	p.runLocked(total, max(chunk, 1), r)
}

// prepareAct sizes the activation buffers and views for n vectors.
func (j *matMulJob) prepareAct(n, cols int) {
	if cap(j.act.qs) < n*cols {
		j.act = newQ8Act(n * cols)
	}
	a := &j.act
	a.qs, a.d, a.sum, a.s = a.qs[:n*cols], a.d[:n*cols/32], a.sum[:n*cols/32], a.s[:n*cols/32]
	a.sum16 = a.sum16[:n*cols/16]
	// Views are made once: taking the address of a per-iteration copy would
	// make it escape to the heap on every call of the (indirect) kernel.
	j.views = j.views[:0]
	tb := 0
	if j.trans {
		tb = transBytes(cols / 32)
		a.t = grow(a.t, n*tb)
	}
	for v := range n {
		j.views = append(j.views, a.slice(v, cols))
		if j.trans {
			j.views[v].t = a.t[v*tb : (v+1)*tb]
		}
	}
	j.quads = j.quads[:0]
	for g := range n / 4 {
		j.quads = append(j.quads, a.slice(g, 4*cols))
	}
}

// plan cuts the products into work items: for the row kernels, chunks of
// rows as Pool.rowChunk sizes them; for the GEMM, blocks of vectors whose
// panels stay in cache, each cut into chunks of rows (a multiple of four),
// about eight items per thread in all.
func (j *matMulJob) plan(threads int) {
	j.items = j.items[:0]
	n, cols, pw := j.n, j.cols, j.pw
	np := (n + pw - 1) / pw
	wt, out, wq := 0, 0, 0
	for i, pr := range j.prods {
		rows := pr.W.Rows
		if j.modes[i] == modeRows {
			chunk := rowChunk(threads, rows, pr.W.Type.RowSize(cols)*n)
			for r := 0; r < rows; r += chunk {
				j.items = append(j.items, mulItem{i, r, min(r+chunk, rows), 0, 0})
			}
			continue
		}
		panelBytes := 4 * cols * pw
		if j.modes[i] == modeGemmQ {
			panelBytes = gemmQPanelBytes(cols, pw)
			wq = max(wq, gemmQTileBytes(pr.W.Type, cols))
		} else {
			wt = max(wt, gemmRows*cols)
		}
		vb := min(np, max(1, gemmBlockBytes/panelBytes))
		if g := gemmPanelGroup(); vb > g {
			vb -= vb % g
		}
		out = max(out, vb*pw*gemmRows)
		nvb := (np + vb - 1) / vb
		chunk := rows * nvb / (8 * threads)
		chunk = max(chunk, minChunkWork/max(1, cols*vb*pw/16)) // per row: cols*vectors MACs, ~16 per ns
		chunk = min((chunk+gemmRows-1)/gemmRows*gemmRows, (rows+gemmRows-1)/gemmRows*gemmRows)
		chunk = max(chunk, gemmRows)
		for p := 0; p < np; p += vb {
			for r := 0; r < rows; r += chunk {
				j.items = append(j.items, mulItem{i, r, min(r+chunk, rows), p, min(p+vb, np)})
			}
		}
	}
	if len(j.scratch) < threads {
		j.scratch = make([]gemmScratch, threads)
	}
	for i := range j.scratch {
		s := &j.scratch[i]
		s.wt, s.out, s.wq = grow(s.wt, wt), grow(s.out, out), grow(s.wq, wq)
	}
}

// rowChunk picks a chunk of rows for rows of rowWork bytes of weights each
// (times the vectors they meet): about eight chunks per thread so the atomic
// counter balances uneven progress, at least minChunkWork bytes so a
// helper's share pays for handing it over (tiny models run
// single-threaded), rounded to 16 rows so chunks never share a cache line
// of dst.
func rowChunk(threads, rows, rowWork int) int {
	c := rows / (8 * threads)
	c = max(c, minChunkWork/max(rowWork, 1))
	c = (c + 15) &^ 15
	return max(c, 16)
}

// minChunkWork is the least work worth handing to a helper: ~1µs of
// streaming at in-cache speeds.
const minChunkWork = 16 << 10

func (j *matMulJob) Run(lo, hi int) {
	switch j.phase {
	case phaseQuantize:
		for v := lo; v < hi; v++ {
			quantizeAct(&j.views[v], j.x[v*j.cols:(v+1)*j.cols])
			if j.trans {
				transposeQ8(j.views[v].t, &j.views[v])
			}
		}
	case phasePackF:
		pw, cols := j.pw, j.cols
		nv := min(j.n, hi*pw) - lo*pw
		packF32(j.xf[lo*pw*cols:hi*pw*cols], j.x[lo*pw*cols:], cols, nv, cols)
	case phasePackQ:
		j.packQ(lo, hi)
	case phaseWork:
		s := j.claim()
		for _, it := range j.items[lo:hi] {
			switch j.modes[it.prod] {
			case modeRows:
				j.rows(it.prod, it.r0, it.r1)
			case modeGemmF:
				j.gemmF(it, s)
			case modeGemmQ:
				j.gemmQ(it, s)
			}
		}
		s.busy.Store(false)
	}
}

// claim returns a free scratch set; the caller frees it.
func (j *matMulJob) claim() *gemmScratch {
	for i := range j.scratch {
		if s := &j.scratch[i]; s.busy.CompareAndSwap(false, true) {
			return s
		}
	}
	panic("tensor: more concurrent MatMul runs than pool threads")
}

// gemmF does a float GEMM item: each four-row tile (F32 rows read in
// place, other types decoded) against the item's panels.
func (j *matMulJob) gemmF(it mulItem, s *gemmScratch) {
	pr := j.prods[it.prod]
	w, K, pw := pr.W, j.cols, j.pw
	xp := j.xf[it.p0*K*pw : it.p1*K*pw]
	np, nv := it.p1-it.p0, min(j.n, it.p1*pw)-it.p0*pw
	rs := w.Type.RowSize(K)
	for r := it.r0; r < it.r1; r += gemmRows {
		rows := min(gemmRows, it.r1-r)
		var wt []float32
		if w.Type == F32 && rows == gemmRows {
			wt = bytesF32(w.Data[r*rs : (r+rows)*rs])
		} else {
			wt = s.wt[:gemmRows*K]
			for i := range rows {
				decodeFloatRow(w.Type, wt[i*K:(i+1)*K], w.Data[(r+i)*rs:(r+i+1)*rs])
			}
			clear(wt[rows*K:])
		}
		j.storeTile(pr, r, rows, it.p0, nv, s, func(out []float32, ldc int) {
			gemmF32(wt, K, 1, xp, K, np, nv, out, ldc)
		})
	}
}

// storeTile runs kernel for the tile at rows r..r+rows of pr against nv
// vectors from panel p0 on: straight into Dst for a full tile, through
// scratch for a partial one (the kernel always stores four rows).
func (j *matMulJob) storeTile(pr Product, r, rows, p0, nv int, s *gemmScratch, kernel func(out []float32, ldc int)) {
	R := pr.W.Rows
	v0 := p0 * j.pw
	if rows == gemmRows {
		kernel(pr.Dst[v0*R+r:], R)
		return
	}
	out := s.out[:nv*gemmRows]
	kernel(out, gemmRows)
	for v := range nv {
		copy(pr.Dst[(v0+v)*R+r:(v0+v)*R+r+rows], out[v*gemmRows:])
	}
}
