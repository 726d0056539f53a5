//go:build !purego

package tensor

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// detectISA picks the best tier this CPU (and OS) runs. The AVX2 kernels
// need AVX2 for the integer multiply-adds, FMA for the accumulators and
// F16C for the fp16 scales; the AVX-512 GEMM kernels add 512-bit registers
// (F), byte/word ops (BW), the 128/256-bit EVEX forms (VL) and the u8×s8
// dot products (VNNI). x/sys/cpu reports a feature only when the OS saves
// its registers.
func detectISA() isaLevel {
	x := cpu.X86
	if !(x.HasAVX2 && x.HasFMA && x.HasF16C) {
		return isaGeneric
	}
	if x.HasAVX512F && x.HasAVX512BW && x.HasAVX512VL && x.HasAVX512VNNI {
		return isaAVX512
	}
	return isaAVX2
}

// useAVX2 reports whether the AVX2 kernels (the base of every tier above
// generic) run.
func useAVX2() bool { return isa >= isaAVX2 }

// archKernel returns the assembly row kernel for t, or nils to use the
// reference.
func archKernel(t Type) (floatDot, quantDot) {
	if !useAVX2() {
		return nil, nil
	}
	switch t {
	case F32:
		return func(w []byte, x []float32) float32 {
			if len(x) == 0 {
				return 0
			}
			_ = w[4*len(x)-1]
			return dotF32AVX2(f32view(w), &x[0], len(x))
		}, nil
	case F16:
		return func(w []byte, x []float32) float32 {
			if len(x) == 0 {
				return 0
			}
			_ = w[2*len(x)-1]
			return dotF16AVX2(&w[0], &x[0], len(x))
		}, nil
	case BF16:
		return func(w []byte, x []float32) float32 {
			if len(x) == 0 {
				return 0
			}
			_ = w[2*len(x)-1]
			return dotBF16AVX2(&w[0], &x[0], len(x))
		}, nil
	case Q8_0:
		return nil, func(w []byte, a *q8Act) float32 {
			nb := len(a.d)
			_ = w[34*nb-1]
			return dotQ8_0AVX2(&w[0], &a.qs[0], &a.d[0], nb)
		}
	case Q4_0:
		return nil, blockKernel(dotQ4_0AVX2, 18)
	case Q4_1:
		return nil, blockKernel(dotQ4_1AVX2, 20)
	case Q5_0:
		return nil, blockKernel(dotQ5_0AVX2, 22)
	case Q5_1:
		return nil, blockKernel(dotQ5_1AVX2, 24)
	case Q4_K:
		return nil, kBlockKernel(dotQ4_KAVX2, 144)
	case Q5_K:
		return nil, kBlockKernel(dotQ5_KAVX2, 176)
	case Q6_K:
		return nil, func(w []byte, a *q8Act) float32 {
			nsb := len(a.d) / 8
			_ = w[210*nsb-1]
			return dotQ6_KAVX2(&w[0], &a.qs[0], &a.d[0], nsb)
		}
	}
	return nil, nil
}

func blockKernel(k func(w *byte, x *int8, d, s *float32, nb int) float32, size int) quantDot {
	return func(w []byte, a *q8Act) float32 {
		nb := len(a.d)
		_ = w[size*nb-1]
		_ = a.s[nb-1]
		return k(&w[0], &a.qs[0], &a.d[0], &a.s[0], nb)
	}
}

func archQuantizeAct(a *q8Act, x []float32) bool {
	if !useAVX2() || len(x) == 0 {
		return false
	}
	nb := len(x) / 32
	_, _, _ = a.qs[32*nb-1], a.d[nb-1], a.sum16[2*nb-1]
	quantizeActAVX2(&x[0], &a.qs[0], &a.d[0], &a.sum16[0], nb)
	a.finishSums()
	return true
}

func archDotF32(a, b []float32) (float32, bool) {
	if !useAVX2() || len(a) == 0 {
		return 0, false
	}
	_ = b[len(a)-1]
	return dotF32AVX2(&a[0], &b[0], len(a)), true
}

// f32view reinterprets F32 weight bytes in place (x86 loads unaligned
// floats fine).
func f32view(w []byte) *float32 { return (*float32)(unsafe.Pointer(unsafe.SliceData(w))) }

