package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Differential tests: the dispatched (assembly, where the CPU has it) kernels
// against the pure-Go references, on buffers at every alignment and length.
// Under -tags purego or without AVX2 both sides are the reference and the
// tests pass trivially.

func closeEnough(got, want float32, mag float64) bool {
	return math.Abs(float64(got)-float64(want)) <= 1e-5*mag+1e-30
}

func TestDiffQuantizeAct(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, nb := range []int{1, 2, 3, 18, 48} {
		n := 32 * nb
		for off := 0; off < 4; off++ {
			buf := randomVec(r, n+off)
			x := buf[off:]
			// Exercise zero blocks, exact ties and tiny magnitudes.
			for i := 0; i < 32; i++ {
				x[i] = 0
			}
			if nb > 1 {
				x[32] = 127
				for i := 33; i < 64; i++ {
					x[i] = float32(i-48) + 0.5
				}
			}
			if nb > 2 {
				for i := 64; i < 96; i++ {
					x[i] *= 1e-30
				}
			}
			want, got := newQ8Act(n), newQ8Act(n)
			quantizeActGeneric(&want, x)
			quantizeAct(&got, x)
			for i := range want.qs {
				if got.qs[i] != want.qs[i] {
					t.Fatalf("nb=%d off=%d: qs[%d] %d != %d", nb, off, i, got.qs[i], want.qs[i])
				}
			}
			for b := range want.d {
				if math.Float32bits(got.d[b]) != math.Float32bits(want.d[b]) || got.sum[b] != want.sum[b] ||
					math.Float32bits(got.s[b]) != math.Float32bits(want.s[b]) {
					t.Fatalf("nb=%d off=%d block %d: d %v/%v sum %v/%v s %v/%v", nb, off, b,
						got.d[b], want.d[b], got.sum[b], want.sum[b], got.s[b], want.s[b])
				}
			}
			for g := range want.sum16 {
				if got.sum16[g] != want.sum16[g] {
					t.Fatalf("sum16[%d] %d != %d", g, got.sum16[g], want.sum16[g])
				}
			}
		}
	}
}

func TestDiffFloatKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, typ := range []Type{F32, F16, BF16} {
		gen, _ := genericKernel(typ)
		fast, _ := kernel(typ)
		for n := 1; n <= 80; n++ {
			for off := 0; off < 3; off++ {
				src := randomVec(r, n)
				raw := make([]byte, off+typ.RowSize(n))
				w := raw[off:]
				if err := Quantize(typ, src, w); err != nil {
					t.Fatal(err)
				}
				x := randomVec(r, n+1)[1:] // unaligned float start
				var mag float64
				for i := range src {
					mag += math.Abs(float64(src[i] * x[i]))
				}
				if g, f := gen(w, x), fast(w, x); !closeEnough(f, g, mag) {
					t.Fatalf("%v n=%d off=%d: fast %v generic %v", typ, n, off, f, g)
				}
				// Guarded: the row ends exactly at a page boundary.
				gw := guarded(t, len(w))
				copy(gw, w)
				if g, f := gen(w, x), fast(gw, x); !closeEnough(f, g, mag) {
					t.Fatalf("%v guarded n=%d: fast %v generic %v", typ, n, f, g)
				}
			}
		}
	}
	for n := 0; n <= 70; n++ {
		a, b := randomVec(r, n), randomVec(r, n)
		var mag float64
		for i := range a {
			mag += math.Abs(float64(a[i] * b[i]))
		}
		if g, f := dotF32Generic(a, b), Dot(a, b); !closeEnough(f, g, mag) {
			t.Fatalf("Dot n=%d: %v vs %v", n, f, g)
		}
	}
}

func TestDiffQuantKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	for _, typ := range quantTypes {
		_, gen := genericKernel(typ)
		_, fast := kernel(typ)
		bs := typ.BlockSize()
		for _, nblk := range []int{1, 2, 3, 5, 8} {
			n := nblk * bs
			for off := 0; off < 3; off++ {
				raw := make([]byte, off+typ.RowSize(n))
				w := raw[off:]
				copy(w, randomBlocks(r, typ, nblk))
				x := randomVec(r, n)
				a := newQ8Act(n)
				quantizeAct(&a, x)
				wf := make([]float32, n)
				if err := Dequantize(typ, w, wf); err != nil {
					t.Fatal(err)
				}
				var mag float64
				for i := range wf {
					mag += math.Abs(float64(wf[i]) * float64(a.d[i/32]) * float64(a.qs[i]))
				}
				g := gen(w, &a)
				if f := fast(w, &a); !closeEnough(f, g, mag) {
					t.Fatalf("%v n=%d off=%d: fast %v generic %v", typ, n, off, f, g)
				}
				gw := guarded(t, len(w))
				copy(gw, w)
				if f := fast(gw, &a); !closeEnough(f, g, mag) {
					t.Fatalf("%v guarded n=%d: fast %v generic %v", typ, n, f, g)
				}
			}
		}
	}
}

// TestDiffExtremes drives the integer kernels with saturating inputs: all
// weights at the format's extremes and activations at ±127.
func TestDiffExtremes(t *testing.T) {
	for _, typ := range quantTypes {
		_, gen := genericKernel(typ)
		_, fast := kernel(typ)
		n := 2 * typ.BlockSize()
		for _, fill := range []byte{0x00, 0xff, 0x80, 0x7f, 0x88} {
			w := make([]byte, typ.RowSize(n))
			for i := range w {
				w[i] = fill
			}
			for k := 0; k < 2; k++ { // sane scales
				blk := w[k*typ.TypeSize():]
				switch typ {
				case Q6_K:
					putHalf(blk[208:], 0.5)
				default:
					putHalf(blk, 0.5)
					if typ != Q4_0 && typ != Q5_0 && typ != Q8_0 {
						putHalf(blk[2:], -0.25)
					}
				}
			}
			for _, xv := range []float32{1, -1} {
				x := make([]float32, n)
				for i := range x {
					x[i] = xv
					if i%3 == 0 {
						x[i] = -xv
					}
				}
				a := newQ8Act(n)
				quantizeAct(&a, x)
				g, f := gen(w, &a), fast(w, &a)
				if !closeEnough(f, g, math.Abs(float64(g))*10+1) {
					t.Fatalf("%v fill %#x x %v: fast %v generic %v", typ, fill, xv, f, g)
				}
			}
		}
	}
}

func FuzzDiffKernels(f *testing.F) {
	f.Add(uint8(0), uint16(3), []byte("seed"), int64(1))
	f.Add(uint8(7), uint16(1), []byte{0xff, 0x00, 0x80}, int64(-5))
	f.Fuzz(func(t *testing.T, ti uint8, nblk uint16, data []byte, seed int64) {
		types := append([]Type{F32, F16, BF16}, quantTypes...)
		typ := types[int(ti)%len(types)]
		blocks := int(nblk%9) + 1
		n := blocks * typ.BlockSize()
		if typ.BlockSize() == 1 {
			n = int(nblk%300) + 1
		}
		w := make([]byte, typ.RowSize(n))
		for i := range w {
			if len(data) > 0 {
				w[i] = data[i%len(data)] ^ byte(i*131)
			}
		}
		r := rand.New(rand.NewPCG(uint64(seed), 1))
		// Keep scales finite so the comparison is about the arithmetic.
		wf := make([]float32, n)
		if err := Dequantize(typ, w, wf); err != nil {
			t.Fatal(err)
		}
		for _, v := range wf {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || math.Abs(float64(v)) > 1e30 {
				t.Skip()
			}
		}
		x := randomVec(r, n)
		if typ.BlockSize() == 1 {
			gf, _ := genericKernel(typ)
			ff, _ := kernel(typ)
			var mag float64
			for i := range x {
				mag += math.Abs(float64(wf[i] * x[i]))
			}
			if g, f := gf(w, x), ff(w, x); !closeEnough(f, g, mag) {
				t.Fatalf("%v n=%d: fast %v generic %v", typ, n, f, g)
			}
			return
		}
		want, got := newQ8Act(n), newQ8Act(n)
		quantizeActGeneric(&want, x)
		quantizeAct(&got, x)
		for i := range want.qs {
			if want.qs[i] != got.qs[i] {
				t.Fatalf("activation q[%d]: %d vs %d", i, got.qs[i], want.qs[i])
			}
		}
		_, gq := genericKernel(typ)
		_, fq := kernel(typ)
		var mag float64
		for i := range wf {
			mag += math.Abs(float64(wf[i]) * float64(want.d[i/32]) * float64(want.qs[i]))
		}
		g := gq(w, &want)
		if f := fq(w, &want); !closeEnough(f, g, mag) {
			t.Fatalf("%v n=%d: fast %v generic %v", typ, n, f, g)
		}
		// The same vector in every slot of a four-vector kernel.
		if q4 := archKernel4(typ); q4 != nil {
			batch := newQ8Act(4 * n)
			for v := 0; v < 4; v++ {
				view := batch.slice(v, n)
				quantizeAct(&view, x)
			}
			var out [4]float32
			q4(w, &batch, n/32, &out)
			for v, f := range out {
				if !closeEnough(f, g, mag) {
					t.Fatalf("%v n=%d quad slot %d: %v generic %v", typ, n, v, f, g)
				}
			}
		}
	})
}

func TestDiffQuadKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	for _, typ := range []Type{Q8_0, Q4_0, Q5_0, Q4_K, Q6_K} {
		q4 := archKernel4(typ)
		if q4 == nil {
			t.Skipf("no four-vector kernel for %v on this build", typ)
		}
		_, gen := genericKernel(typ)
		for _, nblk := range []int{1, 2, 3, 7} {
			n := typ.BlockSize() * nblk
			nb := n / 32
			w := guarded(t, typ.RowSize(n))
			copy(w, randomBlocks(r, typ, nblk))
			a := newQ8Act(4 * n)
			quantizeAct(&a, randomVec(r, 4*n))
			var out [4]float32
			q4(w, &a, nb, &out)
			wf := make([]float32, n)
			if err := Dequantize(typ, w, wf); err != nil {
				t.Fatal(err)
			}
			for v := 0; v < 4; v++ {
				view := a.slice(v, n)
				var mag float64
				for i := range wf {
					mag += math.Abs(float64(wf[i]) * float64(view.d[i/32]) * float64(view.qs[i]))
				}
				if g := gen(w, &view); !closeEnough(out[v], g, mag) {
					t.Fatalf("%v nb=%d vector %d: quad %v generic %v", typ, nb, v, out[v], g)
				}
			}
		}
	}
}

// TestDiffSoftmax: the softmax whose scan and scaling run in assembly gives
// the bits of the scalar loops, at every length and with the values a
// causal score row holds (zeros of both signs, -Inf, ties).
func TestDiffSoftmax(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	for _, n := range []int{1, 2, 7, 8, 31, 32, 33, 63, 64, 65, 100, 1000, 3001} {
		for trial := range 4 {
			x := randomVec(r, n)
			for i := range x {
				x[i] *= 20
			}
			switch trial {
			case 1:
				x[r.IntN(n)] = float32(math.Inf(-1))
				x[r.IntN(n)] = float32(math.Copysign(0, -1))
			case 2:
				for i := range x {
					x[i] = 0
				}
				x[n-1] = float32(math.Copysign(0, -1))
			case 3:
				x[n-1] = 100 // the largest last, past the assembly's prefix
			}
			want := append([]float32(nil), x...)
			m := want[0]
			for _, v := range want[1:] {
				if v > m {
					m = v
				}
			}
			if got := maxOf(x); math.Float32bits(got) != math.Float32bits(m) && got != m {
				t.Fatalf("n=%d trial %d: max %v, scalar %v", n, trial, got, m)
			}
			inv := float32(1 / expSubSum(want, m))
			for i := range want {
				want[i] *= inv
			}
			Softmax(x)
			for i := range x {
				if math.Float32bits(x[i]) != math.Float32bits(want[i]) {
					t.Fatalf("n=%d trial %d: [%d] %v, scalar %v", n, trial, i, x[i], want[i])
				}
			}
		}
	}
}
