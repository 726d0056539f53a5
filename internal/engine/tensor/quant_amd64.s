//go:build !purego

#include "textflag.h"
#include "prefetch_amd64.h"
#include "hsum_amd64.h"

// Integer dot products of 32-element weight blocks with q8Act blocks.
// Common registers: SI weights, DI activation int8s, DX activation scales,
// R8 activation block sums (d*sum), CX blocks left, Y15 int16 ones (for
// VPMADDWD pair sums), Y0/Y7 float accumulators, X14 scalar offset sum.

DATA nib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL nib<>(SB), RODATA|NOPTR, $8

DATA f8<>+0(SB)/4, $8.0
GLOBL f8<>(SB), RODATA|NOPTR, $4

DATA f16<>+0(SB)/4, $16.0
GLOBL f16<>(SB), RODATA|NOPTR, $4

// Byte i of the 32 takes byte i/8 of the broadcast qh word.
DATA bitshuf<>+0(SB)/8, $0x0000000000000000
DATA bitshuf<>+8(SB)/8, $0x0101010101010101
DATA bitshuf<>+16(SB)/8, $0x0202020202020202
DATA bitshuf<>+24(SB)/8, $0x0303030303030303
GLOBL bitshuf<>(SB), RODATA|NOPTR, $32

// All bits but bit i%8 set: OR then compare with all-ones tests bit i%8.
DATA bitsel<>+0(SB)/8, $0x7fbfdfeff7fbfdfe
GLOBL bitsel<>(SB), RODATA|NOPTR, $8

DATA b16<>+0(SB)/8, $0x1010101010101010
GLOBL b16<>(SB), RODATA|NOPTR, $8

#define ONES16(r) \
	VPCMPEQW r, r, r \
	VPSRLW   $15, r, r

// Q8_0 block at wo(SI) with activation block xo(DI), scale do(DX) into acc.
#define BLOCK_Q8_0(wo, xo, do, acc) \
	MOVWLZX      wo(SI), AX \
	VMOVD        AX, X1 \
	VCVTPH2PS    X1, X1 \
	VMULSS       do(DX), X1, X1 \
	VBROADCASTSS X1, Y1 \
	VMOVDQU      wo+2(SI), Y2 \
	VMOVDQU      xo(DI), Y3 \
	VPABSB       Y2, Y4 \
	VPSIGNB      Y2, Y3, Y3 \
	VPMADDUBSW   Y3, Y4, Y4 \
	VPMADDWD     Y15, Y4, Y4 \
	VCVTDQ2PS    Y4, Y4 \
	VFMADD231PS  Y4, Y1, acc

