package tensor

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// cpuTimer locks the goroutine to its thread and returns a func that
// reports cpu-ns/op (defer it).
func cpuTimer(b *testing.B) func() {
	runtime.LockOSThread()
	c := threadCPU()
	return func() {
		if c != 0 && b.N > 0 {
			b.ReportMetric(float64(threadCPU()-c)/float64(b.N), "cpu-ns/op")
		}
		runtime.UnlockOSThread()
	}
}

// reportCPU adds thread-CPU-time metrics (see threadCPU): cpu-ns/op and the
// GB/s the kernel would stream given a whole core.
func reportCPU(b *testing.B, cpu0 int64, bytes int) {
	if cpu0 == 0 || b.N == 0 {
		return
	}
	ns := float64(threadCPU()-cpu0) / float64(b.N)
	b.ReportMetric(ns, "cpu-ns/op")
	b.ReportMetric(float64(bytes)/ns, "cpu-GB/s")
}

// Shapes from SmolLM2-135M (hidden 576, FFN 1536) and a larger 2048² layer.
// Names are TYPE_ROWSxCOLS; K-quants need cols divisible by 256.
func benchShapes(t Type) [][2]int {
	if t.BlockSize() == qk {
		return [][2]int{{576, 1536}, {2048, 2048}}
	}
	return [][2]int{{1536, 576}, {576, 1536}, {2048, 2048}}
}

// BenchmarkMatVec reports weight bytes streamed per second (b.SetBytes is the
// matrix size), single-threaded and on a 2-thread pool.
func BenchmarkMatVec(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, threads := range []int{1, 2} {
		pool := NewPool(threads)
		for _, typ := range allTypes {
			for _, s := range benchShapes(typ) {
				m := randomMatrix(r, typ, s[0], s[1])
				x := randomVec(r, s[1])
				dst := make([]float32, s[0])
				b.Run(fmt.Sprintf("%v_%dx%d/t%d", typ, s[0], s[1], threads), func(b *testing.B) {
					b.SetBytes(int64(len(m.Data)))
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					cpu0 := threadCPU()
					for b.Loop() {
						pool.MatVec(dst, m, x)
					}
					if threads == 1 {
						reportCPU(b, cpu0, len(m.Data))
					}
				})
			}
		}
		pool.Close()
	}
}

// BenchmarkMatMul is batched prompt processing: 32 vectors per weight pass.
// SetBytes counts the weights once per op, as they are streamed once.
func BenchmarkMatMul(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 32
	for _, threads := range []int{1, 2} {
		pool := NewPool(threads)
		for _, typ := range []Type{F32, F16, Q8_0, Q4_0, Q4_K, Q6_K} {
			rows, cols := 1536, 576
			if typ.BlockSize() == qk {
				rows, cols = 576, 1536
			}
			m := randomMatrix(r, typ, rows, cols)
			x := randomVec(r, n*cols)
			dst := make([]float32, n*rows)
			b.Run(fmt.Sprintf("%v_%dx%d_n%d/t%d", typ, rows, cols, n, threads), func(b *testing.B) {
				b.SetBytes(int64(len(m.Data)))
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				cpu0 := threadCPU()
				for b.Loop() {
					pool.MatMul(dst, m, x, n)
				}
				if threads == 1 {
					reportCPU(b, cpu0, len(m.Data))
				}
			})
		}
		pool.Close()
	}
}

// BenchmarkRowDot times one row kernel on cache-resident data (4096
// columns), generic and dispatched, to isolate arithmetic speed from memory.
func BenchmarkRowDot(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	const cols = 4096
	x := randomVec(r, cols)
	a := newQ8Act(cols)
	quantizeActGeneric(&a, x)
	for _, typ := range allTypes {
		m := randomMatrix(r, typ, 1, cols)
		gf, gq := genericKernel(typ)
		ff, fq := kernel(typ)
		for _, k := range []struct {
			name string
			f    floatDot
			q    quantDot
		}{{"generic", gf, gq}, {"dispatched", ff, fq}} {
			b.Run(typ.String()+"/"+k.name, func(b *testing.B) {
				b.SetBytes(int64(len(m.Data)))
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				var sink float32
				cpu0 := threadCPU()
				for b.Loop() {
					if k.f != nil {
						sink += k.f(m.Data, x)
					} else {
						sink += k.q(m.Data, &a)
					}
				}
				reportCPU(b, cpu0, len(m.Data))
				_ = sink
			})
		}
	}
}

