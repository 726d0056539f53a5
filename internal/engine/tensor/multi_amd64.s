//go:build !purego

#include "textflag.h"
#include "prefetch_amd64.h"

// Four-vector kernels for MatMul: one weight row against four activation
// vectors laid out back to back (stride nb blocks), so each weight block is
// loaded and decoded once for four products. Registers: SI weights; DI, DX,
// R8 activation int8s, scales, sums of vector 0; R9/R10 the int8 offsets of
// vectors 1 and 3 (vector 2 is R9*2), R11/R12 the same for scales and sums.
// Accumulators Y0, Y6, Y7, Y8 (and X9-X12 for offsets), one per vector.

#define MONES16(r) \
	VPCMPEQW r, r, r \
	VPSRLW   $15, r, r

// Reduces acc to a scalar and stores it at off(BX).
#define MSTORE(acc, xacc, off) \
	VEXTRACTF128 $1, acc, X1 \
	VADDPS       X1, xacc, xacc \
	VPSHUFD      $0x4e, xacc, X1 \
	VADDPS       X1, xacc, xacc \
	VPSHUFD      $0xb1, xacc, X1 \
	VADDSS       X1, xacc, xacc \
	VMOVSS       xacc, off(BX)

#define MSETUP \
	MOVQ   nb+32(FP), CX \
	MOVQ   CX, R9 \
	SHLQ   $5, R9 \
	LEAQ   (R9)(R9*2), R10 \
	MOVQ   CX, R11 \
	SHLQ   $2, R11 \
	LEAQ   (R11)(R11*2), R12 \
	VXORPS Y0, Y0, Y0 \
	VXORPS Y6, Y6, Y6 \
	VXORPS Y7, Y7, Y7 \
	VXORPS Y8, Y8, Y8 \
	MONES16(Y15)

// Q8_0: Y2 = w, Y3 = |w|, X13 = d_w; one vector's product.
#define MQ8(xa, da, acc) \
	VMOVDQU      xa, Y4 \
	VPSIGNB      Y2, Y4, Y4 \
	VPMADDUBSW   Y4, Y3, Y4 \
	VPMADDWD     Y15, Y4, Y4 \
	VCVTDQ2PS    Y4, Y4 \
	VMULSS       da, X13, X5 \
	VBROADCASTSS X5, Y5 \
	VFMADD231PS  Y4, Y5, acc

// func dotQ8_0x4AVX2(w *byte, x *int8, d, s *float32, nb int, out *float32)
// out[v] = dotQ8_0 of the row with vector v, v = 0..3.
TEXT ·dotQ8_0x4AVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ d+16(FP), DX
	MSETUP

mq8loop:
	PF1(SI)
	MOVWLZX   (SI), AX
	VMOVD     AX, X13
	VCVTPH2PS X13, X13
	VMOVDQU   2(SI), Y2
	VPABSB    Y2, Y3
	MQ8((DI), (DX), Y0)
	MQ8((DI)(R9*1), (DX)(R11*1), Y6)
	MQ8((DI)(R9*2), (DX)(R11*2), Y7)
	MQ8((DI)(R10*1), (DX)(R12*1), Y8)
	ADDQ $34, SI
	ADDQ $32, DI
	ADDQ $4, DX
	DECQ CX
	JNZ  mq8loop

	MOVQ out+40(FP), BX
	MSTORE(Y0, X0, 0)
	MSTORE(Y6, X6, 4)
	MSTORE(Y7, X7, 8)
	MSTORE(Y8, X8, 12)
	VZEROUPPER
	RET

// Q4_0: Y2 = nibbles, X13 = d_w; one vector's product and offset sum.
#define MQ4(xa, da, sa, acc, corr) \
	VPMADDUBSW   xa, Y2, Y4 \
	VPMADDWD     Y15, Y4, Y4 \
	VCVTDQ2PS    Y4, Y4 \
	VFMADD231SS  sa, X13, corr \
	VMULSS       da, X13, X5 \
	VBROADCASTSS X5, Y5 \
	VFMADD231PS  Y4, Y5, acc

DATA mnib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL mnib<>(SB), RODATA|NOPTR, $8

DATA mf8<>+0(SB)/4, $8.0
GLOBL mf8<>(SB), RODATA|NOPTR, $4

// out[v] = acc_v - 8*corr_v.
#define MQ4FIN(acc, xacc, corr, off) \
	VMULSS X14, corr, corr \
	VEXTRACTF128 $1, acc, X1 \
	VADDPS       X1, xacc, xacc \
	VPSHUFD      $0x4e, xacc, X1 \
	VADDPS       X1, xacc, xacc \
	VPSHUFD      $0xb1, xacc, X1 \
	VADDSS       X1, xacc, xacc \
	VSUBSS       corr, xacc, xacc \
	VMOVSS       xacc, off(BX)

