package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// tiers are the instruction-set tiers this machine runs, lowest first: on
// an AVX-512 machine the tests cover the AVX2 and generic kernels too.
func tiers() []isaLevel {
	var ls []isaLevel
	for l := isaGeneric; l <= detectISA(); l++ {
		ls = append(ls, l)
	}
	return ls
}

// setISA runs the kernels at tier l until the test ends. Tests that call
// it must not run in parallel.
func setISA(t testing.TB, l isaLevel) {
	old := isa
	isa = l
	kernels = buildKernels()
	t.Cleanup(func() {
		isa = old
		kernels = buildKernels()
	})
}

// forEachISA runs f as a subtest at every tier.
func forEachISA(t *testing.T, f func(t *testing.T)) {
	for _, l := range tiers() {
		t.Run(l.String(), func(t *testing.T) {
			setISA(t, l)
			f(t)
		})
	}
}

func TestDetectISA(t *testing.T) {
	if l := detectISA(); l != isa {
		t.Fatalf("isa %v, detected %v", isa, l)
	}
	t.Logf("this machine runs the %v kernels", isa)
}

// sentinel fills out with a value no kernel computes, so stores outside
// the tile show.
const sentinel = -12345.5

func TestGemmF32Kernel(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	forEachISA(t, func(t *testing.T) {
		pw := panelWidth()
		for _, K := range []int{1, 2, 3, 15, 16, 17, 64, 577} {
			for _, np := range []int{1, 2, 3, 4, 5, 7, 9} {
				for _, nv := range []int{np * pw, np*pw - 1, (np-1)*pw + 1} {
					for _, transposed := range []bool{false, true} {
						name := fmt.Sprintf("K%d_np%d_nv%d_t%v", K, np, nv, transposed)
						rs, ks := K+3, 1 // padded rows
						if transposed {
							rs, ks = 1, gemmRows+2
						}
						wlen := (gemmRows-1)*rs + (K-1)*ks + 1
						w := guardedF32(t, wlen)
						copy(w, randomVec(r, wlen))
						xp := guardedF32(t, np*K*pw)
						x := randomVec(r, nv*K)
						packF32Ref(xp, x, K, nv, K, pw)
						ldc := gemmRows + 1
						want := make([]float32, (nv-1)*ldc+gemmRows)
						got := guardedF32(t, len(want))
						for i := range want {
							want[i], got[i] = sentinel, sentinel
						}
						gemmF32Ref(w, rs, ks, xp, K, np, pw, nv, want, ldc)
						gemmF32(w, rs, ks, xp, K, np, nv, got, ldc)
						for v := range nv {
							for row := range gemmRows {
								var mag float64
								for k := range K {
									mag += math.Abs(float64(w[row*rs+k*ks] * x[v*K+k]))
								}
								i := v*ldc + row
								if !closeEnough(got[i], want[i], mag) {
									t.Fatalf("%s: vector %d row %d: %v, reference %v", name, v, row, got[i], want[i])
								}
							}
							if v < nv-1 && got[v*ldc+gemmRows] != sentinel {
								t.Fatalf("%s: stored past the tile after vector %d", name, v)
							}
						}
					}
				}
			}
		}
	})
}

// guardedF32 is guarded for floats: n of them ending at a fault page.
func guardedF32(t *testing.T, n int) []float32 {
	return bytesF32(guarded(t, 4*n))[:n:n]
}

func TestPackF32(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	forEachISA(t, func(t *testing.T) {
		pw := panelWidth()
		for _, n := range []int{1, 2, pw - 1, pw, pw + 1, 3*pw + 5} {
			for _, K := range []int{1, 5, 64} {
				ldx := K + 2
				x := randomVec(r, (n-1)*ldx+K)
				np := (n + pw - 1) / pw
				want := make([]float32, np*pw*K)
				got := guardedF32(t, len(want))
				for i := range got {
					got[i] = sentinel
				}
				packF32Ref(want, x, ldx, n, K, pw)
				packF32(got, x, ldx, n, K)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("n=%d K=%d: element %d is %v, want %v", n, K, i, got[i], want[i])
					}
				}
			}
		}
	})
}

// TestMatMulTiers checks MatMul at every tier against the float64
// product, for batch sizes around the panel widths and row counts that
// leave partial tiles.
func TestMatMulTiers(t *testing.T) {
	r := rand.New(rand.NewPCG(35, 36))
	pool := NewPool(2)
	defer pool.Close()
	forEachISA(t, func(t *testing.T) {
		for _, typ := range allTypes {
			cols := 2 * typ.BlockSize()
			if typ.BlockSize() < 32 {
				cols = 96
			}
			for _, rows := range []int{1, 6, 37} {
				m := randomMatrix(r, typ, rows, cols)
				for _, n := range []int{1, 3, 4, 5, 16, 17, 33, 70} {
					x := randomVec(r, n*cols)
					for _, p := range []*Pool{nil, pool} {
						got := make([]float32, n*rows+1)
						got[n*rows] = sentinel
						p.MatMul(got[:n*rows], m, x, n)
						if got[n*rows] != sentinel {
							t.Fatalf("%v %dx%d n=%d: wrote past dst", typ, rows, cols, n)
						}
						for v := range n {
							want, bound := refMatVec(m, x[v*cols:(v+1)*cols], isQuant(typ))
							for i := range rows {
								if d := math.Abs(float64(got[v*rows+i]) - want[i]); !(d <= bound[i]) {
									t.Fatalf("%v %dx%d n=%d threads %d: vector %d row %d: %v, want %v (|diff| %g > %g)",
										typ, rows, cols, n, p.Threads(), v, i, got[v*rows+i], want[i], d, bound[i])
								}
							}
						}
					}
				}
			}
		}
	})
}
