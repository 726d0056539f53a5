//go:build !purego

#include "textflag.h"
#include "prefetch_amd64.h"

// AVX-512 (BW/VL) tile decoders of the quantized GEMM: twins are the
// decode*Tile functions in gemm_decode.go. Each decodes one weight row:
// levels (int8) at lv, per-row block fields at meta (ncorr at 0, d at 16,
// m at 32: the row's slots in a tile block), both advancing one tile
// block per 32 elements. K-quant decoders write levels and ncorr only;
// their scales are filled in Go. Y15 is zero, Y14 the nibble mask.

DATA dec0f<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL dec0f<>(SB), RODATA|NOPTR, $8
DATA dec80<>+0(SB)/8, $0x8080808080808080
GLOBL dec80<>(SB), RODATA|NOPTR, $8
DATA dec08<>+0(SB)/8, $0x0808080808080808
GLOBL dec08<>(SB), RODATA|NOPTR, $8
DATA dec10<>+0(SB)/8, $0x1010101010101010
GLOBL dec10<>(SB), RODATA|NOPTR, $8
DATA dec20<>+0(SB)/8, $0x2020202020202020
GLOBL dec20<>(SB), RODATA|NOPTR, $8
DATA dec03<>+0(SB)/8, $0x0303030303030303
GLOBL dec03<>(SB), RODATA|NOPTR, $8

// SUM32 sets AX to the sum of the 32 unsigned bytes in y (tmp: Y12/X12,
// X13).
#define SUM32(y) \
	VPSADBW      Y15, y, Y12 \
	VEXTRACTI128 $1, Y12, X13 \
	VPADDQ       X13, X12, X12 \
	VPSHUFD      $0x4e, X12, X13 \
	VPADDQ       X13, X12, X12 \
	VMOVD        X12, AX

// NCORR stores -128*(AX - bias) at off(R8).
#define NCORR(bias, off) \
	SUBL $bias, AX \
	NEGL AX \
	SHLL $7, AX \
	MOVL AX, off(R8)

// SCALE16 widens the fp16 scale at (SI) into d and zeroes m.
#define SCALE16 \
	MOVWLZX   (SI), AX \
	VMOVD     AX, X12 \
	VCVTPH2PS X12, X12 \
	VMOVSS    X12, 16(R8) \
	MOVL      $0, 32(R8)

// NIBBLES sets Y0 to the 32 nibbles of the 16 bytes at off(SI): element j
// in the low nibble of byte j, element j+16 in the high one.
#define NIBBLES(off) \
	VMOVDQU     off(SI), X0 \
	VPSRLW      $4, X0, X1 \
	VINSERTI128 $1, X1, Y0, Y0 \
	VPAND       Y14, Y0, Y0

#define DECARGS \
	MOVQ         lv+0(FP), DI \
	MOVQ         meta+8(FP), R8 \
	MOVQ         row+16(FP), SI \
	MOVQ         nb+24(FP), CX \
	VPXOR        Y15, Y15, Y15 \
	VPBROADCASTQ dec0f<>(SB), Y14

// func decQ8_0AVX512(lv, meta, row *byte, nb int)
TEXT ·decQ8_0AVX512(SB), NOSPLIT, $0-32
	DECARGS
	VPBROADCASTQ dec80<>(SB), Y11

d80loop:
	PF1(SI)
	VMOVDQU 2(SI), Y0
	VMOVDQU Y0, (DI)
	VPXOR   Y11, Y0, Y1
	SUM32(Y1)
	NCORR(4096, 0)
	SCALE16
	ADDQ    $34, SI
	ADDQ    $176, DI
	ADDQ    $176, R8
	DECQ    CX
	JNZ     d80loop
	VZEROUPPER
	RET

// func decQ4_0AVX512(lv, meta, row *byte, nb int)
TEXT ·decQ4_0AVX512(SB), NOSPLIT, $0-32
	DECARGS
	VPBROADCASTQ dec08<>(SB), Y11

d40loop:
	PF1(SI)
	NIBBLES(2)
	SUM32(Y0)
	NCORR(256, 0)
	VPSUBB  Y11, Y0, Y0
	VMOVDQU Y0, (DI)
	SCALE16
	ADDQ    $18, SI
	ADDQ    $176, DI
	ADDQ    $176, R8
	DECQ    CX
	JNZ     d40loop
	VZEROUPPER
	RET