// kBlockKernel adapts a K-quant kernel, which counts 256-element super-blocks.
func kBlockKernel(k func(w *byte, x *int8, d, s *float32, nsb int) float32, size int) quantDot {
	return func(w []byte, a *q8Act) float32 {
		nsb := len(a.d) / 8
		_ = w[size*nsb-1]
		_ = a.s[8*nsb-1]
		return k(&w[0], &a.qs[0], &a.d[0], &a.s[0], nsb)
	}
}

// archExpSubSum sets x[i] = exp(x[i]-m) over the longest multiple-of-8
// prefix and returns how many it did and their sum.
func archExpSubSum(x []float32, m float32) (int, float64) {
	n := len(x) &^ 7
	if !useAVX2() || n == 0 {
		return 0, 0
	}
	return n, expSubSumAVX2(&x[0], n, m)
}

// archMax returns the largest of the longest multiple-of-32 prefix of x
// and its length (0: none done).
func archMax(x []float32) (int, float32) {
	n := len(x) &^ 31
	if !useAVX2() || n == 0 {
		return 0, 0
	}
	return n, maxAVX2(&x[0], n)
}

// archScale scales the longest multiple-of-8 prefix of x and returns its
// length.
func archScale(x []float32, s float32) int {
	n := len(x) &^ 7
	if !useAVX2() || n == 0 {
		return 0
	}
	scaleAVX2(&x[0], n, s)
	return n
}

// archSwiGLU does a multiple-of-8 prefix of SwiGLU (up nil: SiLU).
func archSwiGLU(dst, gate, up []float32) int {
	n := len(gate) &^ 7
	if !useAVX2() || n == 0 {
		return 0
	}
	_ = dst[n-1]
	var u *float32
	if up != nil {
		u = &up[:n][0]
	}
	swigluAVX2(&dst[0], &gate[0], u, n)
	return n
}

func archAxpy(dst []float32, alpha float32, x []float32) bool {
	if !useAVX2() || len(dst) == 0 {
		return false
	}
	_ = x[len(dst)-1]
	axpyAVX2(&dst[0], &x[0], alpha, len(dst))
	return true
}

// archKernel4 returns a kernel computing one row against four consecutive
// vectors of a batch (a holds at least four), or nil.
func archKernel4(t Type) quad {
	if !useAVX2() {
		return nil
	}
	var k func(w *byte, x *int8, d, s *float32, nb int, out *float32)
	size := 0
	switch t {
	case Q8_0:
		k, size = dotQ8_0x4AVX2, 34
	case Q4_0:
		k, size = dotQ4_0x4AVX2, 18
	case Q5_0:
		k, size = dotQ5_0x4AVX2, 22
	case Q4_K:
		k, size = dotQ4_Kx4AVX2, 144
	case Q6_K:
		k, size = dotQ6_Kx4AVX2, 210
	default:
		return nil
	}
	per := t.BlockSize() / 32 // nb counts 32-element blocks
	return func(w []byte, a *q8Act, nb int, out *[4]float32) {
		_ = w[size*(nb/per)-1]
		_ = a.qs[4*32*nb-1]
		_ = a.s[4*nb-1]
		k(&w[0], &a.qs[0], &a.d[0], &a.s[0], nb, &out[0])
	}
}

// archDotStrided is DotStrided with the assembly dot; the caller checked
// the bounds.
func archDotStrided(dst, q, m []float32, stride int, scale float32) bool {
	if !useAVX2() || len(q) == 0 {
		return false
	}
	if isa >= isaAVX512 && len(q)%16 == 0 {
		dotStridedAVX512(&dst[0], &q[0], &m[0], 4*stride, len(dst), len(q), scale)
		return true
	}
	if len(q)%32 == 0 {
		dotStridedAVX2(&dst[0], &q[0], &m[0], 4*stride, len(dst), len(q), scale)
		return true
	}
	base := unsafe.Pointer(unsafe.SliceData(m))
	for t := range dst {
		dst[t] = scale * dotF32AVX2(&q[0], (*float32)(unsafe.Add(base, 4*t*stride)), len(q))
	}
	return true
}

