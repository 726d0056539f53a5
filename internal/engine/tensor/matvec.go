package tensor

import "fmt"

// floatDot is a row kernel for float weight types; quantDot for block types.
type (
	floatDot func(w []byte, x []float32) float32
	quantDot func(w []byte, a *q8Act) float32
	// rowsKernel sets dst[i] to the dot of row i (rows rs bytes apart from
	// the start of w) with a.
	rowsKernel func(dst []float32, w []byte, rs int, a *q8Act)
	// rowsNKernel sets dst[v*ldd+i] to the dot of row i < rows with
	// vector v0+v (of nb blocks) of a, for v < n <= maxRowsVectors: each
	// weight block is read once for all n vectors. It reads a.t, which
	// transposeQ8 fills.
	rowsNKernel func(dst []float32, ldd, rows int, w []byte, rs int, a *q8Act, nb, v0, n int)
	// floatRows sets dst[i] to the dot of row i (rows rs bytes apart
	// from the start of w) with x, for float weight types.
	floatRows func(dst []float32, w []byte, rs int, x []float32)
)

// maxRowsVectors is the most vectors one rowsNKernel call takes.
const maxRowsVectors = 16

// quad is a row kernel over four consecutive nb-block vectors of a batch.
type quad func(w []byte, a *q8Act, nb int, out *[4]float32)

// genericKernel returns the reference row kernel for t.
func genericKernel(t Type) (floatDot, quantDot) {
	switch t {
	case F32:
		return dotF32RowGeneric, nil
	case F16:
		return dotF16Generic, nil
	case BF16:
		return dotBF16Generic, nil
	case Q8_0:
		return nil, dotQ8_0Generic
	case Q4_0:
		return nil, dotQ4_0Generic
	case Q4_1:
		return nil, dotQ4_1Generic
	case Q5_0:
		return nil, dotQ5_0Generic
	case Q5_1:
		return nil, dotQ5_1Generic
	case Q4_K:
		return nil, dotQ4_KGeneric
	case Q5_K:
		return nil, dotQ5_KGeneric
	case Q6_K:
		return nil, dotQ6_KGeneric
	}
	return nil, nil
}

// kernel returns the fastest row kernel this CPU runs for t.
func kernel(t Type) (floatDot, quantDot) {
	f, q := genericKernel(t)
	if af, aq := archKernel(t); af != nil || aq != nil {
		return af, aq
	}
	return f, q
}

func quantizeAct(a *q8Act, x []float32) {
	if !archQuantizeAct(a, x) {
		quantizeActGeneric(a, x)
	}
}

func checkMatVec(op string, dst []float32, w Matrix, x []float32, n int) {
	if err := w.Check(); err != nil {
		panic(fmt.Sprintf("tensor.%s: %v", op, err))
	}
	if n < 0 || len(x) < n*w.Cols || len(dst) < n*w.Rows {
		panic(fmt.Sprintf("tensor.%s: %v %dx%d with %d vectors needs x of %d and dst of %d, have %d and %d",
			op, w.Type, w.Rows, w.Cols, n, n*w.Cols, n*w.Rows, len(x), len(dst)))
	}
}

// kernelSet is the kernels of one type, built once: kernel and
// archKernel4 make closures, which would be an allocation per call.
type kernelSet struct {
	fdot  floatDot
	qdot  quantDot
	q4    quad
	rows  rowsKernel  // single-vector fast path, or nil
	rowsN rowsNKernel // a few vectors (decoding several sequences), or nil
	frows floatRows   // float types: fdot over many rows in one call, or nil
}

var kernels = buildKernels()

// buildKernels makes the table for the current isa.
func buildKernels() (tbl [MXFP4 + 1]kernelSet) {
	for t := range tbl {
		f, q := kernel(Type(t))
		tbl[t] = kernelSet{f, q, archKernel4(Type(t)), archRows(Type(t)), archRowsN(Type(t)), archFloatRows(Type(t))}
	}
	return tbl
}

// usesRowsN reports whether n vectors take the multi-vector row kernel.
func (k kernelSet) usesRowsN(n int) bool {
	return k.rowsN != nil && (n > 1 || k.rows == nil)
}

func kernelsOf(t Type) kernelSet {
	if int(t) < len(kernels) {
		return kernels[t]
	}
	return kernelSet{}
}

