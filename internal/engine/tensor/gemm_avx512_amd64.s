//go:build !purego

#include "textflag.h"

// AVX-512 GEMM micro-kernels (twins in gemm_ref.go): a tile of four
// weight rows against packed panels of 16 vectors, vectors in the lanes.
// Accumulator for row r and panel p is Z(16+4r+p).

#include "gemm_avx512_amd64.h"

// FMA4 multiplies the broadcast weight bc by panels Z0-Z3 into row r's
// accumulators.
#define FMA4(bc, a0, a1, a2, a3) \
	VFMADD231PS bc, Z0, a0 \
	VFMADD231PS bc, Z1, a1 \
	VFMADD231PS bc, Z2, a2 \
	VFMADD231PS bc, Z3, a3

#define ZERO4(a, b, c, d) \
	VPXORD a, a, a \
	VPXORD b, b, b \
	VPXORD c, c, c \
	VPXORD d, d, d

// func gemmF32p4AVX512(w *float32, rs, ks int, x *float32, k, nv int, out *float32, ldc int)
// gemmF32Ref for np = 4.
TEXT ·gemmF32p4AVX512(SB), NOSPLIT, $0-64
	F32ARGS(6)
	LEAQ   (R10)(R10*2), R11
	ZERO4(Z16, Z17, Z18, Z19)
	ZERO4(Z20, Z21, Z22, Z23)
	ZERO4(Z24, Z25, Z26, Z27)
	ZERO4(Z28, Z29, Z30, Z31)

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

	F32STOREARGS
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

// FMAROWS multiplies panel x by the four rows' broadcast weights Z4-Z7.
#define FMAROWS(x, a0, a1, a2, a3) \
	VFMADD231PS Z4, x, a0 \
	VFMADD231PS Z5, x, a1 \
	VFMADD231PS Z6, x, a2 \
	VFMADD231PS Z7, x, a3

#define BCAST4 \
	VBROADCASTSS (SI), Z4 \
	VBROADCASTSS (SI)(R8*1), Z5 \
	VBROADCASTSS (SI)(R8*2), Z6 \
	VBROADCASTSS (SI)(R9*1), Z7

// func gemmF32p3AVX512(w *float32, rs, ks int, x *float32, k, nv int, out *float32, ldc int)
// gemmF32Ref for np = 3; row r, panel p accumulates in Z(16+4r+p).
TEXT ·gemmF32p3AVX512(SB), NOSPLIT, $0-64
	F32ARGS(6)
	ZERO4(Z16, Z17, Z18, Z20)
	ZERO4(Z21, Z22, Z24, Z25)
	ZERO4(Z26, Z28, Z29, Z30)

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

	F32STOREARGS
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
	F32ARGS(6)
	ZERO4(Z16, Z17, Z18, Z19)
	ZERO4(Z20, Z21, Z22, Z23)
	ZERO4(Z24, Z25, Z26, Z27)
	ZERO4(Z28, Z29, Z30, Z31)

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
	F32STOREARGS
	STORE16(Z16, Z18, Z20, Z22, f2done)
	STORE16(Z17, Z19, Z21, Z23, f2done)

f2done:
	VZEROUPPER
	RET

// func gemmF32p1AVX512(w *float32, rs, ks int, x *float32, k, nv int, out *float32, ldc int)
// gemmF32Ref for np = 1. Even and odd k go to separate accumulators
// (Z16-Z19, Z20-Z23) so four FMA chains do not wait on each other.
TEXT ·gemmF32p1AVX512(SB), NOSPLIT, $0-64
	F32ARGS(6)
	ZERO4(Z16, Z17, Z18, Z19)
	ZERO4(Z20, Z21, Z22, Z23)

f1loop2:
	CMPQ    CX, $2
	JLT     f1tail
	VMOVUPS (DI), Z0
	VMOVUPS 64(DI), Z1
	BCAST4
	FMAROWS(Z0, Z16, Z17, Z18, Z19)
	ADDQ    R12, SI
	BCAST4
	FMAROWS(Z1, Z20, Z21, Z22, Z23)
	ADDQ    R12, SI
	ADDQ    $128, DI
	SUBQ    $2, CX
	JMP     f1loop2

f1tail:
	TESTQ   CX, CX
	JZ      f1sum
	VMOVUPS (DI), Z0
	BCAST4
	FMAROWS(Z0, Z16, Z17, Z18, Z19)

