package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

var allTypes = []Type{F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K}

// randomMatrix makes rows x cols of type t; block types get random blocks,
// float types random normal values.
func randomMatrix(r *rand.Rand, t Type, rows, cols int) Matrix {
	m := Matrix{Type: t, Rows: rows, Cols: cols}
	switch t {
	case F32, F16, BF16:
		x := randomVec(r, rows*cols)
		m.Data = make([]byte, t.RowSize(rows*cols))
		if err := Quantize(t, x, m.Data); err != nil {
			panic(err)
		}
	default:
		m.Data = randomBlocks(r, t, rows*cols/t.BlockSize())
	}
	return m
}

func randomVec(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// refMatVec is the float64 product of the dequantized matrix with xs, and
// the bound Σ|w|·δ on how far a kernel may be from it when x is first
// quantized with per-element error δ (half a quantization step).
func refMatVec(m Matrix, x []float32, quantized bool) (want, bound []float64) {
	xr := make([]float64, len(x))
	step := make([]float64, len(x))
	for i := range x {
		xr[i] = float64(x[i])
	}
	if quantized {
		a := newQ8Act(len(x))
		quantizeActGeneric(&a, x)
		for i := range x {
			step[i] = float64(a.d[i/32]) / 2
		}
	}
	row := make([]float32, m.Cols)
	for r := 0; r < m.Rows; r++ {
		m.Row(r, row)
		var s, b, mag float64
		for i, w := range row {
			s += float64(w) * xr[i]
			b += math.Abs(float64(w)) * step[i]
			mag += math.Abs(float64(w) * xr[i])
		}
		want = append(want, s)
		// float32 accumulation slack on top of the quantization bound.
		bound = append(bound, b+1e-5*mag+1e-30)
	}
	return want, bound
}

func isQuant(t Type) bool { return t.BlockSize() > 1 }

func TestMatVecMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	pool := NewPool(3)
	defer pool.Close()
	for _, typ := range allTypes {
		for _, shape := range [][2]int{{1, 256}, {37, 512}, {64, 768}} {
			rows, cols := shape[0], shape[1]
			t.Run(fmt.Sprintf("%v_%dx%d", typ, rows, cols), func(t *testing.T) {
				m := randomMatrix(r, typ, rows, cols)
				x := randomVec(r, cols)
				want, bound := refMatVec(m, x, isQuant(typ))
				for _, p := range []*Pool{nil, pool} {
					got := make([]float32, rows)
					p.MatVec(got, m, x)
					for i := range got {
						if d := math.Abs(float64(got[i]) - want[i]); !(d <= bound[i]) {
							t.Fatalf("threads %d row %d: got %v want %v (|diff| %g > %g)", p.Threads(), i, got[i], want[i], d, bound[i])
						}
					}
				}
			})
		}
	}
}

// TestKernelsExact checks each row kernel against a float64 dot of the
// dequantized weights with the dequantized (already quantized) activation,
// which they must match to float32 accumulation error: this catches any
// indexing slip that the quantization-error bound above could hide.
func TestKernelsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, typ := range allTypes {
		if !isQuant(typ) {
			continue
		}
		t.Run(typ.String(), func(t *testing.T) {
			const cols = 1024
			m := randomMatrix(r, typ, 8, cols)
			x := randomVec(r, cols)
			a := newQ8Act(cols)
			quantizeActGeneric(&a, x)
			xq := make([]float64, cols)
			for i := range xq {
				xq[i] = float64(a.d[i/32]) * float64(a.qs[i])
			}
			_, gen := genericKernel(typ)
			_, fast := kernel(typ)
			w := make([]float32, cols)
			for row := 0; row < m.Rows; row++ {
				m.Row(row, w)
				var want, mag float64
				for i := range w {
					want += float64(w[i]) * xq[i]
					mag += math.Abs(float64(w[i]) * xq[i])
				}
				for name, k := range map[string]quantDot{"generic": gen, "dispatched": fast} {
					got := k(m.RowBytes(row), &a)
					if d := math.Abs(float64(got) - want); d > 1e-5*mag+1e-30 {
						t.Fatalf("%s row %d: got %v want %v (mag %v)", name, row, got, want, mag)
					}
				}
			}
		})
	}
}

