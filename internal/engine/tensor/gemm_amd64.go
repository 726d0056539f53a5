//go:build !purego

package tensor

import "unsafe"

// GEMM micro-kernels: gemm_avx512_amd64.s and gemm_avx2_amd64.s, twins
// in gemm_ref.go. Pointers address the first element; strides count
// elements; the Go wrappers (gemm.go) bounds-check before calling.

//go:noescape
func gemmF32p4AVX512(w *float32, rs, ks int, x *float32, k, nv int, out *float32, ldc int)

//go:noescape
func gemmF32p3AVX512(w *float32, rs, ks int, x *float32, k, nv int, out *float32, ldc int)

//go:noescape
func gemmF32p2AVX512(w *float32, rs, ks int, x *float32, k, nv int, out *float32, ldc int)

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
		if nv > 0 {
			switch np - p {
			case 3:
				gemmF32p3AVX512(&w[0], rs, ks, &xp[p*K*16], K, min(nv, 48), &out[p*16*ldc], ldc)
			case 2:
				gemmF32p2AVX512(&w[0], rs, ks, &xp[p*K*16], K, min(nv, 32), &out[p*16*ldc], ldc)
			case 1:
				gemmF32p1AVX512(&w[0], rs, ks, &xp[p*K*16], K, min(nv, 16), &out[p*16*ldc], ldc)
			}
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

// archNarrowF16 converts the longest multiple-of-8 prefix of src to fp16
// in dst, returning its length.
func archNarrowF16(dst []byte, src []float32) int {
	n := len(src) &^ 7
	if isa < isaAVX2 || n == 0 {
		return 0
	}
	_ = dst[2*n-1]
	narrowF16AVX2(&dst[0], &src[0], n)
	return n
}

//go:noescape
func narrowF16AVX2(dst *byte, src *float32, n int)

//go:noescape
func gemmQSp2AVX512(wt, x *byte, nb, nv int, out *float32, ldc int)

//go:noescape
func gemmQSp1AVX512(wt, x *byte, nb, nv int, out *float32, ldc int)

//go:noescape
func gemmQMp2AVX512(wt, x *byte, nb, nv int, out *float32, ldc int)

//go:noescape
func gemmQMp1AVX512(wt, x *byte, nb, nv int, out *float32, ldc int)

//go:noescape
func gemmQHp2AVX512(wt, x *byte, nb, nv int, out *float32, ldc int)

//go:noescape
func gemmQHp1AVX512(wt, x *byte, nb, nv int, out *float32, ldc int)

// gemmQKernels are the quantized micro-kernels for two panels and for
// one, by kind.
var gemmQKernels = [...][2]func(wt, x *byte, nb, nv int, out *float32, ldc int){
	qSym:  {gemmQSp2AVX512, gemmQSp1AVX512},
	qMin:  {gemmQMp2AVX512, gemmQMp1AVX512},
	qHalf: {gemmQHp2AVX512, gemmQHp1AVX512},
}

// archGemmQ runs the quantized micro-kernel over np panels with VNNI, or
// reports false. Arguments are checked by gemmQ.
func archGemmQ(kind qKind, wt, xq []byte, nb, np, nv int, out []float32, ldc int) bool {
	if isa < isaAVX512 {
		return false
	}
	k, pb := gemmQKernels[kind], nb*640
	for p := 0; p < np && nv > 0; {
		step := min(np-p, 2)
		k[2-step](&wt[0], &xq[p*pb], nb, min(nv, 16*step), &out[p*16*ldc], ldc)
		p, nv = p+step, nv-16*step
	}
	return true
}

//go:noescape
func decQ8_0AVX512(lv, meta, row *byte, nb int)

//go:noescape
func decQ4_0AVX512(lv, meta, row *byte, nb int)

//go:noescape
func decQ5_0AVX512(lv, meta, row *byte, nb int)

//go:noescape
func decQ4_KAVX512(lv, meta, row *byte, nsb int)

//go:noescape
func decQ6_KAVX512(lv, meta, row *byte, nsb int)

// archDecodeTile decodes row r of a tile with AVX-512, or reports false:
// levels, ncorr and, for the 32-element formats, the scales (the
// K-quants' scales are left to the caller).
func archDecodeTile(t Type, dst, row []byte, r, nb int) bool {
	if isa < isaAVX512 || nb == 0 {
		return false
	}
	var k func(lv, meta, row *byte, nb int)
	tb, count := 176, nb
	switch t {
	case Q8_0:
		k = decQ8_0AVX512
	case Q4_0:
		k = decQ4_0AVX512
	case Q5_0:
		k = decQ5_0AVX512
	case Q4_K:
		k, count = decQ4_KAVX512, nb/8
	case Q6_K:
		k, tb, count = decQ6_KAVX512, 192, nb/8
	default:
		return false
	}
	_ = dst[nb*tb-1]
	_ = row[t.RowSize(32*nb)-1]
	k(&dst[32*r], &dst[128+4*r], &row[0], count)
	return true
}

//go:noescape
func quantPackAVX512(x *float32, xq *byte, nb int)

// archQuantPack quantizes x (nb blocks) into lane of the panel xq, or
// reports false (then the caller quantizes and packs with the twins).
func archQuantPack(xq []byte, x []float32, nb, lane int) bool {
	if isa < isaAVX512 || nb == 0 {
		return false
	}
	_, _ = x[32*nb-1], xq[nb*640-1]
	if lane < 0 || lane >= 16 {
		panic("tensor: quantPack lane out of range")
	}
	quantPackAVX512(&x[0], &xq[4*lane], nb)
	return true
}

//go:noescape
func packF32AVX512(xp, x *float32, ldx, n, k int)

//go:noescape
func packF32x16AVX512(xp, x *float32, ldx, kb int)

// archPackF32 is packF32 with AVX-512, or reports false: full panels are
// transposed sixteen columns at a time, partial panels and the last
// columns gathered. Arguments are checked by packF32.
func archPackF32(xp, x []float32, ldx, n, K int) bool {
	if isa < isaAVX512 || ldx > 1<<26 {
		return false
	}
	for p := 0; p < n; p += 16 {
		k := 0
		if n-p >= 16 && K >= 16 {
			k = K &^ 15
			packF32x16AVX512(&xp[p*K], &x[p*ldx], ldx, k/16)
		}
		if k < K {
			packF32AVX512(&xp[p*K+k*16], &x[p*ldx+k], ldx, min(16, n-p), K-k)
		}
	}
	return true
}

//go:noescape
func dotRowsQ4_0AVX512(dst *float32, w *byte, rs, rows int, x *int8, d *float32, nb int, sum *int32)

//go:noescape
func dotRowsQ5_0AVX512(dst *float32, w *byte, rs, rows int, x *int8, d *float32, nb int, sum *int32)

//go:noescape
func dotRowsQ8_0AVX512(dst *float32, w *byte, rs, rows int, x *int8, d *float32, nb int, sum *int32)

//go:noescape
func dotRowsQ8_0xTAVX512(dst *float32, w *byte, rs, rows int, xt *byte, nb, ldd int, facc, fend *float32, xs int)

//go:noescape
func transQ8AVX512(dst *byte, qs *int8, sum *int32, d *float32, nb int)

// archTransposeQ8 is transposeQ8 in assembly, where the kernel that reads
// it runs.
func archTransposeQ8(dst []byte, a *q8Act) bool {
	nb := len(a.d)
	if isa < isaAVX512 || nb == 0 {
		return false
	}
	_, _, _ = dst[transBytes(nb)-1], a.qs[32*nb-1], a.sum[nb-1]
	transQ8AVX512(&dst[0], &a.qs[0], &a.sum[0], &a.d[0], nb)
	return true
}

// archRowsN returns the kernel dotting consecutive rows with several
// vectors at once, each weight block loaded once for all of them, or nil.
// Each vector's sums are formed exactly as the one-vector kernel forms
// them, so a row's result does not depend on how many vectors share the
// call (a sequence decodes the same tokens batched or alone).
func archRowsN(t Type) rowsNKernel {
	if isa < isaAVX512 || t != Q8_0 {
		return nil
	}
	return func(dst []float32, ldd, rows int, w []byte, rs int, a *q8Act, nb, v0, n int) {
		if rows == 0 || nb == 0 || n == 0 {
			return
		}
		if n > maxRowsVectors {
			panic("tensor: too many vectors for the row kernel")
		}
		xs := transBytes(nb)
		_, _, _ = dst[(n-1)*ldd+rows-1], w[(rows-1)*rs+34*nb-1], a.t[xs*(v0+n)-1]
		// Eight running sums per vector for each of two rows; one spare
		// vector's worth so that the end pointer stays inside the array, as
		// unsafe.Add requires.
		var facc [2 * 8 * (maxRowsVectors + 1)]float32
		dotRowsQ8_0xTAVX512(&dst[0], &w[0], rs, rows, &a.t[xs*v0], nb, 4*ldd,
			&facc[0], (*float32)(unsafe.Add(unsafe.Pointer(&facc[0]), 32*n)), xs)
	}
}

// archRowsAVX512 returns the AVX-512 mat-vec row kernel for t, or nil.
// VNNI's VPDPBUSD sums four products per lane in one instruction and the
// scales are applied eight blocks at a time, where AVX2 needs three
// instructions per product step and a scalar scale per block.
func archRowsAVX512(t Type) rowsKernel {
	var k func(dst *float32, w *byte, rs, rows int, x *int8, d *float32, nb int, sum *int32)
	switch t {
	case Q4_0:
		k = dotRowsQ4_0AVX512
	case Q5_0:
		k = dotRowsQ5_0AVX512
	case Q8_0:
		k = dotRowsQ8_0AVX512
	default:
		return nil
	}
	bs := t.RowSize(32)
	return func(dst []float32, w []byte, rs int, a *q8Act) {
		nb := len(a.d)
		if len(dst) == 0 || nb == 0 {
			return
		}
		_, _, _ = w[(len(dst)-1)*rs+bs*nb-1], a.qs[32*nb-1], a.sum[nb-1]
		k(&dst[0], &w[0], rs, len(dst), &a.qs[0], &a.d[0], nb, &a.sum[0])
	}
}
