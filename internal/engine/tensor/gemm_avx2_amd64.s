//go:build !purego

#include "textflag.h"

// AVX2 GEMM micro-kernels (twins in gemm_ref.go): a tile of four weight
// rows against packed panels of 8 vectors, vectors in the lanes.

#include "gemm_amd64.h"

#define STY(reg, half, done) \
	VEXTRACTF128 $half, reg, (BX) \
	ADDQ         DX, BX \
	DECQ         AX \
	JZ           done

#define STORE8(a, b, c, d, done) \
	TRANS4(a, b, c, d, Y0, Y1, Y2, Y3) \
	STY(a, 0, done) \
	STY(b, 0, done) \
	STY(c, 0, done) \
	STY(d, 0, done) \
	STY(a, 1, done) \
	STY(b, 1, done) \
	STY(c, 1, done) \
	STY(d, 1, done)

#define FMA3(mem, a0, a1, a2) \
	VBROADCASTSS mem, Y3 \
	VFMADD231PS  Y3, Y0, a0 \
	VFMADD231PS  Y3, Y1, a1 \
	VFMADD231PS  Y3, Y2, a2

// FMAROWSY multiplies panel x by each of the four rows' weights at
// (SI), broadcast in turn into Y3.
#define FMAROWSY(x, a0, a1, a2, a3) \
	VBROADCASTSS (SI), Y3 \
	VFMADD231PS  Y3, x, a0 \
	VBROADCASTSS (SI)(R8*1), Y3 \
	VFMADD231PS  Y3, x, a1 \
	VBROADCASTSS (SI)(R8*2), Y3 \
	VFMADD231PS  Y3, x, a2 \
	VBROADCASTSS (SI)(R9*1), Y3 \
	VFMADD231PS  Y3, x, a3

#define ZERO4Y(a, b, c, d) \
	VXORPS a, a, a \
	VXORPS b, b, b \
	VXORPS c, c, c \
	VXORPS d, d, d

// func gemmF32p3AVX2(w *float32, rs, ks int, x *float32, k, nv int, out *float32, ldc int)
// gemmF32Ref for np = 3; row r, panel p accumulates in Y(4+3r+p).
TEXT ·gemmF32p3AVX2(SB), NOSPLIT, $0-64
	F32ARGS(5)
	ZERO4Y(Y4, Y5, Y6, Y7)
	ZERO4Y(Y8, Y9, Y10, Y11)
	ZERO4Y(Y12, Y13, Y14, Y15)

a3loop:
	VMOVUPS (DI), Y0
	VMOVUPS (DI)(R10*1), Y1
	VMOVUPS (DI)(R10*2), Y2
	FMA3((SI), Y4, Y5, Y6)
	FMA3((SI)(R8*1), Y7, Y8, Y9)
	FMA3((SI)(R8*2), Y10, Y11, Y12)
	FMA3((SI)(R9*1), Y13, Y14, Y15)
	ADDQ R12, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  a3loop

	F32STOREARGS
	STORE8(Y4, Y7, Y10, Y13, a3done)
	STORE8(Y5, Y8, Y11, Y14, a3done)
	STORE8(Y6, Y9, Y12, Y15, a3done)

a3done:
	VZEROUPPER
	RET

// func gemmF32p1AVX2(w *float32, rs, ks int, x *float32, k, nv int, out *float32, ldc int)
// gemmF32Ref for np = 1; even and odd k accumulate apart (Y4-Y7, Y8-Y11).
TEXT ·gemmF32p1AVX2(SB), NOSPLIT, $0-64
	F32ARGS(5)
	ZERO4Y(Y4, Y5, Y6, Y7)
	ZERO4Y(Y8, Y9, Y10, Y11)

a1loop2:
	CMPQ    CX, $2
	JLT     a1tail
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	FMAROWSY(Y0, Y4, Y5, Y6, Y7)
	ADDQ    R12, SI
	FMAROWSY(Y1, Y8, Y9, Y10, Y11)
	ADDQ    R12, SI
	ADDQ    $64, DI
	SUBQ    $2, CX
	JMP     a1loop2

a1tail:
	TESTQ   CX, CX
	JZ      a1sum
	VMOVUPS (DI), Y0
	FMAROWSY(Y0, Y4, Y5, Y6, Y7)

a1sum:
	VADDPS Y8, Y4, Y4
	VADDPS Y9, Y5, Y5
	VADDPS Y10, Y6, Y6
	VADDPS Y11, Y7, Y7
	F32STOREARGS
	STORE8(Y4, Y5, Y6, Y7, a1done)

a1done:
	VZEROUPPER
	RET

// func widenF16AVX2(dst *float32, src *byte, n int)
// dst[i] = half(src[2i:]) for i < n, n a positive multiple of 8.
TEXT ·widenF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX

wf16loop:
	VCVTPH2PS (SI), Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       wf16loop
	VZEROUPPER
	RET

// func narrowF16AVX2(dst *byte, src *float32, n int)
// widenF16AVX2's inverse: half(dst[2i:]) = src[i] rounded to nearest even
// (FloatToHalf), for i < n, n a positive multiple of 8.
TEXT ·narrowF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX

nf16loop:
	VMOVUPS   (SI), Y0
	VCVTPS2PH $0, Y0, X0
	VMOVDQU   X0, (DI)
	ADDQ      $32, SI
	ADDQ      $16, DI
	DECQ      CX
	JNZ       nf16loop
	VZEROUPPER
	RET

// func widenBF16AVX2(dst *float32, src *byte, n int)
// dst[i] = bf16(src[2i:]) for i < n, n a positive multiple of 8.
TEXT ·widenBF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX

wbf16loop:
	VPMOVZXWD (SI), Y0
	VPSLLD    $16, Y0, Y0
	VMOVDQU   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       wbf16loop
	VZEROUPPER
	RET
