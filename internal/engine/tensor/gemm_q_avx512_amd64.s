//go:build !purego

#include "textflag.h"

// AVX-512 VNNI micro-kernels of the quantized GEMM (twin: gemmQRef in
// gemm_quant.go): four decoded weight rows against one or two panels of
// 16 quantized vectors. Per 32-element block, VPDPBUSD multiplies the
// vectors' biased levels (u8, in the lanes) by a broadcast dword of one
// row's levels (s8), so a block's integer dot products end up one per
// lane with no horizontal sums. Registers: SI the weight tile, DI panel
// 0's block, R10 one panel (bytes), CX blocks left; Z(16+4p+r) the float
// accumulator and Z(24+4p+r) the integer one of row r, panel p.

// Tile block layout (bytes): levels [4 rows][32] at 0, then per row
// int32 ncorr at 128, float32 d at 144, float32 m at 160 (Q6_K's halves:
// ncorr0 128, d0 144, ncorr1 160, d1 176).
#define TILE32 176
#define TILE16 192
// Panel block: levels [8 groups][16 lanes][4] at 0, dx at 512, sx at 576.
#define PBLOCK 640

#include "gemm_avx512_amd64.h"

#define QARGS \
	MOVQ   wt+0(FP), SI \
	MOVQ   x+8(FP), DI \
	MOVQ   nb+16(FP), CX \
	IMUL3Q $PBLOCK, CX, R10 \
	VPXORD Z16, Z16, Z16 \
	VPXORD Z17, Z17, Z17 \
	VPXORD Z18, Z18, Z18 \
	VPXORD Z19, Z19, Z19 \
	VPXORD Z20, Z20, Z20 \
	VPXORD Z21, Z21, Z21 \
	VPXORD Z22, Z22, Z22 \
	VPXORD Z23, Z23, Z23

#define STOREARGS \
	MOVQ out+32(FP), BX \
	MOVQ ldc+40(FP), DX \
	SHLQ $2, DX \
	MOVQ nv+24(FP), AX

// Integer accumulators start at ncorr (-128 * the row's level sum), which
// cancels the +128 bias of the vectors' levels.
#define INIT1(off) \
	VPBROADCASTD off(SI), Z24 \
	VPBROADCASTD off+4(SI), Z25 \
	VPBROADCASTD off+8(SI), Z26 \
	VPBROADCASTD off+12(SI), Z27

#define INIT2(off) \
	INIT1(off) \
	VMOVDQA64 Z24, Z28 \
	VMOVDQA64 Z25, Z29 \
	VMOVDQA64 Z26, Z30 \
	VMOVDQA64 Z27, Z31

// Group g (elements 4g..4g+3 of the block) for every row.
#define GROUP1(g) \
	VMOVDQU32     (g*64)(DI), Z0 \
	VPDPBUSD.BCST (g*4)(SI), Z0, Z24 \
	VPDPBUSD.BCST (g*4+32)(SI), Z0, Z25 \
	VPDPBUSD.BCST (g*4+64)(SI), Z0, Z26 \
	VPDPBUSD.BCST (g*4+96)(SI), Z0, Z27

#define GROUP2(g) \
	VMOVDQU32     (g*64)(DI), Z0 \
	VMOVDQU32     (g*64)(DI)(R10*1), Z1 \
	VPDPBUSD.BCST (g*4)(SI), Z0, Z24 \
	VPDPBUSD.BCST (g*4)(SI), Z1, Z28 \
	VPDPBUSD.BCST (g*4+32)(SI), Z0, Z25 \
	VPDPBUSD.BCST (g*4+32)(SI), Z1, Z29 \
	VPDPBUSD.BCST (g*4+64)(SI), Z0, Z26 \
	VPDPBUSD.BCST (g*4+64)(SI), Z1, Z30 \
	VPDPBUSD.BCST (g*4+96)(SI), Z0, Z27 \
	VPDPBUSD.BCST (g*4+96)(SI), Z1, Z31

// facc += float(iacc) * (dx * d_row), d_row at doff(SI); dx in dx.
#define SCALE(iacc, facc, dx, doff) \
	VMULPS.BCST doff(SI), dx, Z8 \
	VCVTDQ2PS   iacc, Z9 \
	VFMADD231PS Z8, Z9, facc