// archAxpyStrided is AxpyStrided with the assembly axpy; the caller
// checked the bounds.
func archAxpyStrided(dst, p, m []float32, stride int) bool {
	if !useAVX2() {
		return false
	}
	if isa >= isaAVX512 && len(dst)%64 == 0 && len(p) > 0 {
		axpyStridedAVX512(&dst[0], &p[0], &m[0], 4*stride, len(p), len(dst))
		return true
	}
	if len(dst)%32 == 0 && len(p) > 0 {
		axpyStridedAVX2(&dst[0], &p[0], &m[0], 4*stride, len(p), len(dst))
		return true
	}
	base := unsafe.Pointer(unsafe.SliceData(m))
	for t, a := range p {
		axpyAVX2(&dst[0], (*float32)(unsafe.Add(base, 4*t*stride)), a, len(dst))
	}
	return true
}

// archRows returns a kernel dotting consecutive rows (rs bytes apart) with
// one activation vector, calling the assembly directly: for the small
// rows of decoding, a closure call per row is a measurable share.
func archRows(t Type) rowsKernel {
	if !useAVX2() {
		return nil
	}
	if isa >= isaAVX512 && (t == Q4_0 || t == Q5_0 || t == Q8_0) {
		return archRowsAVX512(t)
	}
	switch t {
	case Q8_0:
		return func(dst []float32, w []byte, rs int, a *q8Act) {
			nb := len(a.d)
			if len(dst) == 0 || nb == 0 {
				return
			}
			_ = w[(len(dst)-1)*rs+34*nb-1]
			base := unsafe.Pointer(unsafe.SliceData(w))
			for r := range dst {
				dst[r] = dotQ8_0AVX2((*byte)(unsafe.Add(base, r*rs)), &a.qs[0], &a.d[0], nb)
			}
		}
	case Q4_0:
		return blockRows(dotQ4_0AVX2, 18, 1)
	case Q4_1:
		return blockRows(dotQ4_1AVX2, 20, 1)
	case Q5_0:
		return blockRows(dotQ5_0AVX2, 22, 1)
	case Q5_1:
		return blockRows(dotQ5_1AVX2, 24, 1)
	case Q4_K:
		return blockRows(dotQ4_KAVX2, 144, 8)
	case Q5_K:
		return blockRows(dotQ5_KAVX2, 176, 8)
	case Q6_K:
		return func(dst []float32, w []byte, rs int, a *q8Act) {
			nsb := len(a.d) / 8
			if len(dst) == 0 || nsb == 0 {
				return
			}
			_ = w[(len(dst)-1)*rs+210*nsb-1]
			base := unsafe.Pointer(unsafe.SliceData(w))
			for r := range dst {
				dst[r] = dotQ6_KAVX2((*byte)(unsafe.Add(base, r*rs)), &a.qs[0], &a.d[0], nsb)
			}
		}
	}
	return nil
}

// archFloatRows returns the row kernel of a float type, or nil.
func archFloatRows(t Type) floatRows {
	if !useAVX2() {
		return nil
	}
	var k func(dst *float32, w *byte, rs, rows int, x *float32, n int)
	switch t {
	case F32:
		k = dotRowsF32AVX2
	case F16:
		k = dotRowsF16AVX2
	case BF16:
		k = dotRowsBF16AVX2
	default:
		return nil
	}
	size := t.RowSize(1)
	return func(dst []float32, w []byte, rs int, x []float32) {
		if len(dst) == 0 {
			return
		}
		if len(x) == 0 {
			clear(dst)
			return
		}
		_ = w[(len(dst)-1)*rs+size*len(x)-1]
		k(&dst[0], &w[0], rs, len(dst), &x[0], len(x))
	}
}

// blockRows is archRows for kernels taking block sums; per is how many
// 32-element blocks the kernel's count covers (8 for K-quants).
func blockRows(k func(w *byte, x *int8, d, s *float32, nb int) float32, size, per int) rowsKernel {
	return func(dst []float32, w []byte, rs int, a *q8Act) {
		nb := len(a.d) / per
		if len(dst) == 0 || nb == 0 {
			return
		}
		_ = w[(len(dst)-1)*rs+size*nb-1]
		_ = a.s[per*nb-1]
		base := unsafe.Pointer(unsafe.SliceData(w))
		for r := range dst {
			dst[r] = k((*byte)(unsafe.Add(base, r*rs)), &a.qs[0], &a.d[0], &a.s[0], nb)
		}
	}
}