// func decQ5_0AVX512(lv, meta, row *byte, nb int)
TEXT ·decQ5_0AVX512(SB), NOSPLIT, $0-32
	DECARGS
	VPBROADCASTQ dec10<>(SB), Y11

d50loop:
	PF1(SI)
	NIBBLES(6)
	MOVL      2(SI), AX
	KMOVD     AX, K1
	VPMOVM2B  K1, Y1
	VPAND     Y11, Y1, Y1
	VPOR      Y1, Y0, Y0
	SUM32(Y0)
	NCORR(512, 0)
	VPSUBB    Y11, Y0, Y0
	VMOVDQU   Y0, (DI)
	SCALE16
	ADDQ      $22, SI
	ADDQ      $176, DI
	ADDQ      $176, R8
	DECQ      CX
	JNZ       d50loop
	VZEROUPPER
	RET

// func decQ4_KAVX512(lv, meta, row *byte, nsb int)
// Levels and ncorr of the eight sub-blocks of each super-block.
TEXT ·decQ4_KAVX512(SB), NOSPLIT, $0-32
	DECARGS

d4kloop:
	PF3(SI)
	MOVQ $4, DX
	LEAQ 16(SI), BX

d4kchunk:
	VMOVDQU (BX), Y2
	VPAND   Y14, Y2, Y0
	VMOVDQU Y0, (DI)
	SUM32(Y0)
	NCORR(0, 0)
	VPSRLW  $4, Y2, Y0
	VPAND   Y14, Y0, Y0
	VMOVDQU Y0, 176(DI)
	SUM32(Y0)
	NCORR(0, 176)
	ADDQ    $32, BX
	ADDQ    $352, DI
	ADDQ    $352, R8
	DECQ    DX
	JNZ     d4kchunk
	ADDQ    $144, SI
	DECQ    CX
	JNZ     d4kloop
	VZEROUPPER
	RET

// Q6_K: Y0 = low (or high) nibbles | two qh bits << 4, then the halves'
// sums (bias 16*32) into ncorr0 (0) and ncorr1 (32).
#define Q6HALVES \
	VPSADBW      Y15, Y0, Y12 \
	VEXTRACTI128 $1, Y12, X13 \
	VPSHUFD      $0x4e, X12, X1 \
	VPADDQ       X1, X12, X12 \
	VMOVD        X12, AX \
	NCORR(512, 0) \
	VPSHUFD      $0x4e, X13, X1 \
	VPADDQ       X1, X13, X13 \
	VMOVD        X13, AX \
	NCORR(512, 32) \
	VPSUBB       Y11, Y0, Y0 \
	VMOVDQU      Y0, (DI) \
	ADDQ         $192, DI \
	ADDQ         $192, R8

// Q6BLOCK makes block levels from ql bytes at ql(SI) (nibble shift sh)
// and qh bits at qs (shifted right by hs).
#define Q6BLOCK(ql, sh, hs) \
	VMOVDQU ql(SI), Y0 \
	VPSRLW  $sh, Y0, Y0 \
	VPAND   Y14, Y0, Y0 \
	VPSRLW  $hs, Y3, Y1 \
	VPAND   Y10, Y1, Y1 \
	VPSLLW  $4, Y1, Y1 \
	VPOR    Y1, Y0, Y0 \
	Q6HALVES

// func decQ6_KAVX512(lv, meta, row *byte, nsb int)
// Levels and ncorr of the eight 32-element blocks of each super-block.
TEXT ·decQ6_KAVX512(SB), NOSPLIT, $0-32
	DECARGS
	VPBROADCASTQ dec20<>(SB), Y11
	VPBROADCASTQ dec03<>(SB), Y10

d6kloop:
	PF4(SI)
	VMOVDQU 128(SI), Y3
	Q6BLOCK(0, 0, 0)
	Q6BLOCK(32, 0, 2)
	Q6BLOCK(0, 4, 4)
	Q6BLOCK(32, 4, 6)
	VMOVDQU 160(SI), Y3
	Q6BLOCK(64, 0, 0)
	Q6BLOCK(96, 0, 2)
	Q6BLOCK(64, 4, 4)
	Q6BLOCK(96, 4, 6)
	ADDQ    $210, SI
	DECQ    CX
	JNZ     d6kloop
	VZEROUPPER
	RET
