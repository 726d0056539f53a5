package tensor

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
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
			for _, K := range []int{1, 5, 16, 37, 64} {
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

// TestGemmQTileDecode checks every tile decoder against Dequantize: the
// weight the tile stands for, d*q + m, must be the dequantized value bit
// for bit.
func TestGemmQTileDecode(t *testing.T) {
	r := rand.New(rand.NewPCG(37, 38))
	forEachISA(t, func(t *testing.T) { testTileDecode(t, r) })
}

func testTileDecode(t *testing.T, r *rand.Rand) {
	for typ, qt := range qTiles {
		const nsb = 2
		nb := nsb * typ.BlockSize() / 32
		m := randomMatrix(r, typ, gemmRows, 32*nb)
		tile := guarded(t, nb*qt.kind.blockBytes())
		for row := range gemmRows {
			src := guarded(t, len(m.RowBytes(row)))
			copy(src, m.RowBytes(row))
			qt.decode(tile, src, row, nb)
			if err := checkTileRow(typ, tile, src, row, nb); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// checkTileRow checks row r of a decoded tile against the encoded row:
// the weight it stands for, d*q + m, must be Dequantize's value exactly,
// and ncorr must be -128 times the levels' sum.
func checkTileRow(typ Type, tile, src []byte, row, nb int) error {
	kind := qTiles[typ].kind
	want := make([]float32, 32*nb)
	if err := Dequantize(typ, src, want); err != nil {
		return err
	}
	for i, w := range want {
		b, e := i/32, i%32
		tb := tile[b*kind.blockBytes():]
		q := float32(int8(tb[32*row+e]))
		var got float32
		lo, hi, meta := 0, 32, 128+4*row
		switch kind {
		case qHalf:
			h := e / 16
			lo, hi, meta = 16*h, 16*h+16, 128+32*h+4*row
			got = f32at(tb, meta+16) * q
		default:
			got = f32at(tb, meta+16)*q + f32at(tb, meta+32)
		}
		var sum int32
		for k := lo; k < hi; k++ {
			sum += int32(int8(tb[32*row+k]))
		}
		if nc := int32(binary.LittleEndian.Uint32(tb[meta:])); nc != -128*sum {
			return fmt.Errorf("%v row %d block %d: ncorr %d, levels sum %d", typ, row, b, nc, sum)
		}
		if got != w && !(math.IsNaN(float64(got)) && math.IsNaN(float64(w))) { // -0 == +0: rounding of a zero
			return fmt.Errorf("%v row %d element %d: tile gives %v, Dequantize %v", typ, row, i, got, w)
		}
	}
	return nil
}

// TestGemmQKernel compares the quantized micro-kernel of every tier with
// a float64 evaluation of its formula, on random tiles (levels over the
// whole int8 range) and panels.
func TestGemmQKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(39, 40))
	forEachISA(t, func(t *testing.T) {
		pw := panelWidth()
		for _, kind := range []qKind{qSym, qMin, qHalf} {
			for _, nb := range []int{1, 2, 5, 18} {
				for _, np := range []int{1, 2, 3, 5} {
					for _, nv := range []int{np * pw, np*pw - 1, (np-1)*pw + 1} {
						tb := kind.blockBytes()
						wt := guarded(t, nb*tb)
						for i := range wt {
							wt[i] = byte(r.Uint32())
						}
						for b := range nb { // finite scales, ncorr as big as -128*Σq gets
							for k := 128; k < tb; k += 4 {
								if kind == qHalf && (k-128)%32 < 16 || kind != qHalf && k < 144 {
									binary.LittleEndian.PutUint32(wt[b*tb+k:], uint32(r.Int32N(1<<20)-1<<19))
									continue
								}
								putF32(wt[b*tb+k:], float32(r.NormFloat64()))
							}
						}
						xq := guarded(t, np*nb*40*pw)
						for i := range xq {
							xq[i] = byte(r.Uint32())
						}
						for p := range np {
							for b := range nb {
								blk := xq[(p*nb+b)*40*pw:]
								for k := 32 * pw; k < 40*pw; k += 4 {
									putF32(blk[k:], float32(r.NormFloat64()))
								}
							}
						}
						ldc := gemmRows + 3
						got := guardedF32(t, (nv-1)*ldc+gemmRows)
						gemmQ(kind, wt, xq, nb, np, nv, got, ldc)
						for v := range nv {
							for row := range gemmRows {
								want, mag := gemmQFloat64(kind, wt, xq, nb, pw, v, row)
								if d := math.Abs(float64(got[v*ldc+row]) - want); d > 1e-5*mag+1e-30 {
									t.Fatalf("kind %d nb %d np %d nv %d: vector %d row %d: %v, want %v",
										kind, nb, np, nv, v, row, got[v*ldc+row], want)
								}
							}
						}
					}
				}
			}
		}
	})
}

// gemmQFloat64 evaluates gemmQRef's formula for one vector and row in
// float64, with the magnitude of its terms.
func gemmQFloat64(kind qKind, wt, xq []byte, nb, pw, v, row int) (sum, mag float64) {
	p, lane := v/pw, v%pw
	tb := kind.blockBytes()
	for b := range nb {
		t := wt[b*tb:]
		x := xq[(p*nb+b)*40*pw:]
		dx := float64(f32at(x, 32*pw+4*lane))
		halves, gs := 1, 8
		if kind == qHalf {
			halves, gs = 2, 4
		}
		for h := range halves {
			i := float64(int32(binary.LittleEndian.Uint32(t[128+32*h+4*row:])))
			im := math.Abs(i)
			for g := gs * h; g < gs*(h+1); g++ {
				for k := range 4 {
					prod := float64(x[g*4*pw+4*lane+k]) * float64(int8(t[32*row+4*g+k]))
					i += prod
					im += math.Abs(prod)
				}
			}
			d := dx * float64(f32at(t, 144+32*h+4*row))
			sum += d * i
			mag += math.Abs(d) * (im + math.Abs(i))
		}
		if kind == qMin {
			m := float64(f32at(x, 36*pw+4*lane)) * float64(f32at(t, 160+4*row))
			sum += m
			mag += math.Abs(m)
		}
	}
	return sum, mag
}

// TestQuantPack checks the fused quantize-and-pack kernel against
// quantizeActGeneric and packQRef byte for byte, with zero blocks, ties
// and tiny values in the input.
func TestQuantPack(t *testing.T) {
	if isa < isaAVX512 {
		t.Skip("no fused quantize-and-pack kernel on this CPU")
	}
	r := rand.New(rand.NewPCG(47, 48))
	const pw = 16
	for _, nb := range []int{1, 3, 18} {
		for _, n := range []int{1, 7, 16} {
			K := 32 * nb
			x := randomVec(r, n*K)
			clear(x[:32])
			for i := 32; i < min(64, len(x)); i++ {
				x[i] = float32(i-48) + 0.5
			}
			x[len(x)-1] *= 1e-30
			views := make([]q8Act, n)
			for v := range n {
				views[v] = newQ8Act(K)
				quantizeActGeneric(&views[v], x[v*K:(v+1)*K])
			}
			want := make([]byte, gemmQPanelBytes(K, pw))
			packQRef(want, views, n, 1, nb, pw)
			got := guarded(t, len(want))
			if n < pw {
				packQRef(got, nil, 0, 1, nb, pw)
			}
			for v := range n {
				archQuantPack(got, x[v*K:(v+1)*K], nb, v)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("nb=%d n=%d: byte %d (block %d, offset %d) is %#x, want %#x", nb, n, i, i/640, i%640, got[i], want[i])
				}
			}
		}
	}
}

// TestRowsKernels compares every tier's mat-vec row kernels with the
// reference dot of each row, for every block count up to three groups of
// eight, padded row strides and rows ending at a fault page.
func TestRowsKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(55, 56))
	forEachISA(t, func(t *testing.T) {
		for _, typ := range quantTypes {
			k := archRows(typ)
			if k == nil {
				continue
			}
			_, ref := genericKernel(typ)
			per := typ.BlockSize() / 32
			for nb := per; nb <= 25; nb += per {
				cols := 32 * nb
				rs := typ.RowSize(cols) + 7
				const rows = 3
				w := guarded(t, (rows-1)*rs+typ.RowSize(cols))
				for row := range rows {
					copy(w[row*rs:], randomBlocks(r, typ, nb/per))
				}
				a := newQ8Act(cols)
				quantizeAct(&a, randomVec(r, cols))
				got := make([]float32, rows)
				k(got, w, rs, &a)
				for row := range rows {
					blk := w[row*rs : row*rs+typ.RowSize(cols)]
					want := ref(blk, &a)
					wf := make([]float32, cols)
					if err := Dequantize(typ, blk, wf); err != nil {
						t.Fatal(err)
					}
					var mag float64
					for i := range wf {
						mag += math.Abs(float64(wf[i]) * float64(a.d[i/32]) * float64(a.qs[i]))
					}
					if !closeEnough(got[row], want, mag) {
						t.Fatalf("%v nb=%d row %d: %v, reference %v", typ, nb, row, got[row], want)
					}
				}
			}
		}
	})
}