#define SCALE1(doff) \
	SCALE(Z24, Z16, Z2, doff) \
	SCALE(Z25, Z17, Z2, doff+4) \
	SCALE(Z26, Z18, Z2, doff+8) \
	SCALE(Z27, Z19, Z2, doff+12)

#define SCALE2(doff) \
	SCALE1(doff) \
	SCALE(Z28, Z20, Z3, doff) \
	SCALE(Z29, Z21, Z3, doff+4) \
	SCALE(Z30, Z22, Z3, doff+8) \
	SCALE(Z31, Z23, Z3, doff+12)

// facc += sx * m_row: the offset formats' m times the vector's block sum.
#define MINS1 \
	VMOVUPS          576(DI), Z4 \
	VFMADD231PS.BCST 160(SI), Z4, Z16 \
	VFMADD231PS.BCST 164(SI), Z4, Z17 \
	VFMADD231PS.BCST 168(SI), Z4, Z18 \
	VFMADD231PS.BCST 172(SI), Z4, Z19

#define MINS2 \
	MINS1 \
	VMOVUPS          576(DI)(R10*1), Z5 \
	VFMADD231PS.BCST 160(SI), Z5, Z20 \
	VFMADD231PS.BCST 164(SI), Z5, Z21 \
	VFMADD231PS.BCST 168(SI), Z5, Z22 \
	VFMADD231PS.BCST 172(SI), Z5, Z23

#define GROUPS2(a, b, c, d) \
	GROUP2(a) \
	GROUP2(b) \
	GROUP2(c) \
	GROUP2(d)

#define GROUPS1(a, b, c, d) \
	GROUP1(a) \
	GROUP1(b) \
	GROUP1(c) \
	GROUP1(d)

#define LOADDX2 \
	VMOVUPS 512(DI), Z2 \
	VMOVUPS 512(DI)(R10*1), Z3

#define LOADDX1 \
	VMOVUPS 512(DI), Z2

#define NEXT(tile, loop) \
	ADDQ $tile, SI \
	ADDQ $PBLOCK, DI \
	DECQ CX \
	JNZ  loop

// func gemmQSp2AVX512(wt, x *byte, nb, nv int, out *float32, ldc int)
// Two panels, formats without offsets (Q8_0, Q4_0, Q5_0).
TEXT ·gemmQSp2AVX512(SB), NOSPLIT, $0-48
	QARGS
qs2loop:
	INIT2(128)
	GROUPS2(0, 1, 2, 3)
	GROUPS2(4, 5, 6, 7)
	LOADDX2
	SCALE2(144)
	NEXT(TILE32, qs2loop)
	STOREARGS
	STORE16(Z16, Z17, Z18, Z19, qs2done)
	STORE16(Z20, Z21, Z22, Z23, qs2done)
qs2done:
	VZEROUPPER
	RET

// func gemmQSp1AVX512(wt, x *byte, nb, nv int, out *float32, ldc int)
TEXT ·gemmQSp1AVX512(SB), NOSPLIT, $0-48
	QARGS
qs1loop:
	INIT1(128)
	GROUPS1(0, 1, 2, 3)
	GROUPS1(4, 5, 6, 7)
	LOADDX1
	SCALE1(144)
	NEXT(TILE32, qs1loop)
	STOREARGS
	STORE16(Z16, Z17, Z18, Z19, qs1done)
qs1done:
	VZEROUPPER
	RET

// func gemmQMp2AVX512(wt, x *byte, nb, nv int, out *float32, ldc int)
// Two panels, formats with offsets (Q4_1, Q5_1, Q4_K, Q5_K).
TEXT ·gemmQMp2AVX512(SB), NOSPLIT, $0-48
	QARGS
qm2loop:
	INIT2(128)
	GROUPS2(0, 1, 2, 3)
	GROUPS2(4, 5, 6, 7)
	LOADDX2
	SCALE2(144)
	MINS2
	NEXT(TILE32, qm2loop)
	STOREARGS
	STORE16(Z16, Z17, Z18, Z19, qm2done)
	STORE16(Z20, Z21, Z22, Z23, qm2done)
qm2done:
	VZEROUPPER
	RET