// func dotQ8_0AVX2(w *byte, x *int8, d *float32, nb int) float32
TEXT ·dotQ8_0AVX2(SB), NOSPLIT, $0-36
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ nb+24(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y7, Y7, Y7
	ONES16(Y15)

q8loop2:
	CMPQ CX, $2
	JLT  q8tail
	PF2(SI)
	BLOCK_Q8_0(0, 0, 0, Y0)
	BLOCK_Q8_0(34, 32, 4, Y7)
	ADDQ $68, SI
	ADDQ $64, DI
	ADDQ $8, DX
	SUBQ $2, CX
	JMP  q8loop2

q8tail:
	TESTQ CX, CX
	JZ    q8done
	BLOCK_Q8_0(0, 0, 0, Y0)

q8done:
	VADDPS Y7, Y0, Y0
	HSUM_Y0
	VZEROUPPER
	MOVSS X0, ret+32(FP)
	RET

// Unpacks the 16 nibble bytes at qo(SI) to 32 bytes (low nibbles first) in Y2.
#define NIBBLES(qo) \
	VMOVDQU     qo(SI), X2 \
	VPSRLW      $4, X2, X3 \
	VINSERTI128 $1, X3, Y2, Y2 \
	VPAND       Y13, Y2, Y2

// Y2 (unsigned levels) · activation block at xo(DI), scaled by the weight
// scale in X1 times do(DX), accumulated into acc.
#define DOT_SCALE(xo, do, acc) \
	VPMADDUBSW   xo(DI), Y2, Y2 \
	VPMADDWD     Y15, Y2, Y2 \
	VCVTDQ2PS    Y2, Y2 \
	VMULSS       do(DX), X1, X1 \
	VBROADCASTSS X1, Y1 \
	VFMADD231PS  Y2, Y1, acc

// ORs the fifth bits from the little-endian uint32 at ho(SI) into Y2 as 0x10.
#define FIFTH_BITS(ho) \
	VPBROADCASTD ho(SI), Y5 \
	VPSHUFB      Y12, Y5, Y5 \
	VPOR         Y11, Y5, Y5 \
	VPCMPEQB     Y10, Y5, Y5 \
	VPAND        Y9, Y5, Y5 \
	VPOR         Y5, Y2, Y2

// One block of each format at weight offset wo, activation offset xo and
// scale/sum offset so, into float accumulator acc and scalar offset sum corr.
// Kernels run two blocks per iteration on separate accumulators so the FMA
// latency chains overlap.

// Q4_0/Q5_0: corr += d*s (the -8/-16 level offset is applied at the end).
#define D_ONLY(wo, so, corr) \
	MOVWLZX     wo(SI), AX \
	VMOVD       AX, X1 \
	VCVTPH2PS   X1, X1 \
	VFMADD231SS so(R8), X1, corr

// Q4_1/Q5_1: d in X1 lane 0; corr += m*s.
#define D_AND_M(wo, so, corr) \
	MOVL        wo(SI), AX \
	VMOVD       AX, X1 \
	VCVTPH2PS   X1, X1 \
	VMOVSHDUP   X1, X4 \
	VFMADD231SS so(R8), X4, corr

#define BLOCK_Q4_0(wo, xo, so, acc, corr) \
	D_ONLY(wo, so, corr) \
	NIBBLES((wo+2)) \
	DOT_SCALE(xo, so, acc)

#define BLOCK_Q4_1(wo, xo, so, acc, corr) \
	D_AND_M(wo, so, corr) \
	NIBBLES((wo+4)) \
	DOT_SCALE(xo, so, acc)

#define BLOCK_Q5_0(wo, xo, so, acc, corr) \
	D_ONLY(wo, so, corr) \
	NIBBLES((wo+6)) \
	FIFTH_BITS((wo+2)) \
	DOT_SCALE(xo, so, acc)

#define BLOCK_Q5_1(wo, xo, so, acc, corr) \
	D_AND_M(wo, so, corr) \
	NIBBLES((wo+8)) \
	FIFTH_BITS((wo+4)) \
	DOT_SCALE(xo, so, acc)

#define SETUP_NIBBLES \
	VXORPS Y0, Y0, Y0 \
	VXORPS Y7, Y7, Y7 \
	VXORPS X14, X14, X14 \
	VXORPS X8, X8, X8 \
	ONES16(Y15) \
	VPBROADCASTQ nib<>(SB), Y13

#define SETUP_FIFTH \
	VMOVDQU      bitshuf<>(SB), Y12 \
	VPBROADCASTQ bitsel<>(SB), Y11 \
	VPCMPEQB     Y10, Y10, Y10 \
	VPBROADCASTQ b16<>(SB), Y9

#define ADVANCE2(bytes) \
	ADDQ $(2*bytes), SI \
	ADDQ $64, DI \
	ADDQ $8, DX \
	ADDQ $8, R8

// func dotQ4_0AVX2(w *byte, x *int8, d, s *float32, nb int) float32
// Σ d*dx*(Σq*x) - 8*Σ d*s.
TEXT ·dotQ4_0AVX2(SB), NOSPLIT, $0-44
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ s+24(FP), R8
	MOVQ nb+32(FP), CX
	SETUP_NIBBLES

q40loop2:
	CMPQ CX, $2
	JLT  q40tail
	PF1(SI)
	BLOCK_Q4_0(0, 0, 0, Y0, X14)
	BLOCK_Q4_0(18, 32, 4, Y7, X8)
	ADVANCE2(18)
	SUBQ $2, CX
	JMP  q40loop2

q40tail:
	TESTQ CX, CX
	JZ    q40done
	BLOCK_Q4_0(0, 0, 0, Y0, X14)

q40done:
	VADDSS X8, X14, X14
	VMOVSS f8<>(SB), X1
	VMULSS X1, X14, X14
	VADDPS Y7, Y0, Y0
	HSUM_Y0
	VSUBSS X14, X0, X0
	VZEROUPPER
	MOVSS X0, ret+40(FP)
	RET

// func dotQ4_1AVX2(w *byte, x *int8, d, s *float32, nb int) float32
// Σ d*dx*(Σq*x) + Σ m*s.
TEXT ·dotQ4_1AVX2(SB), NOSPLIT, $0-44
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ s+24(FP), R8
	MOVQ nb+32(FP), CX
	SETUP_NIBBLES

q41loop2:
	CMPQ CX, $2
	JLT  q41tail
	PF1(SI)
	BLOCK_Q4_1(0, 0, 0, Y0, X14)
	BLOCK_Q4_1(20, 32, 4, Y7, X8)
	ADVANCE2(20)
	SUBQ $2, CX
	JMP  q41loop2

q41tail:
	TESTQ CX, CX
	JZ    q41done
	BLOCK_Q4_1(0, 0, 0, Y0, X14)

q41done:
	VADDSS X8, X14, X14
	VADDPS Y7, Y0, Y0
	HSUM_Y0
	VADDSS X14, X0, X0
	VZEROUPPER
	MOVSS X0, ret+40(FP)
	RET

// func dotQ5_0AVX2(w *byte, x *int8, d, s *float32, nb int) float32
// Σ d*dx*(Σq*x) - 16*Σ d*s.
TEXT ·dotQ5_0AVX2(SB), NOSPLIT, $0-44
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ s+24(FP), R8
	MOVQ nb+32(FP), CX
	SETUP_NIBBLES
	SETUP_FIFTH

q50loop2:
	CMPQ CX, $2
	JLT  q50tail
	PF1(SI)
	BLOCK_Q5_0(0, 0, 0, Y0, X14)
	BLOCK_Q5_0(22, 32, 4, Y7, X8)
	ADVANCE2(22)
	SUBQ $2, CX
	JMP  q50loop2

q50tail:
	TESTQ CX, CX
	JZ    q50done
	BLOCK_Q5_0(0, 0, 0, Y0, X14)

q50done:
	VADDSS X8, X14, X14
	VMOVSS f16<>(SB), X1
	VMULSS X1, X14, X14
	VADDPS Y7, Y0, Y0
	HSUM_Y0
	VSUBSS X14, X0, X0
	VZEROUPPER
	MOVSS X0, ret+40(FP)
	RET

// func dotQ5_1AVX2(w *byte, x *int8, d, s *float32, nb int) float32
// Σ d*dx*(Σq*x) + Σ m*s.
TEXT ·dotQ5_1AVX2(SB), NOSPLIT, $0-44
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ s+24(FP), R8
	MOVQ nb+32(FP), CX
	SETUP_NIBBLES
	SETUP_FIFTH

q51loop2:
	CMPQ CX, $2
	JLT  q51tail
	PF1(SI)
	BLOCK_Q5_1(0, 0, 0, Y0, X14)
	BLOCK_Q5_1(24, 32, 4, Y7, X8)
	ADVANCE2(24)
	SUBQ $2, CX
	JMP  q51loop2

q51tail:
	TESTQ CX, CX
	JZ    q51done
	BLOCK_Q5_1(0, 0, 0, Y0, X14)

q51done:
	VADDSS X8, X14, X14
	VADDPS Y7, Y0, Y0
	HSUM_Y0
	VADDSS X14, X0, X0
	VZEROUPPER
	MOVSS X0, ret+40(FP)
	RET