// TestRowsNMatchesRows: the multi-vector row kernels give each vector
// exactly (bit for bit) what the one-vector kernel gives it, whatever the
// number of vectors sharing the call, so a sequence decodes the same
// tokens batched with others as alone.
func TestRowsNMatchesRows(t *testing.T) {
	r := rand.New(rand.NewPCG(57, 58))
	forEachISA(t, func(t *testing.T) {
		for _, typ := range quantTypes {
			kn, k1 := archRowsN(typ), archRows(typ)
			if kn == nil {
				continue
			}
			if k1 == nil {
				t.Fatalf("%v has a multi-vector row kernel but no one-vector one", typ)
			}
			for _, nb := range []int{1, 2, 7, 8, 9, 16, 18, 25, 48} {
				cols := 32 * nb
				rs := typ.RowSize(cols) + 5
				const rows = 5
				w := guarded(t, (rows-1)*rs+typ.RowSize(cols))
				for row := range rows {
					copy(w[row*rs:], randomBlocks(r, typ, nb))
				}
				for _, n := range []int{1, 2, 3, 8, maxRowsVectors} {
					a := newQ8Act(n * cols)
					quantizeAct(&a, randomVec(r, n*cols))
					tb := transBytes(nb)
					a.t = make([]byte, n*tb)
					for v := range n {
						one := a.slice(v, cols)
						transposeQ8(a.t[v*tb:(v+1)*tb], &one)
					}
					const ldd = rows + 3
					got := make([]float32, (n-1)*ldd+rows)
					kn(got, ldd, rows, w, rs, &a, nb, 0, n)
					for v := range n {
						one := a.slice(v, cols)
						want := make([]float32, rows)
						k1(want, w, rs, &one)
						for row := range rows {
							if g := got[v*ldd+row]; g != want[row] {
								t.Fatalf("%v nb=%d n=%d vector %d row %d: %v, one at a time %v", typ, nb, n, v, row, g, want[row])
							}
						}
					}
				}
			}
		}
	})
}

