//go:build !purego

#include "textflag.h"

// AVX-512 GEMM micro-kernels (twins in gemm_ref.go): a tile of four
// weight rows against packed panels of 16 vectors, vectors in the lanes.
// Accumulator for row r and panel p is Z(16+4r+p).

#include "gemm_avx512_amd64.h"

// Loads the arguments shared by the float kernels: SI w, R8/R9 one and
// three row strides, R12 the k stride (bytes), DI x, CX k, R10 one
// panel (bytes).
#define F32ARGS \
	MOVQ w+0(FP), SI \
	MOVQ rs+8(FP), R8 \
	SHLQ $2, R8 \
	LEAQ (R8)(R8*2), R9 \
	MOVQ ks+16(FP), R12 \
	SHLQ $2, R12 \
	MOVQ x+24(FP), DI \
	MOVQ k+32(FP), CX \
	MOVQ CX, R10 \
	SHLQ $6, R10

#define STOREARGS \
	MOVQ out+48(FP), BX \
	MOVQ ldc+56(FP), DX \
	SHLQ $2, DX \
	MOVQ nv+40(FP), AX

// FMA4 multiplies the broadcast weight bc by panels Z0-Z3 into row r's
// accumulators.
#define FMA4(bc, a0, a1, a2, a3) \
	VFMADD231PS bc, Z0, a0 \
	VFMADD231PS bc, Z1, a1 \
	VFMADD231PS bc, Z2, a2 \
	VFMADD231PS bc, Z3, a3

// func gemmF32p4AVX512(w *float32, rs, ks int, x *float32, k, nv int, out *float32, ldc int)
// gemmF32Ref for np = 4.
TEXT ·gemmF32p4AVX512(SB), NOSPLIT, $0-64
	F32ARGS
	LEAQ   (R10)(R10*2), R11
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
	VPXORD Z30, Z30, Z30
	VPXORD Z31, Z31, Z31

f4loop:
	VMOVUPS      (DI), Z0
	VMOVUPS      (DI)(R10*1), Z1
	VMOVUPS      (DI)(R10*2), Z2
	VMOVUPS      (DI)(R11*1), Z3
	VBROADCASTSS (SI), Z4
	VBROADCASTSS (SI)(R8*1), Z5
	VBROADCASTSS (SI)(R8*2), Z6
	VBROADCASTSS (SI)(R9*1), Z7
	FMA4(Z4, Z16, Z17, Z18, Z19)
	FMA4(Z5, Z20, Z21, Z22, Z23)
	FMA4(Z6, Z24, Z25, Z26, Z27)
	FMA4(Z7, Z28, Z29, Z30, Z31)
	ADDQ R12, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  f4loop

	STOREARGS
	STORE16(Z16, Z20, Z24, Z28, f4done)
	STORE16(Z17, Z21, Z25, Z29, f4done)
	STORE16(Z18, Z22, Z26, Z30, f4done)
	STORE16(Z19, Z23, Z27, Z31, f4done)

f4done:
	VZEROUPPER
	RET

// FMA3Z and FMA2Z are FMA4 for three and two panels.
#define FMA3Z(bc, a0, a1, a2) \
	VFMADD231PS bc, Z0, a0 \
	VFMADD231PS bc, Z1, a1 \
	VFMADD231PS bc, Z2, a2

#define FMA2Z(bc, a0, a1) \
	VFMADD231PS bc, Z0, a0 \
	VFMADD231PS bc, Z1, a1

#define BCAST4 \
	VBROADCASTSS (SI), Z4 \
	VBROADCASTSS (SI)(R8*1), Z5 \
	VBROADCASTSS (SI)(R8*2), Z6 \
	VBROADCASTSS (SI)(R9*1), Z7

// func gemmF32p3AVX512(w *float32, rs, ks int, x *float32, k, nv int, out *float32, ldc int)
// gemmF32Ref for np = 3; row r, panel p accumulates in Z(16+4r+p).
TEXT ·gemmF32p3AVX512(SB), NOSPLIT, $0-64
	F32ARGS
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
	VPXORD Z30, Z30, Z30

f3loop:
	VMOVUPS (DI), Z0
	VMOVUPS (DI)(R10*1), Z1
	VMOVUPS (DI)(R10*2), Z2
	BCAST4
	FMA3Z(Z4, Z16, Z17, Z18)
	FMA3Z(Z5, Z20, Z21, Z22)
	FMA3Z(Z6, Z24, Z25, Z26)
	FMA3Z(Z7, Z28, Z29, Z30)
	ADDQ R12, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  f3loop

	STOREARGS
	STORE16(Z16, Z20, Z24, Z28, f3done)
	STORE16(Z17, Z21, Z25, Z29, f3done)
	STORE16(Z18, Z22, Z26, Z30, f3done)

f3done:
	VZEROUPPER
	RET