// BenchmarkQuadKernel compares the four-vector MatMul kernels with four
// calls of the single-vector kernel (one 4096-column row).
func BenchmarkQuadKernel(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	const cols = 4096
	for _, typ := range []Type{Q8_0, Q4_0, Q5_0, Q4_K, Q6_K} {
		m := randomMatrix(r, typ, 1, cols)
		a := newQ8Act(4 * cols)
		quantizeAct(&a, randomVec(r, 4*cols))
		views := []q8Act{a.slice(0, cols), a.slice(1, cols), a.slice(2, cols), a.slice(3, cols)}
		_, single := kernel(typ)
		q4 := archKernel4(typ)
		if q4 == nil {
			continue
		}
		b.Run(typ.String()+"/single4", func(b *testing.B) {
			defer cpuTimer(b)()
			for b.Loop() {
				for v := range views {
					single(m.Data, &views[v])
				}
			}
		})
		b.Run(typ.String()+"/quad", func(b *testing.B) {
			defer cpuTimer(b)()
			var out [4]float32
			for b.Loop() {
				q4(m.Data, &a, cols/32, &out)
			}
		})
	}
}

func BenchmarkQuantizeAct(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	x := randomVec(r, 1536)
	a := newQ8Act(1536)
	b.SetBytes(4 * 1536)
	for b.Loop() {
		quantizeAct(&a, x)
	}
}

func BenchmarkOps(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	x, y, w := randomVec(r, 1536), randomVec(r, 1536), randomVec(r, 1536)
	dst := make([]float32, 1536)
	freqs := RoPEFreqs(64, 10000)
	q := randomVec(r, 576)
	b.Run("RMSNorm_576", func(b *testing.B) {
		defer cpuTimer(b)()
		for b.Loop() {
			RMSNorm(dst[:576], x[:576], w[:576], 1e-5)
		}
	})
	b.Run("SwiGLU_1536", func(b *testing.B) {
		defer cpuTimer(b)()
		for b.Loop() {
			SwiGLU(dst, x, y)
		}
	})
	b.Run("Softmax_1024", func(b *testing.B) {
		defer cpuTimer(b)()
		for b.Loop() {
			copy(dst, x[:1024])
			Softmax(dst[:1024])
		}
	})
	b.Run("Dot_64", func(b *testing.B) {
		defer cpuTimer(b)()
		for b.Loop() {
			Dot(x[:64], y[:64])
		}
	})
	b.Run("Axpy_64", func(b *testing.B) {
		defer cpuTimer(b)()
		for b.Loop() {
			Axpy(dst[:64], 0.5, x[:64])
		}
	})
	b.Run("RoPE_9x64", func(b *testing.B) {
		defer cpuTimer(b)()
		for b.Loop() {
			RoPE(q, 100, 64, 64, freqs, true)
		}
	})
}

// BenchmarkSmolLM2Token runs the mat-vecs of one decode step of a
// SmolLM2-135M-shaped model (30 layers of q/k/v/o 576², 192x576 k/v, FFN
// 1536, tied 49152x576 output head), with weights far larger than cache, so
// ns/op is the mat-vec time per generated token (tok/s = 1e9/ns).
func BenchmarkSmolLM2Token(b *testing.B) {
	r := rand.New(rand.NewPCG(11, 12))
	shapes := [][2]int{{576, 576}, {192, 576}, {192, 576}, {576, 576}, {1536, 576}, {1536, 576}, {576, 1536}}
	for _, typ := range []Type{Q8_0, Q4_0, F16, F32} {
		var mats []Matrix
		var total int64
		for l := 0; l < 30; l++ {
			for _, s := range shapes {
				m := randomMatrix(r, typ, s[0], s[1])
				mats = append(mats, m)
				total += int64(len(m.Data))
			}
		}
		head := randomMatrix(r, Q8_0, 49152, 576)
		mats = append(mats, head)
		total += int64(len(head.Data))
		x := randomVec(r, 1536)
		dst := make([]float32, 49152)
		for _, threads := range []int{1, 2} {
			pool := NewPool(threads)
			b.Run(fmt.Sprintf("%v/t%d", typ, threads), func(b *testing.B) {
				b.SetBytes(total)
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				cpu0 := threadCPU()
				for b.Loop() {
					for _, m := range mats {
						pool.MatVec(dst[:m.Rows], m, x[:m.Cols])
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
				if threads == 1 {
					reportCPU(b, cpu0, int(total))
				}
			})
			pool.Close()
		}
	}
}

// BenchmarkPoolDispatch is the fixed cost of splitting a call over the pool
// (a 192x576 Q8_0 mat-vec, the smallest in SmolLM2, takes ~10µs of work).
func BenchmarkPoolDispatch(b *testing.B) {
	for _, threads := range []int{1, 2} {
		pool := NewPool(threads)
		b.Run(fmt.Sprintf("t%d", threads), func(b *testing.B) {
			var sink [64]int64
			for b.Loop() {
				pool.parallel(64, 16, func(lo, hi int) { sink[lo]++ })
			}
		})
		pool.Close()
	}
}