// StridedF16 reports whether DotStridedF16 and AxpyStridedF16 run in
// assembly for rows of headDim values (elsewhere they widen row by row).
func StridedF16(headDim int) bool {
	return headDim > 0 && dotStridedF16Tier(headDim) != isaGeneric && axpyStridedF16Tier(headDim) != isaGeneric
}

// dotStridedF16Tier and axpyStridedF16Tier are the kernels that take
// rows of n values whole: the dispatch of the two below, and what
// StridedF16 reports.
func dotStridedF16Tier(n int) isaLevel {
	switch {
	case isa >= isaAVX512 && n%16 == 0 && n > 0:
		return isaAVX512
	case useAVX2() && n%32 == 0 && n > 0:
		return isaAVX2
	}
	return isaGeneric
}

func axpyStridedF16Tier(n int) isaLevel {
	switch {
	case isa >= isaAVX512 && n%64 == 0:
		return isaAVX512
	case useAVX2() && n%32 == 0:
		return isaAVX2
	}
	return isaGeneric
}

// archDotStridedF16 is DotStridedF16 in assembly, for the widths the float
// kernels take whole (elsewhere the generic loop, which widens each row).
func archDotStridedF16(dst, q []float32, m []uint16, stride int, scale float32) bool {
	switch dotStridedF16Tier(len(q)) {
	case isaAVX512:
		dotStridedF16AVX512(&dst[0], &q[0], &m[0], 2*stride, len(dst), len(q), scale)
	case isaAVX2:
		dotStridedF16AVX2(&dst[0], &q[0], &m[0], 2*stride, len(dst), len(q), scale)
	default:
		return false
	}
	return true
}

// archAxpyStridedF16 is AxpyStridedF16 in assembly, as archDotStridedF16.
func archAxpyStridedF16(dst, p []float32, m []uint16, stride int) bool {
	switch axpyStridedF16Tier(len(dst)) {
	case isaAVX512:
		axpyStridedF16AVX512(&dst[0], &p[0], &m[0], 2*stride, len(p), len(dst))
	case isaAVX2:
		axpyStridedF16AVX2(&dst[0], &p[0], &m[0], 2*stride, len(p), len(dst))
	default:
		return false
	}
	return true
}

// attend3Fits reports whether archAttend3 takes heads of width hd.
func attend3Fits(hd int) bool {
	return isa >= isaAVX512 && hd%64 == 0 && hd > 0
}

// archAttend3 is attend3 in assembly, or false: the scores of the three
// heads four keys at a time (the last keys one at a time by the one-head
// loop, as it takes them), each head's softmax, and the weighted sums of
// the values.
func archAttend3(o, q, sc []float32, keys, vals KV, off, stride int, scale float32) bool {
	hd, ctx := len(q)/3, len(sc)/3
	if !attend3Fits(hd) || ctx == 0 {
		return false
	}
	_, _ = o[3*hd-1], sc[3*ctx-1]
	last := off + (ctx-1)*stride + hd - 1
	k4 := ctx &^ 3
	if keys.H != nil {
		_, _ = keys.H[last], vals.H[last]
		if k4 > 0 {
			dot3StridedF16AVX512(&sc[0], 4*ctx, &q[0], 4*hd, &keys.H[off], 2*stride, k4, hd, scale)
		}
	} else {
		_, _ = keys.F[last], vals.F[last]
		if k4 > 0 {
			dot3StridedAVX512(&sc[0], 4*ctx, &q[0], 4*hd, &keys.F[off], 4*stride, k4, hd, scale)
		}
	}
	for g := range 3 {
		row, qg := sc[g*ctx:(g+1)*ctx], q[g*hd:(g+1)*hd]
		if k4 < ctx {
			if keys.H != nil {
				DotStridedF16(row[k4:], qg, keys.H[off+k4*stride:], stride, scale)
			} else {
				DotStrided(row[k4:], qg, keys.F[off+k4*stride:], stride, scale)
			}
		}
		Softmax(row)
	}
	clear(o[:3*hd])
	if vals.H != nil {
		axpy3StridedF16AVX512(&o[0], 4*hd, &sc[0], 4*ctx, &vals.H[off], 2*stride, ctx, hd)
	} else {
		axpy3StridedAVX512(&o[0], 4*hd, &sc[0], 4*ctx, &vals.F[off], 4*stride, ctx, hd)
	}
	return true
}
