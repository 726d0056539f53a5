package tensor

import "math"

// RMSNorm sets dst = x / sqrt(mean(x²) + eps) * weight (weight nil: no
// per-channel scale). Rounding follows ggml's rms_norm: squares summed in
// float64, mean and scale rounded to float32.
func RMSNorm(dst, x, weight []float32, eps float32) {
	var sum float64
	for _, v := range x {
		sum += float64(v * v)
	}
	mean := float32(sum / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	dst = dst[:len(x)]
	if weight == nil {
		for i, v := range x {
			dst[i] = v * scale
		}
		return
	}
	weight = weight[:len(x)]
	for i, v := range x {
		dst[i] = v * scale * weight[i]
	}
}

// Softmax replaces x with exp(x-max)/Σexp(x-max). -Inf entries (masked
// positions) become 0; so do entries more than ~87 below the max (the
// vector exp flushes results below the smallest normal float).
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	inv := float32(1 / expSubSum(x, maxOf(x)))
	Scale(x, inv)
}

// maxOf returns the largest value of x (not empty). A decode step takes
// the softmax of every head's scores, as long as its context: the scan
// and the scaling after it are in assembly where they can be.
func maxOf(x []float32) float32 {
	done, m := archMax(x)
	if done == 0 {
		m = x[0]
	}
	for _, v := range x[done:] {
		if v > m {
			m = v
		}
	}
	return m
}

// expSubSum sets x[i] = exp(x[i]-m) and returns Σx[i] in float64.
func expSubSum(x []float32, m float32) float64 {
	done, sum := archExpSubSum(x, m)
	for i := done; i < len(x); i++ {
		e := expf(x[i] - m)
		x[i] = e
		sum += float64(e)
	}
	return sum
}

// SiLU sets dst = x * sigmoid(x).
func SiLU(dst, x []float32) {
	dst = dst[:len(x)]
	for i := archSwiGLU(dst, x, nil); i < len(x); i++ {
		dst[i] = x[i] / (1 + expf(-x[i]))
	}
}

// SwiGLU sets dst = silu(gate) * up, the gated FFN activation.
func SwiGLU(dst, gate, up []float32) {
	dst = dst[:len(gate)]
	up = up[:len(gate)]
	for i := archSwiGLU(dst, gate, up); i < len(gate); i++ {
		g := gate[i]
		dst[i] = g / (1 + expf(-g)) * up[i]
	}
}

// Add sets dst += a.
func Add(dst, a []float32) {
	a = a[:len(dst)]
	for i := range dst {
		dst[i] += a[i]
	}
}

// Mul sets dst *= a element-wise.
func Mul(dst, a []float32) {
	a = a[:len(dst)]
	for i := range dst {
		dst[i] *= a[i]
	}
}

// Scale sets dst *= s.
func Scale(dst []float32, s float32) {
	for i := archScale(dst, s); i < len(dst); i++ {
		dst[i] *= s
	}
}

// Axpy sets dst += alpha*x (attention's weighted sum of values).
func Axpy(dst []float32, alpha float32, x []float32) {
	x = x[:len(dst)]
	if archAxpy(dst, alpha, x) {
		return
	}
	for i := range dst {
		dst[i] += alpha * x[i]
	}
}

// Dot returns Σ a[i]*b[i] over len(a) (b must be at least as long).
func Dot(a, b []float32) float32 {
	b = b[:len(a)]
	if s, ok := archDotF32(a, b); ok {
		return s
	}
	return dotF32Generic(a, b)
}

// RoPEFreqs returns the ropeDim/2 inverse frequencies base^(-2i/ropeDim).
func RoPEFreqs(ropeDim int, base float32) []float32 {
	f := make([]float32, ropeDim/2)
	for i := range f {
		f[i] = float32(math.Pow(float64(base), -2*float64(i)/float64(ropeDim)))
	}
	return f
}

