package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

func ulpDiff(a, b float32) int64 {
	ia, ib := int64(math.Float32bits(a)), int64(math.Float32bits(b))
	if d := ia - ib; d < 0 {
		return -d
	} else {
		return d
	}
}

func TestExpf(t *testing.T) {
	var worst int64
	for x := float32(-103); x < 88.7; x += 0.00731 {
		want := float32(math.Exp(float64(x)))
		got := expf(x)
		if want < 1.2e-38 { // subnormal results: absolute error is what matters
			if math.Abs(float64(got-want)) > 2e-45*4 {
				t.Fatalf("expf(%v) = %v, want %v", x, got, want)
			}
			continue
		}
		worst = max(worst, ulpDiff(got, want))
	}
	if worst > 2 {
		t.Fatalf("worst error %d ulp", worst)
	}
	for _, c := range []struct{ x, want float32 }{
		{0, 1}, {-200, 0}, {100, float32(math.Inf(1))}, {float32(math.Inf(-1)), 0},
	} {
		if got := expf(c.x); got != c.want {
			t.Errorf("expf(%v) = %v", c.x, got)
		}
	}
	if got := expf(float32(math.NaN())); got == got {
		t.Error("expf(NaN) not NaN")
	}
	if got := expf(88.72); math.IsInf(float64(got), 0) || ulpDiff(got, float32(math.Exp(float64(float32(88.72))))) > 2 {
		t.Errorf("expf(88.72) = %v", got)
	}
}

func TestSoftmax(t *testing.T) {
	x := []float32{1, 2, 3, float32(math.Inf(-1)), 1000}
	Softmax(x)
	if x[3] != 0 || math.Abs(float64(x[4])-1) > 1e-6 {
		t.Fatalf("got %v", x)
	}
	r := rand.New(rand.NewPCG(1, 1))
	y := randomVec(r, 100)
	want := make([]float64, len(y))
	var s float64
	for i, v := range y {
		want[i] = math.Exp(float64(v))
		s += want[i]
	}
	Softmax(y)
	for i := range y {
		if math.Abs(float64(y[i])-want[i]/s) > 1e-6 {
			t.Fatalf("%d: %v vs %v", i, y[i], want[i]/s)
		}
	}
	Softmax(nil)
}

func TestRMSNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	x, w := randomVec(r, 576), randomVec(r, 576)
	dst := make([]float32, 576)
	RMSNorm(dst, x, w, 1e-5)
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	sc := 1 / math.Sqrt(ss/576+1e-5)
	for i := range x {
		if want := float64(x[i]) * sc * float64(w[i]); math.Abs(float64(dst[i])-want) > 1e-5*math.Abs(want)+1e-6 {
			t.Fatalf("%d: %v vs %v", i, dst[i], want)
		}
	}
	RMSNorm(dst, x, nil, 1e-5)
	if want := float64(x[7]) * sc; math.Abs(float64(dst[7])-want) > 1e-5 {
		t.Fatalf("no weight: %v vs %v", dst[7], want)
	}
}

func TestActivations(t *testing.T) {
	g := []float32{-20, -1, 0, 0.5, 3, 20}
	u := []float32{1, 2, 3, 4, 5, 6}
	s := make([]float32, len(g))
	sw := make([]float32, len(g))
	SiLU(s, g)
	SwiGLU(sw, g, u)
	for i, v := range g {
		want := float64(v) / (1 + math.Exp(-float64(v)))
		if math.Abs(float64(s[i])-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("silu(%v) = %v, want %v", v, s[i], want)
		}
		if math.Abs(float64(sw[i])-want*float64(u[i])) > 1e-5*math.Max(1, math.Abs(want*float64(u[i]))) {
			t.Errorf("swiglu(%v,%v) = %v", v, u[i], sw[i])
		}
	}
}

func TestVectorOps(t *testing.T) {
	a := []float32{1, 2, 3}
	Add(a, []float32{1, 1, 1})
	Mul(a, []float32{2, 2, 0.5})
	Scale(a, 2)
	Axpy(a, 0.5, []float32{2, 4, 6})
	if want := []float32{9, 14, 7}; a[0] != want[0] || a[1] != want[1] || a[2] != want[2] {
		t.Fatalf("got %v", a)
	}
	r := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{0, 1, 7, 8, 31, 64, 100, 1000} {
		x, y := randomVec(r, n), randomVec(r, n+5)
		var want, mag float64
		for i := 0; i < n; i++ {
			want += float64(x[i]) * float64(y[i])
			mag += math.Abs(float64(x[i]) * float64(y[i]))
		}
		if got := Dot(x, y); math.Abs(float64(got)-want) > 1e-6*mag {
			t.Errorf("n=%d: Dot %v want %v", n, got, want)
		}
	}
}

