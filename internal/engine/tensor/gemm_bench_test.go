package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkGemm is prompt processing's MatMul on SmolLM2-135M's FFN
// shapes, single-threaded, at llama.cpp's micro-batch (512) and
// Parley's old default (64). cpu-GFLOP/s counts 2 flops per multiply-add
// over the thread's CPU time (steadier than wall time on a shared machine).
func BenchmarkGemm(b *testing.B) {
	r := rand.New(rand.NewPCG(41, 42))
	pool := NewPool(1) // keeps the scratch between calls, as a model's pool does
	defer pool.Close()
	for _, typ := range []Type{F32, F16, Q8_0, Q4_0, Q5_0, Q4_K, Q6_K} {
		for _, s := range [][2]int{{1536, 576}, {576, 1536}} {
			rows, cols := s[0], s[1]
			if cols%typ.BlockSize() != 0 {
				continue
			}
			m := randomMatrix(r, typ, rows, cols)
			for _, n := range []int{64, 512} {
				x := randomVec(r, n*cols)
				dst := make([]float32, n*rows)
				b.Run(fmt.Sprintf("%v_%dx%d_n%d", typ, rows, cols, n), func(b *testing.B) {
					defer cpuTimer(b)()
					c0 := threadCPU()
					for b.Loop() {
						pool.MatMul(dst, m, x, n)
					}
					if ns := float64(threadCPU()-c0) / float64(b.N); ns > 0 {
						b.ReportMetric(2*float64(rows*cols*n)/ns, "cpu-GFLOP/s")
					}
				})
			}
		}
	}
}

// BenchmarkGemmKernel times the float micro-kernel alone on one tile
// (four 576-wide rows against 64 vectors: weights in L1, panels in L2).
func BenchmarkGemmKernel(b *testing.B) {
	r := rand.New(rand.NewPCG(43, 44))
	const K, n = 576, 64
	w := randomVec(r, gemmRows*K)
	x := randomVec(r, n*K)
	for _, l := range tiers() {
		b.Run("F32/"+l.String(), func(b *testing.B) {
			setISA(b, l)
			pw := panelWidth()
			xp := make([]float32, (n+pw-1)/pw*pw*K)
			packF32(xp, x, K, n, K)
			out := make([]float32, n*gemmRows)
			defer cpuTimer(b)()
			c0 := threadCPU()
			for b.Loop() {
				gemmF32(w, K, 1, xp, K, n/pw, n, out, gemmRows)
			}
			if ns := float64(threadCPU()-c0) / float64(b.N); ns > 0 {
				b.ReportMetric(2*float64(gemmRows*K*n)/ns, "cpu-GFLOP/s")
			}
		})
	}
}

// BenchmarkGemmQKernel times the quantized micro-kernel alone on one
// tile against 64 vectors, for 576- and 1536-wide rows.
func BenchmarkGemmQKernel(b *testing.B) {
	r := rand.New(rand.NewPCG(45, 46))
	for _, K := range []int{576, 1536} {
		const n = 64
		nb := K / 32
		wt := make([]byte, nb*176)
		m := randomMatrix(r, Q8_0, gemmRows, K)
		for row := range gemmRows {
			decodeQ8_0Tile(wt, m.RowBytes(row), row, nb)
		}
		pw := panelWidth()
		a := newQ8Act(n * K)
		quantizeAct(&a, randomVec(r, n*K))
		views := make([]q8Act, n)
		for v := range views {
			views[v] = a.slice(v, K)
		}
		xq := make([]byte, (n+pw-1)/pw*gemmQPanelBytes(K, pw))
		packQRef(xq, views, n, (n+pw-1)/pw, nb, pw)
		out := make([]float32, n*gemmRows)
		b.Run(fmt.Sprintf("K%d", K), func(b *testing.B) {
			defer cpuTimer(b)()
			c0 := threadCPU()
			for b.Loop() {
				gemmQ(qSym, wt, xq, nb, n/pw, n, out, gemmRows)
			}
			if ns := float64(threadCPU()-c0) / float64(b.N); ns > 0 {
				b.ReportMetric(2*float64(gemmRows*K*n)/ns, "cpu-GFLOP/s")
			}
		})
	}
}

func BenchmarkPackF32(b *testing.B) {
	r := rand.New(rand.NewPCG(47, 48))
	const n, K = 64, 576
	x := randomVec(r, n*K)
	for _, l := range tiers() {
		b.Run(l.String(), func(b *testing.B) {
			setISA(b, l)
			xp := make([]float32, n*K)
			b.SetBytes(4 * n * K)
			for b.Loop() {
				packF32(xp, x, K, n, K)
			}
		})
	}
}

// BenchmarkRowKernels compares the tiers' mat-vec row kernels on a
// 256x1024 matrix (in L2), in thread CPU time.
func BenchmarkRowKernels(b *testing.B) {
	r := rand.New(rand.NewPCG(49, 50))
	const rows, cols = 256, 1024
	for _, typ := range []Type{Q8_0, Q4_0} {
		m := randomMatrix(r, typ, rows, cols)
		x := randomVec(r, cols)
		dst := make([]float32, rows)
		for _, l := range tiers() {
			b.Run(fmt.Sprintf("%v/%v", typ, l), func(b *testing.B) {
				setISA(b, l)
				b.SetBytes(int64(len(m.Data)))
				defer cpuTimer(b)()
				for b.Loop() {
					(*Pool)(nil).MatVec(dst, m, x)
				}
			})
		}
	}
}

// BenchmarkRowsN is the decode step of several sequences on one Q8_0
// matrix in L2 (576x576, SmolLM2-135M's attention width): the one-vector
// row kernel at n=1, the multi-vector one above, in thread CPU time per
// vector, so equal figures mean the kernel gains nothing from sharing the
// weights.
func BenchmarkRowsN(b *testing.B) {
	r := rand.New(rand.NewPCG(61, 62))
	const rows, cols = 576, 576
	m := randomMatrix(r, Q8_0, rows, cols)
	for _, n := range []int{1, 2, 4, 8, 16} {
		x := randomVec(r, n*cols)
		dst := make([]float32, n*rows)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			defer cpuTimer(b)()
			for b.Loop() {
				(*Pool)(nil).MatMul(dst, m, x, n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/vector")
		})
	}
}
