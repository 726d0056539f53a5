//go:build !purego

#include "textflag.h"
#include "prefetch_amd64.h"
#include "hsum_amd64.h"

// K-quant super-block dot products (256 elements) against q8Act blocks.
// Registers: SI weights, DI activation int8s, DX activation scales (8 per
// super-block), R8 activation d*sum (8 per super-block), CX super-blocks
// left; Y0 result accumulator, Y6 min-offset accumulator, Y7/Y8 per
// super-block accumulators of cvt(int sums)*dx (scaled by d at the end).

// k4shuf+32j: VPSHUFB mask broadcasting int16 lane j of a 16-byte source
// (duplicated in both 128-bit halves) to all 16 lanes.
DATA k4shuf<>+0(SB)/8, $0x0100010001000100
DATA k4shuf<>+8(SB)/8, $0x0100010001000100
DATA k4shuf<>+16(SB)/8, $0x0100010001000100
DATA k4shuf<>+24(SB)/8, $0x0100010001000100
DATA k4shuf<>+32(SB)/8, $0x0302030203020302
DATA k4shuf<>+40(SB)/8, $0x0302030203020302
DATA k4shuf<>+48(SB)/8, $0x0302030203020302
DATA k4shuf<>+56(SB)/8, $0x0302030203020302
DATA k4shuf<>+64(SB)/8, $0x0504050405040504
DATA k4shuf<>+72(SB)/8, $0x0504050405040504
DATA k4shuf<>+80(SB)/8, $0x0504050405040504
DATA k4shuf<>+88(SB)/8, $0x0504050405040504
DATA k4shuf<>+96(SB)/8, $0x0706070607060706
DATA k4shuf<>+104(SB)/8, $0x0706070607060706
DATA k4shuf<>+112(SB)/8, $0x0706070607060706
DATA k4shuf<>+120(SB)/8, $0x0706070607060706
DATA k4shuf<>+128(SB)/8, $0x0908090809080908
DATA k4shuf<>+136(SB)/8, $0x0908090809080908
DATA k4shuf<>+144(SB)/8, $0x0908090809080908
DATA k4shuf<>+152(SB)/8, $0x0908090809080908
DATA k4shuf<>+160(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+168(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+176(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+184(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+192(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+200(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+208(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+216(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+224(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k4shuf<>+232(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k4shuf<>+240(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k4shuf<>+248(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL k4shuf<>(SB), RODATA|NOPTR, $256

// k6shuf+16j: bytes [2j x8, 2j+1 x8] to spread Q6_K scales 2j, 2j+1 over
// the two halves of a 32-element group.
DATA k6shuf<>+0(SB)/8, $0x0000000000000000
DATA k6shuf<>+8(SB)/8, $0x0101010101010101
DATA k6shuf<>+16(SB)/8, $0x0202020202020202
DATA k6shuf<>+24(SB)/8, $0x0303030303030303
DATA k6shuf<>+32(SB)/8, $0x0404040404040404
DATA k6shuf<>+40(SB)/8, $0x0505050505050505
DATA k6shuf<>+48(SB)/8, $0x0606060606060606
DATA k6shuf<>+56(SB)/8, $0x0707070707070707
DATA k6shuf<>+64(SB)/8, $0x0808080808080808
DATA k6shuf<>+72(SB)/8, $0x0909090909090909
DATA k6shuf<>+80(SB)/8, $0x0a0a0a0a0a0a0a0a
DATA k6shuf<>+88(SB)/8, $0x0b0b0b0b0b0b0b0b
DATA k6shuf<>+96(SB)/8, $0x0c0c0c0c0c0c0c0c
DATA k6shuf<>+104(SB)/8, $0x0d0d0d0d0d0d0d0d
DATA k6shuf<>+112(SB)/8, $0x0e0e0e0e0e0e0e0e
DATA k6shuf<>+120(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL k6shuf<>(SB), RODATA|NOPTR, $128

DATA knib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL knib<>(SB), RODATA|NOPTR, $8

DATA k10<>+0(SB)/8, $0x1010101010101010
GLOBL k10<>(SB), RODATA|NOPTR, $8

DATA k30<>+0(SB)/8, $0x3030303030303030
GLOBL k30<>(SB), RODATA|NOPTR, $8

DATA k20<>+0(SB)/8, $0x2020202020202020
GLOBL k20<>(SB), RODATA|NOPTR, $8

// Decodes the 12 packed scale bytes at 4(SI) (get_scale_min_k4 for all
// eight sub-blocks at once): R9 = scales 0..7, R10 = mins 0..7, one per byte.
#define K4_SCALES \
	MOVL  4(SI), AX \
	MOVL  8(SI), BX \
	MOVL  12(SI), R11 \
	MOVL  AX, R9 \
	ANDL  $0x3f3f3f3f, R9 \
	MOVL  BX, R10 \
	ANDL  $0x3f3f3f3f, R10 \
	SHRL  $6, AX \
	ANDL  $0x03030303, AX \
	SHLL  $4, AX \
	MOVL  R11, R12 \
	ANDL  $0x0f0f0f0f, R12 \
	ORL   R12, AX \
	SHLQ  $32, AX \
	ORQ   AX, R9 \
	SHRL  $6, BX \
	ANDL  $0x03030303, BX \
	SHLL  $4, BX \
	SHRL  $4, R11 \
	ANDL  $0x0f0f0f0f, R11 \
	ORL   R11, BX \
	SHLQ  $32, BX \
	ORQ   BX, R10

// Per super-block set-up shared by Q4_K and Q5_K: Y9 = the eight 6-bit
// scales as int16 in both halves; Y6 += dmin * m_j * s_j; Y10 = d.
#define K4_SETUP \
	K4_SCALES \
	VMOVQ        R9, X9 \
	VPMOVZXBW    X9, X9 \
	VINSERTI128  $1, X9, Y9, Y9 \
	VMOVQ        R10, X1 \
	VPMOVZXBD    X1, Y1 \
	VCVTDQ2PS    Y1, Y1 \
	VMULPS       (R8), Y1, Y1 \
	MOVWLZX      2(SI), AX \
	VMOVD        AX, X2 \
	VCVTPH2PS    X2, X2 \
	VBROADCASTSS X2, Y2 \
	VFMADD231PS  Y1, Y2, Y6 \
	MOVWLZX      (SI), AX \
	VMOVD        AX, X10 \
	VCVTPH2PS    X10, X10 \
	VBROADCASTSS X10, Y10 \
	VXORPS       Y7, Y7, Y7 \
	VXORPS       Y8, Y8, Y8

// Y2, Y3 hold the unsigned levels of sub-blocks j and j+1 (chunk c = j/2):
// multiply with the activation, scale by sc_j in int16 and by dx_j in float.
#define K_SUBBLOCKS(j, xo) \
	VPMADDUBSW   xo(DI), Y2, Y2 \
	VPMADDUBSW   xo+32(DI), Y3, Y3 \
	VPSHUFB      k4shuf<>+(32*j)(SB), Y9, Y4 \
	VPSHUFB      k4shuf<>+(32*j+32)(SB), Y9, Y5 \
	VPMADDWD     Y4, Y2, Y2 \
	VPMADDWD     Y5, Y3, Y3 \
	VCVTDQ2PS    Y2, Y2 \
	VCVTDQ2PS    Y3, Y3 \
	VBROADCASTSS (4*j)(DX), Y4 \
	VBROADCASTSS (4*j+4)(DX), Y5 \
	VFMADD231PS  Y2, Y4, Y7 \
	VFMADD231PS  Y3, Y5, Y8

#define Q4K_CHUNK(c) \
	VMOVDQU (16+32*c)(SI), Y2 \
	VPSRLW  $4, Y2, Y3 \
	VPAND   Y13, Y2, Y2 \
	VPAND   Y13, Y3, Y3 \
	K_SUBBLOCKS(2*c, 64*c)

// func dotQ4_KAVX2(w *byte, x *int8, d, s *float32, nsb int) float32
// Σ_sb Σ_j dx_j*(d*sc_j*Σq*x) - dmin*m_j*s_j.
TEXT ·dotQ4_KAVX2(SB), NOSPLIT, $0-44
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ s+24(FP), R8
	MOVQ nsb+32(FP), CX
	VXORPS       Y0, Y0, Y0
	VXORPS       Y6, Y6, Y6
	VPBROADCASTQ knib<>(SB), Y13

q4kloop:
	PF3(SI)
	K4_SETUP
	Q4K_CHUNK(0)
	Q4K_CHUNK(1)
	Q4K_CHUNK(2)
	Q4K_CHUNK(3)
	VADDPS      Y8, Y7, Y7
	VFMADD231PS Y7, Y10, Y0
	ADDQ $144, SI
	ADDQ $256, DI
	ADDQ $32, DX
	ADDQ $32, R8
	DECQ CX
	JNZ  q4kloop

	VSUBPS Y6, Y0, Y0
	HSUM_Y0
	VZEROUPPER
	MOVSS X0, ret+40(FP)
	RET

// Q5_K chunk c: nibbles from 48+32c(SI), fifth bits 2c and 2c+1 of the qh
// bytes in Y11, moved to bit 4 by shifting (16-bit shifts; the 0x10 mask
// drops bits that crossed bytes).
// The caller leaves the shifted qh bytes in Y4 (low half) and Y5 (high).
#define Q5K_CHUNK(c) \
	VMOVDQU (48+32*c)(SI), Y2 \
	VPSRLW  $4, Y2, Y3 \
	VPAND   Y13, Y2, Y2 \
	VPAND   Y13, Y3, Y3 \
	VPAND   Y12, Y4, Y4 \
	VPOR    Y4, Y2, Y2 \
	VPAND   Y12, Y5, Y5 \
	VPOR    Y5, Y3, Y3 \
	K_SUBBLOCKS(2*c, 64*c)

// func dotQ5_KAVX2(w *byte, x *int8, d, s *float32, nsb int) float32
// As Q4_K with 5-bit levels.
TEXT ·dotQ5_KAVX2(SB), NOSPLIT, $0-44
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ s+24(FP), R8
	MOVQ nsb+32(FP), CX
	VXORPS       Y0, Y0, Y0
	VXORPS       Y6, Y6, Y6
	VPBROADCASTQ knib<>(SB), Y13
	VPBROADCASTQ k10<>(SB), Y12

q5kloop:
	PF3(SI)
	K4_SETUP
	VMOVDQU 16(SI), Y11
	VPSLLW $4, Y11, Y4
	VPSLLW $3, Y11, Y5
	Q5K_CHUNK(0)
	VPSLLW $2, Y11, Y4
	VPSLLW $1, Y11, Y5
	Q5K_CHUNK(1)
	VMOVDQU Y11, Y4
	VPSRLW  $1, Y11, Y5
	Q5K_CHUNK(2)
	VPSRLW $2, Y11, Y4
	VPSRLW $3, Y11, Y5
	Q5K_CHUNK(3)
	VADDPS      Y8, Y7, Y7
	VFMADD231PS Y7, Y10, Y0
	ADDQ $176, SI
	ADDQ $256, DI
	ADDQ $32, DX
	ADDQ $32, R8
	DECQ CX
	JNZ  q5kloop

	VSUBPS Y6, Y0, Y0
	HSUM_Y0
	VZEROUPPER
	MOVSS X0, ret+40(FP)
	RET

// Q6_K 32-element group j (levels 0..63 unsigned in Y4) with activation at
// xo(DI): (q-32)·x as maddubs(q,x) - maddubs(32,x) in int16 (|.| <= 24130),
// scaled by int8 scales 2j/2j+1 for the two 16-halves, then by dx_j.
#define Q6K_GROUP(j, xo) \
	VMOVDQU      xo(DI), Y14 \
	VPMADDUBSW   Y14, Y4, Y4 \
	VPMADDUBSW   Y14, Y11, Y5 \
	VPSUBW       Y5, Y4, Y4 \
	VPSHUFB      k6shuf<>+(16*j)(SB), X9, X5 \
	VPMOVSXBW    X5, Y5 \
	VPMADDWD     Y5, Y4, Y4 \
	VCVTDQ2PS    Y4, Y4 \
	VBROADCASTSS (4*j)(DX), Y5 \
	VFMADD231PS  Y4, Y5, Y7

// Half h of a Q6_K block: ql bytes 64h.. (two 32-byte rows), qh 128+32h..;
// group k takes a nibble of row k%2 (high nibble for k>=2) and bits 2k,2k+1
// of qh, moved to bits 4,5.
#define Q6K_HALF(h) \
	VMOVDQU (64*h)(SI), Y1 \
	VMOVDQU (64*h+32)(SI), Y2 \
	VMOVDQU (128+32*h)(SI), Y3 \
	VPAND   Y13, Y1, Y4 \
	VPSLLW  $4, Y3, Y5 \
	VPAND   Y12, Y5, Y5 \
	VPOR    Y5, Y4, Y4 \
	Q6K_GROUP((4*h), (128*h)) \
	VPAND   Y13, Y2, Y4 \
	VPSLLW  $2, Y3, Y5 \
	VPAND   Y12, Y5, Y5 \
	VPOR    Y5, Y4, Y4 \
	Q6K_GROUP((4*h+1), (128*h+32)) \
	VPSRLW  $4, Y1, Y4 \
	VPAND   Y13, Y4, Y4 \
	VPAND   Y12, Y3, Y5 \
	VPOR    Y5, Y4, Y4 \
	Q6K_GROUP((4*h+2), (128*h+64)) \
	VPSRLW  $4, Y2, Y4 \
	VPAND   Y13, Y4, Y4 \
	VPSRLW  $2, Y3, Y5 \
	VPAND   Y12, Y5, Y5 \
	VPOR    Y5, Y4, Y4 \
	Q6K_GROUP((4*h+3), (128*h+96))

// func dotQ6_KAVX2(w *byte, x *int8, d *float32, nsb int) float32
// Σ_sb d * Σ_j dx_j * Σ_g sc_g*Σ(q-32)*x.
TEXT ·dotQ6_KAVX2(SB), NOSPLIT, $0-36
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ nsb+24(FP), CX
	VXORPS       Y0, Y0, Y0
	VPBROADCASTQ knib<>(SB), Y13
	VPBROADCASTQ k30<>(SB), Y12
	VPBROADCASTQ k20<>(SB), Y11

q6kloop:
	PF4(SI)
	VMOVDQU      192(SI), X9
	MOVWLZX      208(SI), AX
	VMOVD        AX, X10
	VCVTPH2PS    X10, X10
	VBROADCASTSS X10, Y10
	VXORPS       Y7, Y7, Y7
	Q6K_HALF(0)
	Q6K_HALF(1)
	VFMADD231PS Y7, Y10, Y0
	ADDQ $210, SI
	ADDQ $256, DI
	ADDQ $32, DX
	DECQ CX
	JNZ  q6kloop

	HSUM_Y0
	VZEROUPPER
	MOVSS X0, ret+32(FP)
	RET

// Four-vector K-quant kernels for MatMul (see multi_amd64.s for the layout
// of the batch registers: R9/R10 int8 strides of vectors 1 and 3, R11/R12
// float strides; accumulators Y0, Y6, Y7, Y8).

#define KMSTORE(acc, xacc, off) \
	VEXTRACTF128 $1, acc, X1 \
	VADDPS       X1, xacc, xacc \
	VPSHUFD      $0x4e, xacc, X1 \
	VADDPS       X1, xacc, xacc \
	VPSHUFD      $0xb1, xacc, X1 \
	VADDSS       X1, xacc, xacc \
	VMOVSS       xacc, off(BX)

// Expects CX = nb (32-blocks); leaves CX = super-blocks.
#define KMSETUP \
	MOVQ   CX, R9 \
	SHLQ   $5, R9 \
	LEAQ   (R9)(R9*2), R10 \
	MOVQ   CX, R11 \
	SHLQ   $2, R11 \
	LEAQ   (R11)(R11*2), R12 \
	SHRQ   $3, CX \
	VXORPS Y0, Y0, Y0 \
	VXORPS Y6, Y6, Y6 \
	VXORPS Y7, Y7, Y7 \
	VXORPS Y8, Y8, Y8

// Decodes the Q4_K scales at 4(SI) with three scratch registers: X9 = the
// eight scales as bytes, X11 = the eight mins as bytes.
#define K4_SCALES_X \
	MOVL  4(SI), AX \
	ANDL  $0x3f3f3f3f, AX \
	MOVL  4(SI), BX \
	SHRL  $6, BX \
	ANDL  $0x03030303, BX \
	SHLL  $4, BX \
	MOVL  12(SI), R13 \
	ANDL  $0x0f0f0f0f, R13 \
	ORL   R13, BX \
	SHLQ  $32, BX \
	ORQ   BX, AX \
	VMOVQ AX, X9 \
	MOVL  8(SI), AX \
	ANDL  $0x3f3f3f3f, AX \
	MOVL  8(SI), BX \
	SHRL  $6, BX \
	ANDL  $0x03030303, BX \
	SHLL  $4, BX \
	MOVL  12(SI), R13 \
	SHRL  $4, R13 \
	ANDL  $0x0f0f0f0f, R13 \
	ORL   R13, BX \
	SHLQ  $32, BX \
	ORQ   BX, AX \
	VMOVQ AX, X11

// One vector's two sub-blocks of a chunk: levels Y2/Y3, int16 scales Y4/Y5,
// d in X10; acc += cvt(Σ sc*q*x) * d*dx.
#define MK_PAIR(xa0, xa1, da0, da1, acc) \
	VPMADDUBSW   xa0, Y2, Y1 \
	VPMADDWD     Y4, Y1, Y1 \
	VCVTDQ2PS    Y1, Y1 \
	VMULSS       da0, X10, X15 \
	VBROADCASTSS X15, Y15 \
	VFMADD231PS  Y1, Y15, acc \
	VPMADDUBSW   xa1, Y3, Y14 \
	VPMADDWD     Y5, Y14, Y14 \
	VCVTDQ2PS    Y14, Y14 \
	VMULSS       da1, X10, X15 \
	VBROADCASTSS X15, Y15 \
	VFMADD231PS  Y14, Y15, acc

#define MK_VECTORS(xo, dxo) \
	MK_PAIR(xo(DI), (xo+32)(DI), dxo(DX), (dxo+4)(DX), Y0) \
	MK_PAIR(xo(DI)(R9*1), (xo+32)(DI)(R9*1), dxo(DX)(R11*1), (dxo+4)(DX)(R11*1), Y6) \
	MK_PAIR(xo(DI)(R9*2), (xo+32)(DI)(R9*2), dxo(DX)(R11*2), (dxo+4)(DX)(R11*2), Y7) \
	MK_PAIR(xo(DI)(R10*1), (xo+32)(DI)(R10*1), dxo(DX)(R12*1), (dxo+4)(DX)(R12*1), Y8)

#define MQ4K_CHUNK(c) \
	VMOVDQU (16+32*c)(SI), Y2 \
	VPSRLW  $4, Y2, Y3 \
	VPAND   Y13, Y2, Y2 \
	VPAND   Y13, Y3, Y3 \
	VPSHUFB k4shuf<>+(64*c)(SB), Y9, Y4 \
	VPSHUFB k4shuf<>+(64*c+32)(SB), Y9, Y5 \
	MK_VECTORS((64*c), (8*c))

// Subtracts dmin * Σ_j m_j*s_j (mins as floats in Y11, dmin in Y12) for the
// vector whose sums are at sa.
#define MK_MINS(sa, acc) \
	VMULPS       sa, Y11, Y1 \
	VFNMADD231PS Y1, Y12, acc

// func dotQ4_Kx4AVX2(w *byte, x *int8, d, s *float32, nb int, out *float32)
// out[v] = dotQ4_K of the row with vector v, v = 0..3 (nb counts 32-blocks).
TEXT ·dotQ4_Kx4AVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ s+24(FP), R8
	MOVQ nb+32(FP), CX
	KMSETUP
	VPBROADCASTQ knib<>(SB), Y13

mq4kloop:
	PF3(SI)
	K4_SCALES_X
	VPMOVZXBW    X9, X9
	VINSERTI128  $1, X9, Y9, Y9
	VPMOVZXBD    X11, Y11
	VCVTDQ2PS    Y11, Y11
	MOVWLZX      2(SI), AX
	VMOVD        AX, X12
	VCVTPH2PS    X12, X12
	VBROADCASTSS X12, Y12
	MK_MINS((R8), Y0)
	MK_MINS((R8)(R11*1), Y6)
	MK_MINS((R8)(R11*2), Y7)
	MK_MINS((R8)(R12*1), Y8)
	MOVWLZX      (SI), AX
	VMOVD        AX, X10
	VCVTPH2PS    X10, X10
	MQ4K_CHUNK(0)
	MQ4K_CHUNK(1)
	MQ4K_CHUNK(2)
	MQ4K_CHUNK(3)
	ADDQ $144, SI
	ADDQ $256, DI
	ADDQ $32, DX
	ADDQ $32, R8
	DECQ CX
	JNZ  mq4kloop

	MOVQ out+40(FP), BX
	KMSTORE(Y0, X0, 0)
	KMSTORE(Y6, X6, 4)
	KMSTORE(Y7, X7, 8)
	KMSTORE(Y8, X8, 12)
	VZEROUPPER
	RET

// One vector of a Q6_K quad group: levels Y4, int16 scales Y5, d in X10.
#define M6_ONE(xa, da, acc) \
	VPMADDUBSW   xa, Y4, Y1 \
	VPMADDUBSW   xa, Y11, Y2 \
	VPSUBW       Y2, Y1, Y1 \
	VPMADDWD     Y5, Y1, Y1 \
	VCVTDQ2PS    Y1, Y1 \
	VMULSS       da, X10, X15 \
	VBROADCASTSS X15, Y15 \
	VFMADD231PS  Y1, Y15, acc

#define M6_GROUP(j, xo) \
	VPSHUFB   k6shuf<>+(16*j)(SB), X9, X5 \
	VPMOVSXBW X5, Y5 \
	M6_ONE(xo(DI), (4*j)(DX), Y0) \
	M6_ONE(xo(DI)(R9*1), (4*j)(DX)(R11*1), Y6) \
	M6_ONE(xo(DI)(R9*2), (4*j)(DX)(R11*2), Y7) \
	M6_ONE(xo(DI)(R10*1), (4*j)(DX)(R12*1), Y8)

#define M6_HALF(h) \
	VMOVDQU (128+32*h)(SI), Y3 \
	VPAND   (64*h)(SI), Y13, Y4 \
	VPSLLW  $4, Y3, Y14 \
	VPAND   Y12, Y14, Y14 \
	VPOR    Y14, Y4, Y4 \
	M6_GROUP((4*h), (128*h)) \
	VPAND   (64*h+32)(SI), Y13, Y4 \
	VPSLLW  $2, Y3, Y14 \
	VPAND   Y12, Y14, Y14 \
	VPOR    Y14, Y4, Y4 \
	M6_GROUP((4*h+1), (128*h+32)) \
	VMOVDQU (64*h)(SI), Y4 \
	VPSRLW  $4, Y4, Y4 \
	VPAND   Y13, Y4, Y4 \
	VPAND   Y12, Y3, Y14 \
	VPOR    Y14, Y4, Y4 \
	M6_GROUP((4*h+2), (128*h+64)) \
	VMOVDQU (64*h+32)(SI), Y4 \
	VPSRLW  $4, Y4, Y4 \
	VPAND   Y13, Y4, Y4 \
	VPSRLW  $2, Y3, Y14 \
	VPAND   Y12, Y14, Y14 \
	VPOR    Y14, Y4, Y4 \
	M6_GROUP((4*h+3), (128*h+96))

// func dotQ6_Kx4AVX2(w *byte, x *int8, d, s *float32, nb int, out *float32)
// out[v] = dotQ6_K of the row with vector v, v = 0..3 (nb counts 32-blocks).
TEXT ·dotQ6_Kx4AVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ nb+32(FP), CX
	KMSETUP
	VPBROADCASTQ knib<>(SB), Y13
	VPBROADCASTQ k30<>(SB), Y12
	VPBROADCASTQ k20<>(SB), Y11

mq6kloop:
	PF4(SI)
	VMOVDQU   192(SI), X9
	MOVWLZX   208(SI), AX
	VMOVD     AX, X10
	VCVTPH2PS X10, X10
	M6_HALF(0)
	M6_HALF(1)
	ADDQ $210, SI
	ADDQ $256, DI
	ADDQ $32, DX
	DECQ CX
	JNZ  mq6kloop

	MOVQ out+40(FP), BX
	KMSTORE(Y0, X0, 0)
	KMSTORE(Y6, X6, 4)
	KMSTORE(Y7, X7, 8)
	KMSTORE(Y8, X8, 12)
	VZEROUPPER
	RET