// RoPE rotates, in every head of x (len(x) a multiple of headDim), the first
// ropeDim dimensions by angle pos*freqs[i] for pair i. Normal mode pairs
// adjacent dimensions (2i, 2i+1) (llama); neox mode pairs i with i+ropeDim/2
// (qwen2, gpt-neox). Dimensions past ropeDim are left alone.
func RoPE(x []float32, pos int, headDim, ropeDim int, freqs []float32, neox bool) {
	halfDim := ropeDim / 2
	freqs = freqs[:halfDim]
	var cs [256][2]float32
	var trig [][2]float32
	if halfDim <= len(cs) {
		trig = cs[:halfDim]
	} else {
		trig = make([][2]float32, halfDim)
	}
	for i, f := range freqs {
		s, c := math.Sincos(float64(pos) * float64(f))
		trig[i] = [2]float32{float32(c), float32(s)}
	}
	for h := 0; h+headDim <= len(x); h += headDim {
		head := x[h : h+ropeDim]
		for i, t := range trig {
			a, b := 2*i, 2*i+1
			if neox {
				a, b = i, i+halfDim
			}
			x0, x1 := head[a], head[b]
			head[a] = x0*t[0] - x1*t[1]
			head[b] = x0*t[1] + x1*t[0]
		}
	}
}

// DotStrided sets dst[t] = scale * q·m[t*stride:] for every t: one query
// against many keys (attention scores), without a call per key through
// the dispatch layers. Key t's score does not depend on the others (its
// sum runs in the same order whatever len(dst) is), though it may round
// otherwise than Dot.
func DotStrided(dst, q, m []float32, stride int, scale float32) {
	if len(dst) == 0 {
		return
	}
	_ = m[(len(dst)-1)*stride+len(q)-1]
	if archDotStrided(dst, q, m, stride, scale) {
		return
	}
	for t := range dst {
		dst[t] = scale * dotF32Generic(q, m[t*stride:t*stride+len(q)])
	}
}

// AxpyStrided adds p[t] * m[t*stride : t*stride+len(dst)] to dst for every
// t (attention's weighted sum of values).
func AxpyStrided(dst, p, m []float32, stride int) {
	if len(p) == 0 || len(dst) == 0 {
		return
	}
	_ = m[(len(p)-1)*stride+len(dst)-1]
	if archAxpyStrided(dst, p, m, stride) {
		return
	}
	for t, a := range p {
		x := m[t*stride : t*stride+len(dst)]
		for i := range dst {
			dst[i] += a * x[i]
		}
	}
}

// DotStridedF16 is DotStrided over fp16 rows (m holds IEEE half-precision
// bits: an F16 KV cache). Widening is exact, so it gives what DotStrided
// gives for the widened rows, bit for bit.
func DotStridedF16(dst, q []float32, m []uint16, stride int, scale float32) {
	if len(dst) == 0 {
		return
	}
	_ = m[(len(dst)-1)*stride+len(q)-1]
	if archDotStridedF16(dst, q, m, stride, scale) {
		return
	}
	// Elsewhere the float loop's per-row fallback, on each widened row.
	row := make([]float32, len(q))
	for t := range dst {
		widenHalf(row, m[t*stride:])
		DotStrided(dst[t:t+1], q, row, 0, scale)
	}
}

// AxpyStridedF16 is AxpyStrided over fp16 rows, giving what AxpyStrided
// gives for the widened rows.
func AxpyStridedF16(dst, p []float32, m []uint16, stride int) {
	if len(p) == 0 || len(dst) == 0 {
		return
	}
	_ = m[(len(p)-1)*stride+len(dst)-1]
	if archAxpyStridedF16(dst, p, m, stride) {
		return
	}
	row := make([]float32, len(dst))
	for t := range p {
		widenHalf(row, m[t*stride:])
		AxpyStrided(dst, p[t:t+1], row, 0)
	}
}

func widenHalf(dst []float32, src []uint16) {
	for i := range dst {
		dst[i] = HalfToFloat(src[i])
	}
}