// func dotQ4_0x4AVX2(w *byte, x *int8, d, s *float32, nb int, out *float32)
// out[v] = dotQ4_0 of the row with vector v, v = 0..3.
TEXT ·dotQ4_0x4AVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ s+24(FP), R8
	MSETUP
	VXORPS       X9, X9, X9
	VXORPS       X10, X10, X10
	VXORPS       X11, X11, X11
	VXORPS       X12, X12, X12
	VPBROADCASTQ mnib<>(SB), Y14

mq4loop:
	PF1(SI)
	MOVWLZX     (SI), AX
	VMOVD       AX, X13
	VCVTPH2PS   X13, X13
	VMOVDQU     2(SI), X2
	VPSRLW      $4, X2, X3
	VINSERTI128 $1, X3, Y2, Y2
	VPAND       Y14, Y2, Y2
	MQ4((DI), (DX), (R8), Y0, X9)
	MQ4((DI)(R9*1), (DX)(R11*1), (R8)(R11*1), Y6, X10)
	MQ4((DI)(R9*2), (DX)(R11*2), (R8)(R11*2), Y7, X11)
	MQ4((DI)(R10*1), (DX)(R12*1), (R8)(R12*1), Y8, X12)
	ADDQ $18, SI
	ADDQ $32, DI
	ADDQ $4, DX
	ADDQ $4, R8
	DECQ CX
	JNZ  mq4loop

	MOVQ   out+40(FP), BX
	VMOVSS mf8<>(SB), X14
	MQ4FIN(Y0, X0, X9, 0)
	MQ4FIN(Y6, X6, X10, 4)
	MQ4FIN(Y7, X7, X11, 8)
	MQ4FIN(Y8, X8, X12, 12)
	VZEROUPPER
	RET

DATA mbitshuf<>+0(SB)/8, $0x0000000000000000
DATA mbitshuf<>+8(SB)/8, $0x0101010101010101
DATA mbitshuf<>+16(SB)/8, $0x0202020202020202
DATA mbitshuf<>+24(SB)/8, $0x0303030303030303
GLOBL mbitshuf<>(SB), RODATA|NOPTR, $32

DATA mbitsel<>+0(SB)/8, $0x7fbfdfeff7fbfdfe
DATA mbitsel<>+8(SB)/8, $0x7fbfdfeff7fbfdfe
DATA mbitsel<>+16(SB)/8, $0x7fbfdfeff7fbfdfe
DATA mbitsel<>+24(SB)/8, $0x7fbfdfeff7fbfdfe
GLOBL mbitsel<>(SB), RODATA|NOPTR, $32

DATA mb16<>+0(SB)/8, $0x1010101010101010
DATA mb16<>+8(SB)/8, $0x1010101010101010
DATA mb16<>+16(SB)/8, $0x1010101010101010
DATA mb16<>+24(SB)/8, $0x1010101010101010
GLOBL mb16<>(SB), RODATA|NOPTR, $32

DATA mf16<>+0(SB)/4, $16.0
GLOBL mf16<>(SB), RODATA|NOPTR, $4

// func dotQ5_0x4AVX2(w *byte, x *int8, d, s *float32, nb int, out *float32)
// out[v] = dotQ5_0 of the row with vector v, v = 0..3.
TEXT ·dotQ5_0x4AVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ s+24(FP), R8
	MSETUP
	VXORPS       X9, X9, X9
	VXORPS       X10, X10, X10
	VXORPS       X11, X11, X11
	VXORPS       X12, X12, X12
	VPBROADCASTQ mnib<>(SB), Y14

mq5loop:
	PF1(SI)
	MOVWLZX      (SI), AX
	VMOVD        AX, X13
	VCVTPH2PS    X13, X13
	VMOVDQU      6(SI), X2
	VPSRLW       $4, X2, X3
	VINSERTI128  $1, X3, Y2, Y2
	VPAND        Y14, Y2, Y2
	VPBROADCASTD 2(SI), Y5
	VPSHUFB      mbitshuf<>(SB), Y5, Y5
	VPOR         mbitsel<>(SB), Y5, Y5
	VPCMPEQB     Y3, Y3, Y3
	VPCMPEQB     Y3, Y5, Y5
	VPAND        mb16<>(SB), Y5, Y5
	VPOR         Y5, Y2, Y2
	MQ4((DI), (DX), (R8), Y0, X9)
	MQ4((DI)(R9*1), (DX)(R11*1), (R8)(R11*1), Y6, X10)
	MQ4((DI)(R9*2), (DX)(R11*2), (R8)(R11*2), Y7, X11)
	MQ4((DI)(R10*1), (DX)(R12*1), (R8)(R12*1), Y8, X12)
	ADDQ $22, SI
	ADDQ $32, DI
	ADDQ $4, DX
	ADDQ $4, R8
	DECQ CX
	JNZ  mq5loop

	MOVQ   out+40(FP), BX
	VMOVSS mf16<>(SB), X14
	MQ4FIN(Y0, X0, X9, 0)
	MQ4FIN(Y6, X6, X10, 4)
	MQ4FIN(Y7, X7, X11, 8)
	MQ4FIN(Y8, X8, X12, 12)
	VZEROUPPER
	RET