f1sum:
	VADDPS Z20, Z16, Z16
	VADDPS Z21, Z17, Z17
	VADDPS Z22, Z18, Z18
	VADDPS Z23, Z19, Z19
	F32STOREARGS
	STORE16(Z16, Z17, Z18, Z19, f1done)

f1done:
	VZEROUPPER
	RET

DATA packidx<>+0(SB)/4, $0
DATA packidx<>+4(SB)/4, $1
DATA packidx<>+8(SB)/4, $2
DATA packidx<>+12(SB)/4, $3
DATA packidx<>+16(SB)/4, $4
DATA packidx<>+20(SB)/4, $5
DATA packidx<>+24(SB)/4, $6
DATA packidx<>+28(SB)/4, $7
DATA packidx<>+32(SB)/4, $8
DATA packidx<>+36(SB)/4, $9
DATA packidx<>+40(SB)/4, $10
DATA packidx<>+44(SB)/4, $11
DATA packidx<>+48(SB)/4, $12
DATA packidx<>+52(SB)/4, $13
DATA packidx<>+56(SB)/4, $14
DATA packidx<>+60(SB)/4, $15
GLOBL packidx<>(SB), RODATA|NOPTR, $64

// func packF32AVX512(xp, x *float32, ldx, n, k int)
// One panel of packF32Ref: element k of vectors 0..n-1 (n <= 16, ldx
// apart) gathered into 16 lanes, lanes n..15 zero.
TEXT ·packF32AVX512(SB), NOSPLIT, $0-40
	MOVQ         xp+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         ldx+16(FP), AX
	MOVQ         n+24(FP), CX
	MOVQ         k+32(FP), DX
	VPBROADCASTD AX, Z1
	VPMULLD      packidx<>(SB), Z1, Z1
	MOVL         $1, AX
	SHLL         CX, AX
	DECL         AX
	KMOVW        AX, K2

pkloop:
	VPXORD     Z0, Z0, Z0
	KMOVW      K2, K1
	VGATHERDPS (SI)(Z1*4), K1, Z0
	VMOVUPS    Z0, (DI)
	ADDQ       $4, SI
	ADDQ       $64, DI
	DECQ       DX
	JNZ        pkloop
	VZEROUPPER
	RET

