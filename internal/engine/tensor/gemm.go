package tensor

import (
	"fmt"
	"unsafe"
)

// panelWidth is the vectors per packed panel: the float lanes of the
// widest vector register the current tier uses.
func panelWidth() int {
	if isa >= isaAVX512 {
		return 16
	}
	return 8
}

// gemmPanelGroup is how many panels the widest float micro-kernel of the
// tier takes at once; vector blocks are cut to multiples of it.
func gemmPanelGroup() int {
	switch isa {
	case isaAVX512:
		return 4
	case isaAVX2:
		return 3
	}
	return 1
}

// gemmF32 is the float micro-kernel of the current tier (see gemmF32Ref)
// after checking that every access is in bounds.
func gemmF32(w []float32, rs, ks int, xp []float32, K, np, nv int, out []float32, ldc int) {
	pw := panelWidth()
	if K < 1 || np < 1 || nv < 1 || nv > np*pw || rs < 0 || ks < 0 || ldc < gemmRows ||
		len(w) < (gemmRows-1)*rs+(K-1)*ks+1 || len(xp) < np*K*pw || len(out) < (nv-1)*ldc+gemmRows {
		panic(fmt.Sprintf("tensor: gemmF32 K=%d np=%d nv=%d rs=%d ks=%d ldc=%d on w %d, x %d, out %d",
			K, np, nv, rs, ks, ldc, len(w), len(xp), len(out)))
	}
	if !archGemmF32(w, rs, ks, xp, K, np, nv, out, ldc) {
		gemmF32Ref(w, rs, ks, xp, K, np, pw, nv, out, ldc)
	}
}

// packF32 packs n vectors of K floats, ldx apart in x, into panels of the
// current width (see packF32Ref).
func packF32(xp, x []float32, ldx, n, K int) {
	pw := panelWidth()
	if n < 1 || K < 1 || ldx < K || len(x) < (n-1)*ldx+K || len(xp) < (n+pw-1)/pw*pw*K {
		panic(fmt.Sprintf("tensor: packF32 of %d vectors of %d (ldx %d) from %d into %d", n, K, ldx, len(x), len(xp)))
	}
	if !archPackF32(xp, x, ldx, n, K) {
		packF32Ref(xp, x, ldx, n, K, pw)
	}
}

// bytesF32 views little-endian float32 bytes as floats (GGUF data is
// aligned; x86 and arm64 load unaligned floats anyway).
func bytesF32(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

// decodeFloatRow widens one row of float weights (F32, F16, BF16) to
// float32, exactly.
func decodeFloatRow(t Type, dst []float32, src []byte) {
	done := archWiden(t, dst, src)
	dequantize(t, src[done*t.TypeSize():], dst[done:])
}