// TestTransposeQ8: the assembly layout of the multi-vector kernel's
// activations is the reference's, byte for byte, and reads nothing past
// the vector.
func TestTransposeQ8(t *testing.T) {
	r := rand.New(rand.NewPCG(63, 64))
	for _, nb := range []int{1, 2, 7, 8, 9, 15, 16, 17, 18, 24, 25, 48} {
		a := newQ8Act(32 * nb)
		quantizeAct(&a, randomVec(r, 32*nb))
		want := make([]byte, transBytes(nb))
		transposeQ8Generic(want, &a)
		qs := guarded(t, 32*nb)
		copy(qs, unsafe.Slice((*byte)(unsafe.Pointer(&a.qs[0])), 32*nb))
		g := a
		g.qs = unsafe.Slice((*int8)(unsafe.Pointer(&qs[0])), 32*nb)
		got := make([]byte, transBytes(nb))
		for i := range got {
			got[i] = 0xa5
		}
		transposeQ8(got, &g)
		if !bytes.Equal(got, want) {
			t.Fatalf("nb=%d: layouts differ:\n%x\n%x", nb, got, want)
		}
	}
}

// TestFloatRowsMatchDot: the float row kernels give each row exactly what
// the single dot gives it (MatVec and a batch's rows agree), read nothing
// past the last row, and stay within rounding of the reference.
func TestFloatRowsMatchDot(t *testing.T) {
	r := rand.New(rand.NewPCG(59, 60))
	forEachISA(t, func(t *testing.T) {
		for _, typ := range []Type{F32, F16, BF16} {
			k := archFloatRows(typ)
			if k == nil {
				continue
			}
			dot, _ := kernel(typ)
			ref, _ := genericKernel(typ)
			for _, shape := range [][2]int{{4, 1}, {4, 7}, {4, 8}, {4, 31}, {4, 32}, {4, 33}, {4, 64}, {4, 100}, {4, 576}, {1, 64}, {3, 64}, {5, 576}} {
				rows, cols := shape[0], shape[1]
				rs := typ.RowSize(cols) + 6
				m := randomMatrix(r, typ, rows, cols)
				w := guarded(t, (rows-1)*rs+typ.RowSize(cols))
				for row := range rows {
					copy(w[row*rs:], m.Data[row*typ.RowSize(cols):(row+1)*typ.RowSize(cols)])
				}
				x := randomVec(r, cols)
				got := make([]float32, rows)
				k(got, w, rs, x)
				for row := range rows {
					blk := w[row*rs : row*rs+typ.RowSize(cols)]
					if want := dot(blk, x); got[row] != want {
						t.Fatalf("%v cols=%d row %d: %v, single dot %v", typ, cols, row, got[row], want)
					}
					if want := ref(blk, x); math.Abs(float64(got[row]-want)) > 1e-4*(1+math.Abs(float64(want))) {
						t.Fatalf("%v cols=%d row %d: %v, reference %v", typ, cols, row, got[row], want)
					}
				}
			}
		}
	})
}
