package tensor

import "fmt"

// floatDot is a row kernel for float weight types; quantDot for block types.
type (
	floatDot func(w []byte, x []float32) float32
	quantDot func(w []byte, a *q8Act) float32
)

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
	checkMatVec("MatMul", dst, w, x, n)
	if n == 0 || w.Rows == 0 {
		return
	}
	fdot, qdot := kernel(w.Type)
	rs := w.Type.RowSize(w.Cols)
	rows, cols := w.Rows, w.Cols
	if fdot != nil {
		p.parallel(rows, p.rowChunk(rows, rs*n), func(lo, hi int) {
			for r := lo; r < hi; r++ {
				row := w.Data[r*rs : (r+1)*rs]
				for j := 0; j < n; j++ {
					dst[j*rows+r] = fdot(row, x[j*cols:(j+1)*cols])
				}
			}
		})
		return
	}
	act := p.getAct(n * cols)
	defer p.putAct(act)
	// Views are made once: taking the address of a per-iteration copy would
	// make it escape to the heap on every call of the (indirect) kernel.
	views := make([]q8Act, n)
	for j := range views {
		views[j] = act.slice(j, cols)
	}
	// Quantizing is cheap next to the product but not free for big batches,
	// so spread it over the pool by vector.
	p.parallel(n, 1, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			quantizeAct(&views[j], x[j*cols:(j+1)*cols])
		}
	})
	// Groups of four vectors share each weight block's decoding where an
	// assembly kernel for that exists.
	q4 := archKernel4(w.Type)
	var quads []q8Act
	if q4 != nil {
		quads = make([]q8Act, n/4)
		for g := range quads {
			quads[g] = act.slice(g, 4*cols)
		}
	}
	nb := cols / 32
	p.parallel(rows, p.rowChunk(rows, rs*n), func(lo, hi int) {
		var out [4]float32
		for r := lo; r < hi; r++ {
			row := w.Data[r*rs : (r+1)*rs]
			j := 0
			if q4 != nil {
				for ; j+4 <= n; j += 4 {
					q4(row, &quads[j/4], nb, &out)
					dst[j*rows+r] = out[0]
					dst[(j+1)*rows+r] = out[1]
					dst[(j+2)*rows+r] = out[2]
					dst[(j+3)*rows+r] = out[3]
				}
			}
			for ; j < n; j++ {
				dst[j*rows+r] = qdot(row, &views[j])
			}
		}
	})
}