func TestRoPE(t *testing.T) {
	const headDim, ropeDim, heads = 64, 32, 3
	freqs := RoPEFreqs(ropeDim, 10000)
	if freqs[0] != 1 || math.Abs(float64(freqs[1])-math.Pow(10000, -2.0/32)) > 1e-7 {
		t.Fatalf("freqs %v", freqs[:2])
	}
	r := rand.New(rand.NewPCG(4, 4))
	for _, neox := range []bool{false, true} {
		x := randomVec(r, headDim*heads)
		y := append([]float32(nil), x...)
		const pos = 17
		RoPE(y, pos, headDim, ropeDim, freqs, neox)
		for h := 0; h < heads; h++ {
			for i := 0; i < ropeDim/2; i++ {
				a, b := h*headDim+2*i, h*headDim+2*i+1
				if neox {
					a, b = h*headDim+i, h*headDim+i+ropeDim/2
				}
				// Pair (x_a, x_b) as the complex number x_a + i*x_b, times e^{iθ}.
				z := complex(float64(x[a]), float64(x[b])) * complex(math.Cos(pos*float64(freqs[i])), math.Sin(pos*float64(freqs[i])))
				if math.Abs(float64(y[a])-real(z)) > 1e-5 || math.Abs(float64(y[b])-imag(z)) > 1e-5 {
					t.Fatalf("neox=%v head %d pair %d: got (%v,%v) want %v", neox, h, i, y[a], y[b], z)
				}
			}
			for i := ropeDim; i < headDim; i++ {
				if y[h*headDim+i] != x[h*headDim+i] {
					t.Fatalf("neox=%v: dim %d past ropeDim changed", neox, i)
				}
			}
		}
	}
	// Position 0 is the identity.
	x := randomVec(r, headDim)
	y := append([]float32(nil), x...)
	RoPE(y, 0, headDim, headDim, RoPEFreqs(headDim, 10000), true)
	for i := range x {
		if x[i] != y[i] {
			t.Fatal("pos 0 changed x")
		}
	}
}

// TestExpSubSum checks the vectorised exp (where the CPU has it) and the
// scalar tail against math.Exp.
func TestExpSubSum(t *testing.T) {
	var xs []float32
	for x := float32(-87.3); x < 88.7; x += 0.0173 {
		xs = append(xs, x)
	}
	xs = append(xs, -90, -200, float32(math.Inf(-1)), 0, 1, -1)
	for _, m := range []float32{0, 2.5} {
		y := append([]float32(nil), xs...)
		sum := expSubSum(y, m)
		var want float64
		for i, x := range xs {
			e := math.Exp(float64(x - m))
			want += float64(float32(e))
			if e < 1.2e-38 {
				if y[i] > 1.2e-38 || y[i] < 0 {
					t.Fatalf("exp(%v) = %v, want ~0", x-m, y[i])
				}
				continue
			}
			if e > math.MaxFloat32 {
				continue
			}
			if d := ulpDiff(y[i], float32(e)); d > 2 {
				t.Fatalf("exp(%v) = %v, want %v (%d ulp)", x-m, y[i], float32(e), d)
			}
		}
		if math.Abs(sum-want) > 1e-6*want {
			t.Fatalf("sum %v, want %v", sum, want)
		}
	}
}

func TestSwiGLULong(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	for n := 1; n <= 41; n += 4 {
		g, u := make([]float32, n), randomVec(r, n)
		for i := range g {
			g[i] = float32(r.Float64()*60 - 30)
		}
		s, sw := make([]float32, n), make([]float32, n)
		SiLU(s, g)
		SwiGLU(sw, g, u)
		for i := range g {
			want := float64(g[i]) / (1 + math.Exp(-float64(g[i])))
			if math.Abs(float64(s[i])-want) > 1e-6*math.Max(1, math.Abs(want)) {
				t.Fatalf("n=%d silu(%v) = %v, want %v", n, g[i], s[i], want)
			}
			if w := want * float64(u[i]); math.Abs(float64(sw[i])-w) > 2e-6*math.Max(1, math.Abs(w)) {
				t.Fatalf("n=%d swiglu = %v, want %v", n, sw[i], w)
			}
		}
	}
}

func TestAxpyLong(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for n := 0; n <= 70; n++ {
		d, x := randomVec(r, n), randomVec(r, n)
		want := make([]float32, n)
		for i := range want {
			want[i] = d[i] + 0.75*x[i]
		}
		Axpy(d, 0.75, x)
		for i := range d {
			if math.Abs(float64(d[i]-want[i])) > 1e-6*math.Max(1, math.Abs(float64(want[i]))) {
				t.Fatalf("n=%d [%d]: %v vs %v", n, i, d[i], want[i])
			}
		}
	}
}

