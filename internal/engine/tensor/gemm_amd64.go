//go:build !purego

package tensor

// GEMM micro-kernels: gemm_avx512_amd64.s and gemm_avx2_amd64.s, twins
// in gemm_ref.go. Pointers address the first element; strides count
// elements; the Go wrappers (gemm.go) bounds-check before calling.

//go:noescape
func gemmF32p4AVX512(w *float32, rs, ks int, x *float32, k, nv int, out *float32, ldc int)

//go:noescape
func gemmF32p1AVX512(w *float32, rs, ks int, x *float32, k, nv int, out *float32, ldc int)

//go:noescape
func gemmF32p3AVX2(w *float32, rs, ks int, x *float32, k, nv int, out *float32, ldc int)

//go:noescape
func gemmF32p1AVX2(w *float32, rs, ks int, x *float32, k, nv int, out *float32, ldc int)

// archGemmF32 runs the float micro-kernel over np panels on this tier's
// assembly, or reports false. Arguments are checked by gemmF32.
func archGemmF32(w []float32, rs, ks int, xp []float32, K, np, nv int, out []float32, ldc int) bool {
	switch isa {
	case isaAVX512:
		p := 0
		for ; np-p >= 4 && nv > 0; p, nv = p+4, nv-64 {
			gemmF32p4AVX512(&w[0], rs, ks, &xp[p*K*16], K, min(nv, 64), &out[p*16*ldc], ldc)
		}
		for ; p < np && nv > 0; p, nv = p+1, nv-16 {
			gemmF32p1AVX512(&w[0], rs, ks, &xp[p*K*16], K, min(nv, 16), &out[p*16*ldc], ldc)
		}
	case isaAVX2:
		p := 0
		for ; np-p >= 3 && nv > 0; p, nv = p+3, nv-24 {
			gemmF32p3AVX2(&w[0], rs, ks, &xp[p*K*8], K, min(nv, 24), &out[p*8*ldc], ldc)
		}
		for ; p < np && nv > 0; p, nv = p+1, nv-8 {
			gemmF32p1AVX2(&w[0], rs, ks, &xp[p*K*8], K, min(nv, 8), &out[p*8*ldc], ldc)
		}
	default:
		return false
	}
	return true
}

//go:noescape
func widenF16AVX2(dst *float32, src *byte, n int)

//go:noescape
func widenBF16AVX2(dst *float32, src *byte, n int)

// archWiden widens the longest multiple-of-8 prefix of F16 or BF16 src
// into dst and returns its length.
func archWiden(t Type, dst []float32, src []byte) int {
	n := len(dst) &^ 7
	if isa < isaAVX2 || n == 0 || (t != F16 && t != BF16) {
		return 0
	}
	_ = src[2*n-1]
	if t == F16 {
		widenF16AVX2(&dst[0], &src[0], n)
	} else {
		widenBF16AVX2(&dst[0], &src[0], n)
	}
	return n
}