// func packF32x16AVX512(xp, x *float32, ldx, kb int)
// packF32Ref for one full panel, 16 columns at a time (kb blocks of 16):
// sixteen rows loaded, transposed in registers, stored as sixteen lanes.
TEXT ·packF32x16AVX512(SB), NOSPLIT, $0-32
	MOVQ xp+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ ldx+16(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10
	LEAQ (R10)(R8*4), R11
	LEAQ (R11)(R8*4), R12
	MOVQ kb+24(FP), CX

px16loop:
	VMOVUPS (SI), Z0
	VMOVUPS (SI)(R8*1), Z1
	VMOVUPS (SI)(R8*2), Z2
	VMOVUPS (SI)(R9*1), Z3
	VMOVUPS (R10), Z4
	VMOVUPS (R10)(R8*1), Z5
	VMOVUPS (R10)(R8*2), Z6
	VMOVUPS (R10)(R9*1), Z7
	VMOVUPS (R11), Z8
	VMOVUPS (R11)(R8*1), Z9
	VMOVUPS (R11)(R8*2), Z10
	VMOVUPS (R11)(R9*1), Z11
	VMOVUPS (R12), Z12
	VMOVUPS (R12)(R8*1), Z13
	VMOVUPS (R12)(R8*2), Z14
	VMOVUPS (R12)(R9*1), Z15
	VUNPCKLPS Z1, Z0, Z16
	VUNPCKHPS Z1, Z0, Z17
	VUNPCKLPS Z3, Z2, Z18
	VUNPCKHPS Z3, Z2, Z19
	VUNPCKLPS Z5, Z4, Z20
	VUNPCKHPS Z5, Z4, Z21
	VUNPCKLPS Z7, Z6, Z22
	VUNPCKHPS Z7, Z6, Z23
	VUNPCKLPS Z9, Z8, Z24
	VUNPCKHPS Z9, Z8, Z25
	VUNPCKLPS Z11, Z10, Z26
	VUNPCKHPS Z11, Z10, Z27
	VUNPCKLPS Z13, Z12, Z28
	VUNPCKHPS Z13, Z12, Z29
	VUNPCKLPS Z15, Z14, Z30
	VUNPCKHPS Z15, Z14, Z31
	VUNPCKLPD Z18, Z16, Z0
	VUNPCKHPD Z18, Z16, Z1
	VUNPCKLPD Z19, Z17, Z2
	VUNPCKHPD Z19, Z17, Z3
	VUNPCKLPD Z22, Z20, Z4
	VUNPCKHPD Z22, Z20, Z5
	VUNPCKLPD Z23, Z21, Z6
	VUNPCKHPD Z23, Z21, Z7
	VUNPCKLPD Z26, Z24, Z8
	VUNPCKHPD Z26, Z24, Z9
	VUNPCKLPD Z27, Z25, Z10
	VUNPCKHPD Z27, Z25, Z11
	VUNPCKLPD Z30, Z28, Z12
	VUNPCKHPD Z30, Z28, Z13
	VUNPCKLPD Z31, Z29, Z14
	VUNPCKHPD Z31, Z29, Z15
	VSHUFF32X4 $0x88, Z4, Z0, Z16
	VSHUFF32X4 $0x88, Z5, Z1, Z17
	VSHUFF32X4 $0x88, Z6, Z2, Z18
	VSHUFF32X4 $0x88, Z7, Z3, Z19
	VSHUFF32X4 $0xdd, Z4, Z0, Z20
	VSHUFF32X4 $0xdd, Z5, Z1, Z21
	VSHUFF32X4 $0xdd, Z6, Z2, Z22
	VSHUFF32X4 $0xdd, Z7, Z3, Z23
	VSHUFF32X4 $0x88, Z12, Z8, Z24
	VSHUFF32X4 $0x88, Z13, Z9, Z25
	VSHUFF32X4 $0x88, Z14, Z10, Z26
	VSHUFF32X4 $0x88, Z15, Z11, Z27
	VSHUFF32X4 $0xdd, Z12, Z8, Z28
	VSHUFF32X4 $0xdd, Z13, Z9, Z29
	VSHUFF32X4 $0xdd, Z14, Z10, Z30
	VSHUFF32X4 $0xdd, Z15, Z11, Z31
	VSHUFF32X4 $0x88, Z24, Z16, Z0
	VSHUFF32X4 $0x88, Z25, Z17, Z1
	VSHUFF32X4 $0x88, Z26, Z18, Z2
	VSHUFF32X4 $0x88, Z27, Z19, Z3
	VSHUFF32X4 $0x88, Z28, Z20, Z4
	VSHUFF32X4 $0x88, Z29, Z21, Z5
	VSHUFF32X4 $0x88, Z30, Z22, Z6
	VSHUFF32X4 $0x88, Z31, Z23, Z7
	VSHUFF32X4 $0xdd, Z24, Z16, Z8
	VSHUFF32X4 $0xdd, Z25, Z17, Z9
	VSHUFF32X4 $0xdd, Z26, Z18, Z10
	VSHUFF32X4 $0xdd, Z27, Z19, Z11
	VSHUFF32X4 $0xdd, Z28, Z20, Z12
	VSHUFF32X4 $0xdd, Z29, Z21, Z13
	VSHUFF32X4 $0xdd, Z30, Z22, Z14
	VSHUFF32X4 $0xdd, Z31, Z23, Z15
	VMOVUPS Z0, 0(DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	VMOVUPS Z4, 256(DI)
	VMOVUPS Z5, 320(DI)
	VMOVUPS Z6, 384(DI)
	VMOVUPS Z7, 448(DI)
	VMOVUPS Z8, 512(DI)
	VMOVUPS Z9, 576(DI)
	VMOVUPS Z10, 640(DI)
	VMOVUPS Z11, 704(DI)
	VMOVUPS Z12, 768(DI)
	VMOVUPS Z13, 832(DI)
	VMOVUPS Z14, 896(DI)
	VMOVUPS Z15, 960(DI)
	ADDQ $64, SI
	ADDQ $64, R10
	ADDQ $64, R11
	ADDQ $64, R12
	ADDQ $1024, DI
	DECQ CX
	JNZ  px16loop
	VZEROUPPER
	RET