// TestStridedMatchesPerRow checks DotStrided and AxpyStrided against a
// float64 reference on every tier, and that a key's score does not depend
// on the keys around it (DotStrided of one row alone gives the same bits).
// Attention's decode step uses only these two (or their F16 twins, which
// give their bits for the widened rows), alone or batched, so a sequence's
// results do not depend on the batch it runs in.
func TestStridedMatchesPerRow(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	forEachISA(t, func(t *testing.T) {
		for _, tc := range []struct{ rows, width, stride, off int }{
			{1, 64, 192, 0}, {7, 64, 192, 128}, {33, 13, 20, 7}, {5, 8, 8, 0}, {9, 128, 384, 64}, {3, 32, 96, 5},
			{40, 96, 96, 0}, {6, 80, 80, 3}, {11, 64, 64, 0},
		} {
			m := make([]float32, tc.rows*tc.stride+tc.off)
			for i := range m {
				m[i] = float32(r.NormFloat64())
			}
			q := make([]float32, tc.width)
			for i := range q {
				q[i] = float32(r.NormFloat64())
			}
			got := make([]float32, tc.rows)
			DotStrided(got, q, m[tc.off:], tc.stride, 0.125)
			for i := range got {
				row := m[tc.off+i*tc.stride:][:tc.width]
				var want, mag float64
				for k, v := range row {
					want += float64(q[k]) * float64(v)
					mag += math.Abs(float64(q[k]) * float64(v))
				}
				if math.Abs(float64(got[i])-0.125*want) > 1e-6*0.125*mag {
					t.Fatalf("%+v: DotStrided[%d] = %v, want %v", tc, i, got[i], 0.125*want)
				}
				one := make([]float32, 1)
				DotStrided(one, q, row, tc.stride, 0.125)
				if one[0] != got[i] {
					t.Fatalf("%+v: DotStrided[%d] = %v among others, %v alone", tc, i, got[i], one[0])
				}
			}
			acc := make([]float32, tc.width)
			for i := range acc {
				acc[i] = float32(r.NormFloat64())
			}
			want, mag := make([]float64, tc.width), make([]float64, tc.width)
			for i, v := range acc {
				want[i], mag[i] = float64(v), math.Abs(float64(v))
			}
			for k, p := range got {
				for i, v := range m[tc.off+k*tc.stride:][:tc.width] {
					want[i] += float64(p) * float64(v)
					mag[i] += math.Abs(float64(p) * float64(v))
				}
			}
			AxpyStrided(acc, got, m[tc.off:], tc.stride)
			for i := range acc {
				if math.Abs(float64(acc[i])-want[i]) > 1e-6*mag[i] {
					t.Fatalf("%+v: AxpyStrided[%d] = %v, want %v", tc, i, acc[i], want[i])
				}
			}
		}
	})
}

// TestStridedF16MatchesFloat: the fp16 loops give, bit for bit, what the
// float loops give for the rows widened, on every tier (an F16 KV cache
// changes only the rounding of what is stored).
func TestStridedF16MatchesFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(65, 66))
	forEachISA(t, func(t *testing.T) {
		for _, tc := range []struct{ rows, width, stride, off int }{
			{1, 64, 192, 0}, {7, 64, 192, 128}, {33, 13, 20, 7}, {5, 8, 8, 0}, {9, 128, 384, 64}, {3, 32, 96, 5},
			{40, 96, 96, 0}, {6, 80, 80, 3}, {11, 64, 64, 0},
		} {
			m := make([]uint16, tc.rows*tc.stride+tc.off)
			wide := make([]float32, len(m))
			for i := range m {
				m[i] = FloatToHalf(float32(r.NormFloat64()))
				wide[i] = HalfToFloat(m[i])
			}
			q := make([]float32, tc.width)
			for i := range q {
				q[i] = float32(r.NormFloat64())
			}
			got, want := make([]float32, tc.rows), make([]float32, tc.rows)
			DotStridedF16(got, q, m[tc.off:], tc.stride, 0.125)
			DotStrided(want, q, wide[tc.off:], tc.stride, 0.125)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%+v: DotStridedF16[%d] = %v, DotStrided %v", tc, i, got[i], want[i])
				}
			}
			acc, accWant := make([]float32, tc.width), make([]float32, tc.width)
			for i := range acc {
				acc[i] = float32(r.NormFloat64())
				accWant[i] = acc[i]
			}
			AxpyStridedF16(acc, got, m[tc.off:], tc.stride)
			AxpyStrided(accWant, got, wide[tc.off:], tc.stride)
			for i := range acc {
				if acc[i] != accWant[i] {
					t.Fatalf("%+v: AxpyStridedF16[%d] = %v, AxpyStrided %v", tc, i, acc[i], accWant[i])
				}
			}
		}
	})
}