// MatVec computes dst[r] = dot(row r of w, x) for every row, splitting rows
// across the pool. For block types x is first quantized to 8-bit blocks of 32
// and rows are dotted in integer arithmetic, as ggml does. It panics on a
// malformed matrix or short slices (caller bugs; see Matrix.Check).
func (p *Pool) MatVec(dst []float32, w Matrix, x []float32) {
	p.MatMul(dst, w, x, 1)
}

// MatMul multiplies n input vectors x[j*Cols:(j+1)*Cols] by w, writing
// dst[j*Rows+r]. Each weight row is streamed from memory once and dotted
// with all n vectors while it is in cache (batched prompt processing).
// Results agree with MatVec to float rounding, not bit for bit: some types
// use four-vector kernels that sum in another order.
func (p *Pool) MatMul(dst []float32, w Matrix, x []float32, n int) {
	prods := [1]Product{{Dst: dst, W: w}}
	p.MatMulMany(prods[:], x, n)
}

// Product is one matrix of a MatMulMany: Dst[j*W.Rows+r] = row r of W
// times vector j.
type Product struct {
	Dst []float32
	W   Matrix
}

// MatMulMany computes several products of the same n input vectors (the
// query, key and value projections; the gate and up projections) in one
// pass over the pool: x is quantized once for all of them and the threads
// meet once instead of once per matrix. Every W must have the same Cols.
func (p *Pool) MatMulMany(prods []Product, x []float32, n int) {
	if len(prods) == 0 {
		return
	}
	cols := prods[0].W.Cols
	for _, pr := range prods {
		checkMatVec("MatMul", pr.Dst, pr.W, x, n)
		if pr.W.Cols != cols {
			panic("tensor.MatMulMany: matrices of different widths")
		}
	}
	if n == 0 {
		return
	}
	if p == nil || !p.mu.TryLock() {
		var j matMulJob
		j.run(nil, prods, x, n)
		return
	}
	p.mm.run(p, prods, x, n)
	p.mu.Unlock()
}

// rows does rows lo..hi of product i.
func (j *matMulJob) rows(i, lo, hi int) {
	w, dst, k := j.prods[i].W, j.prods[i].Dst, j.ks[i]
	n, cols, x := j.n, j.cols, j.x
	rs := w.Type.RowSize(cols)
	rows := w.Rows
	if k.frows != nil {
		// Vector by vector: the chunk's rows stay in cache for the next
		// one, and each (row, vector) is the same dot as fdot's.
		for v := range n {
			k.frows(dst[v*rows+lo:v*rows+hi], w.Data[lo*rs:hi*rs], rs, x[v*cols:(v+1)*cols])
		}
		return
	}
	if k.fdot != nil {
		for r := lo; r < hi; r++ {
			row := w.Data[r*rs : (r+1)*rs]
			for v := 0; v < n; v++ {
				dst[v*rows+r] = k.fdot(row, x[v*cols:(v+1)*cols])
			}
		}
		return
	}
	if n == 1 && k.rows != nil {
		k.rows(dst[lo:hi], w.Data[lo*rs:hi*rs], rs, &j.views[0])
		return
	}
	if k.usesRowsN(n) {
		for v := 0; v < n; v += maxRowsVectors {
			k.rowsN(dst[v*rows+lo:], rows, hi-lo, w.Data[lo*rs:hi*rs], rs, &j.act, cols/32, v, min(maxRowsVectors, n-v))
		}
		return
	}
	nb := cols / 32
	var out *[4]float32 // escapes into the indirect call: allocate only for batches
	if k.q4 != nil && n >= 4 {
		out = new([4]float32)
	}
	for r := lo; r < hi; r++ {
		row := w.Data[r*rs : (r+1)*rs]
		v := 0
		if out != nil {
			for ; v+4 <= n; v += 4 {
				k.q4(row, &j.quads[v/4], nb, out)
				dst[v*rows+r] = out[0]
				dst[(v+1)*rows+r] = out[1]
				dst[(v+2)*rows+r] = out[2]
				dst[(v+3)*rows+r] = out[3]
			}
		}
		for ; v < n; v++ {
			dst[v*rows+r] = k.qdot(row, &j.views[v])
		}
	}
}