// func gemmF32p2AVX512(w *float32, rs, ks int, x *float32, k, nv int, out *float32, ldc int)
// gemmF32Ref for np = 2: row r, panel p accumulates even k in
// Z(16+2r+p), odd k in Z(24+2r+p).
TEXT ·gemmF32p2AVX512(SB), NOSPLIT, $0-64
	F32ARGS
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
	VPXORD Z30, Z30, Z30
	VPXORD Z31, Z31, Z31

f2loop2:
	CMPQ    CX, $2
	JLT     f2tail
	VMOVUPS (DI), Z0
	VMOVUPS (DI)(R10*1), Z1
	BCAST4
	FMA2Z(Z4, Z16, Z17)
	FMA2Z(Z5, Z18, Z19)
	FMA2Z(Z6, Z20, Z21)
	FMA2Z(Z7, Z22, Z23)
	ADDQ    R12, SI
	VMOVUPS 64(DI), Z0
	VMOVUPS 64(DI)(R10*1), Z1
	BCAST4
	FMA2Z(Z4, Z24, Z25)
	FMA2Z(Z5, Z26, Z27)
	FMA2Z(Z6, Z28, Z29)
	FMA2Z(Z7, Z30, Z31)
	ADDQ    R12, SI
	ADDQ    $128, DI
	SUBQ    $2, CX
	JMP     f2loop2

f2tail:
	TESTQ   CX, CX
	JZ      f2sum
	VMOVUPS (DI), Z0
	VMOVUPS (DI)(R10*1), Z1
	BCAST4
	FMA2Z(Z4, Z16, Z17)
	FMA2Z(Z5, Z18, Z19)
	FMA2Z(Z6, Z20, Z21)
	FMA2Z(Z7, Z22, Z23)

f2sum:
	VADDPS Z24, Z16, Z16
	VADDPS Z25, Z17, Z17
	VADDPS Z26, Z18, Z18
	VADDPS Z27, Z19, Z19
	VADDPS Z28, Z20, Z20
	VADDPS Z29, Z21, Z21
	VADDPS Z30, Z22, Z22
	VADDPS Z31, Z23, Z23
	STOREARGS
	STORE16(Z16, Z18, Z20, Z22, f2done)
	STORE16(Z17, Z19, Z21, Z23, f2done)

f2done:
	VZEROUPPER
	RET

// func gemmF32p1AVX512(w *float32, rs, ks int, x *float32, k, nv int, out *float32, ldc int)
// gemmF32Ref for np = 1. Even and odd k go to separate accumulators
// (Z16-Z19, Z20-Z23) so four FMA chains do not wait on each other.
TEXT ·gemmF32p1AVX512(SB), NOSPLIT, $0-64
	F32ARGS
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

f1loop2:
	CMPQ         CX, $2
	JLT          f1tail
	VMOVUPS      (DI), Z0
	VMOVUPS      64(DI), Z1
	VBROADCASTSS (SI), Z4
	VBROADCASTSS (SI)(R8*1), Z5
	VBROADCASTSS (SI)(R8*2), Z6
	VBROADCASTSS (SI)(R9*1), Z7
	VFMADD231PS  Z4, Z0, Z16
	VFMADD231PS  Z5, Z0, Z17
	VFMADD231PS  Z6, Z0, Z18
	VFMADD231PS  Z7, Z0, Z19
	ADDQ         R12, SI
	VBROADCASTSS (SI), Z4
	VBROADCASTSS (SI)(R8*1), Z5
	VBROADCASTSS (SI)(R8*2), Z6
	VBROADCASTSS (SI)(R9*1), Z7
	VFMADD231PS  Z4, Z1, Z20
	VFMADD231PS  Z5, Z1, Z21
	VFMADD231PS  Z6, Z1, Z22
	VFMADD231PS  Z7, Z1, Z23
	ADDQ         R12, SI
	ADDQ         $128, DI
	SUBQ         $2, CX
	JMP          f1loop2

f1tail:
	TESTQ        CX, CX
	JZ           f1sum
	VMOVUPS      (DI), Z0
	VBROADCASTSS (SI), Z4
	VBROADCASTSS (SI)(R8*1), Z5
	VBROADCASTSS (SI)(R8*2), Z6
	VBROADCASTSS (SI)(R9*1), Z7
	VFMADD231PS  Z4, Z0, Z16
	VFMADD231PS  Z5, Z0, Z17
	VFMADD231PS  Z6, Z0, Z18
	VFMADD231PS  Z7, Z0, Z19

f1sum:
	VADDPS Z20, Z16, Z16
	VADDPS Z21, Z17, Z17
	VADDPS Z22, Z18, Z18
	VADDPS Z23, Z19, Z19
	STOREARGS
	STORE16(Z16, Z17, Z18, Z19, f1done)

f1done:
	VZEROUPPER
	RET