func TestMatMulEqualsMatVec(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	pool := NewPool(2)
	defer pool.Close()
	for _, typ := range allTypes {
		t.Run(typ.String(), func(t *testing.T) {
			const rows, cols, n = 50, 512, 9
			m := randomMatrix(r, typ, rows, cols)
			x := randomVec(r, n*cols)
			got := make([]float32, n*rows)
			pool.MatMul(got, m, x, n)
			one := make([]float32, rows)
			w := make([]float32, cols)
			for j := 0; j < n; j++ {
				xj := x[j*cols : (j+1)*cols]
				pool.MatVec(one, m, xj)
				for i := range one {
					m.Row(i, w)
					var mag float64
					for k := range w {
						mag += math.Abs(float64(w[k] * xj[k]))
					}
					if !closeEnough(got[j*rows+i], one[i], mag) {
						t.Fatalf("vector %d row %d: MatMul %v, MatVec %v", j, i, got[j*rows+i], one[i])
					}
				}
			}
		})
	}
}

func TestMatVecPanicsOnMisuse(t *testing.T) {
	tests := []struct {
		name string
		m    Matrix
		x, d int
	}{
		{"short data", Matrix{Type: Q8_0, Rows: 2, Cols: 32, Data: make([]byte, 34)}, 32, 2},
		{"short x", Matrix{Type: Q8_0, Rows: 1, Cols: 64, Data: make([]byte, 68)}, 32, 1},
		{"short dst", Matrix{Type: F32, Rows: 2, Cols: 4, Data: make([]byte, 32)}, 4, 1},
		{"unsupported", Matrix{Type: Q2_K, Rows: 1, Cols: 256, Data: make([]byte, 84)}, 256, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			(*Pool)(nil).MatVec(make([]float32, tt.d), tt.m, make([]float32, tt.x))
		})
	}
}

func TestRowEmbedding(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	m := randomMatrix(r, Q6_K, 4, 512)
	all := make([]float32, 4*512)
	if err := Dequantize(Q6_K, m.Data, all); err != nil {
		t.Fatal(err)
	}
	row := make([]float32, 512)
	m.Row(2, row)
	for i, v := range row {
		if v != all[2*512+i] {
			t.Fatalf("element %d", i)
		}
	}
}

func TestPoolNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, n := range []int{0, 1, 2, 8} {
		p := NewPool(n)
		if want := max(n, 1); p.Threads() != want {
			t.Fatalf("NewPool(%d).Threads() = %d", n, p.Threads())
		}
		m := Matrix{Type: F32, Rows: 1000, Cols: 4, Data: make([]byte, 16000)}
		p.MatVec(make([]float32, 1000), m, make([]float32, 4))
		p.Close()
		p.Close() // idempotent
	}
	// Exited goroutines may take a moment to be reaped from the count.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("goroutines: %d before, %d after Close", before, after)
	}
	if (*Pool)(nil).Threads() != 1 {
		t.Fatal("nil pool threads")
	}
}

// TestPoolConcurrentCallers runs MatVecs from several goroutines on one pool
// (under -race this also checks the scratch-buffer reuse).
func TestPoolConcurrentCallers(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	pool := NewPool(2)
	defer pool.Close()
	m := randomMatrix(r, Q4_0, 300, 256)
	xs := [][]float32{randomVec(r, 256), randomVec(r, 256), randomVec(r, 256)}
	wants := make([][]float32, len(xs))
	for i, x := range xs {
		wants[i] = make([]float32, 300)
		(*Pool)(nil).MatVec(wants[i], m, x)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := make([]float32, 300)
			for it := 0; it < 50; it++ {
				k := (g + it) % len(xs)
				pool.MatVec(got, m, xs[k])
				for i := range got {
					if got[i] != wants[k][i] {
						errs <- fmt.Sprintf("goroutine %d iteration %d row %d: %v != %v", g, it, i, got[i], wants[k][i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func TestQuantizeActRoundsLikeHardware(t *testing.T) {
	x := make([]float32, 32)
	x[0] = 127 // d = 1, so values are their own levels
	x[1], x[2], x[3], x[4] = 2.5, -2.5, 3.5, 0.49999997
	a := newQ8Act(32)
	quantizeActGeneric(&a, x)
	if a.d[0] != 1 || a.qs[1] != 2 || a.qs[2] != -2 || a.qs[3] != 4 || a.qs[4] != 0 {
		t.Fatalf("got d=%v qs=%v", a.d[0], a.qs[:5])
	}
	if a.sum[0] != 127+2-2+4 || a.sum16[0] != a.sum[0] || a.sum16[1] != 0 {
		t.Fatalf("sums %v %v", a.sum, a.sum16)
	}
}

func TestPoolUsableAfterClose(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	p := NewPool(2)
	p.Close()
	m := randomMatrix(r, Q8_0, 100, 64)
	x := randomVec(r, 64)
	got, want := make([]float32, 100), make([]float32, 100)
	p.MatVec(got, m, x)
	(*Pool)(nil).MatVec(want, m, x)
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("row %d: %v vs %v", i, got[i], want[i])
		}
	}
}