// func gemmQMp1AVX512(wt, x *byte, nb, nv int, out *float32, ldc int)
TEXT ·gemmQMp1AVX512(SB), NOSPLIT, $0-48
	QARGS
qm1loop:
	INIT1(128)
	GROUPS1(0, 1, 2, 3)
	GROUPS1(4, 5, 6, 7)
	LOADDX1
	SCALE1(144)
	MINS1
	NEXT(TILE32, qm1loop)
	STOREARGS
	STORE16(Z16, Z17, Z18, Z19, qm1done)
qm1done:
	VZEROUPPER
	RET

// func gemmQHp2AVX512(wt, x *byte, nb, nv int, out *float32, ldc int)
// Two panels, a scale per 16 elements (Q6_K).
TEXT ·gemmQHp2AVX512(SB), NOSPLIT, $0-48
	QARGS
qh2loop:
	LOADDX2
	INIT2(128)
	GROUPS2(0, 1, 2, 3)
	SCALE2(144)
	INIT2(160)
	GROUPS2(4, 5, 6, 7)
	SCALE2(176)
	NEXT(TILE16, qh2loop)
	STOREARGS
	STORE16(Z16, Z17, Z18, Z19, qh2done)
	STORE16(Z20, Z21, Z22, Z23, qh2done)
qh2done:
	VZEROUPPER
	RET

// func gemmQHp1AVX512(wt, x *byte, nb, nv int, out *float32, ldc int)
TEXT ·gemmQHp1AVX512(SB), NOSPLIT, $0-48
	QARGS
qh1loop:
	LOADDX1
	INIT1(128)
	GROUPS1(0, 1, 2, 3)
	SCALE1(144)
	INIT1(160)
	GROUPS1(4, 5, 6, 7)
	SCALE1(176)
	NEXT(TILE16, qh1loop)
	STOREARGS
	STORE16(Z16, Z17, Z18, Z19, qh1done)
qh1done:
	VZEROUPPER
	RET

#include "quantize_amd64.h"

DATA qpbias<>+0(SB)/4, $0x80808080
GLOBL qpbias<>(SB), RODATA|NOPTR, $4

// func quantPackAVX512(x *float32, xq *byte, nb int)
// Quantizes one vector of nb 32-element blocks exactly as
// quantizeActGeneric does and writes it into its lane of a panel: xq
// points at the lane's levels in block 0 (panel + 4*lane); block b's
// levels+128 go to b*640 + 64*g, its scale to b*640 + 512 and scale
// times level sum to b*640 + 576 (twin: quantizeActGeneric + packQRef).
TEXT ·quantPackAVX512(SB), NOSPLIT, $0-24
	MOVQ         x+0(FP), SI
	MOVQ         xq+8(FP), DI
	MOVQ         nb+16(FP), CX
	QUANT_SETUP
	VPBROADCASTD qpbias<>(SB), Y10

qploop:
	QUANT_BLOCK
	VMOVSS X6, 512(DI)

	// s = d * Σq.
	VPADDD       Y2, Y1, Y5
	VPADDD       Y4, Y3, Y8
	VPADDD       Y8, Y5, Y5
	VEXTRACTI128 $1, Y5, X8
	VPADDD       X8, X5, X5
	VPSHUFD      $0x4e, X5, X8
	VPADDD       X8, X5, X5
	VPSHUFD      $0xb1, X5, X8
	VPADDD       X8, X5, X5
	VCVTDQ2PS    X5, X5
	VMULSS       X6, X5, X5
	VMOVSS       X5, 576(DI)

	QUANT_PACK
	VPXOR Y10, Y1, Y1

	// Group g (dword g of the 32 levels) to 64*g.
	VMOVD        X1, 0(DI)
	VPEXTRD      $1, X1, 64(DI)
	VPEXTRD      $2, X1, 128(DI)
	VPEXTRD      $3, X1, 192(DI)
	VEXTRACTI128 $1, Y1, X1
	VMOVD        X1, 256(DI)
	VPEXTRD      $1, X1, 320(DI)
	VPEXTRD      $2, X1, 384(DI)
	VPEXTRD      $3, X1, 448(DI)

	ADDQ $128, SI
	ADDQ $640, DI
	DECQ CX
	JNZ  qploop
	VZEROUPPER
	RET
