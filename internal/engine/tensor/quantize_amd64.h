// The activation quantizer's block step, shared by quantizeActAVX2
// (float_amd64.s) and quantPackAVX512 (gemm_q_avx512_amd64.s): both are
// bit-identical to quantizeActGeneric.

DATA qzabs<>+0(SB)/4, $0x7fffffff
GLOBL qzabs<>(SB), RODATA|NOPTR, $4
DATA qz127<>+0(SB)/4, $127.0
GLOBL qz127<>(SB), RODATA|NOPTR, $4
DATA qz1<>+0(SB)/4, $1.0
GLOBL qz1<>(SB), RODATA|NOPTR, $4

// Gathers the dwords of packed-and-interleaved bytes back into order.
DATA qzperm<>+0(SB)/4, $0
DATA qzperm<>+4(SB)/4, $4
DATA qzperm<>+8(SB)/4, $1
DATA qzperm<>+12(SB)/4, $5
DATA qzperm<>+16(SB)/4, $2
DATA qzperm<>+20(SB)/4, $6
DATA qzperm<>+24(SB)/4, $3
DATA qzperm<>+28(SB)/4, $7
GLOBL qzperm<>(SB), RODATA|NOPTR, $32

// QUANT_SETUP loads the constants: Y15 |x| mask, X14 127, X13 1, X12 0,
// Y11 the dword order for QUANT_PACK.
#define QUANT_SETUP \
	VBROADCASTSS qzabs<>(SB), Y15 \
	VMOVSS       qz127<>(SB), X14 \
	VMOVSS       qz1<>(SB), X13 \
	VXORPS       X12, X12, X12 \
	VMOVDQU      qzperm<>(SB), Y11

// QUANT_BLOCK quantizes the 32 floats at (SI): d = max|x|/127,
// id = d ? 1/d : 0, q = round-to-even(x*id). Leaves d in X6 and the
// levels as int32 in Y1-Y4 (eight each, in order); clobbers Y5, Y7, Y8.
#define QUANT_BLOCK \
	VMOVUPS      (SI), Y1 \
	VMOVUPS      32(SI), Y2 \
	VMOVUPS      64(SI), Y3 \
	VMOVUPS      96(SI), Y4 \
	VANDPS       Y15, Y1, Y5 \
	VANDPS       Y15, Y2, Y6 \
	VANDPS       Y15, Y3, Y7 \
	VANDPS       Y15, Y4, Y8 \
	VMAXPS       Y6, Y5, Y5 \
	VMAXPS       Y8, Y7, Y7 \
	VMAXPS       Y7, Y5, Y5 \
	VEXTRACTF128 $1, Y5, X6 \
	VMAXPS       X6, X5, X5 \
	VPSHUFD      $0x4e, X5, X6 \
	VMAXPS       X6, X5, X5 \
	VPSHUFD      $0xb1, X5, X6 \
	VMAXSS       X6, X5, X5 \
	VDIVSS       X14, X5, X6 \
	VDIVSS       X6, X13, X7 \
	VCMPSS       $4, X12, X6, X8 \
	VANDPS       X8, X7, X7 \
	VBROADCASTSS X7, Y7 \
	VMULPS       Y7, Y1, Y1 \
	VMULPS       Y7, Y2, Y2 \
	VMULPS       Y7, Y3, Y3 \
	VMULPS       Y7, Y4, Y4 \
	VCVTPS2DQ    Y1, Y1 \
	VCVTPS2DQ    Y2, Y2 \
	VCVTPS2DQ    Y3, Y3 \
	VCVTPS2DQ    Y4, Y4

// QUANT_PACK packs the levels in Y1-Y4 into 32 int8 in Y1 (clobbers Y3).
#define QUANT_PACK \
	VPACKSSDW Y2, Y1, Y1 \
	VPACKSSDW Y4, Y3, Y3 \
	VPACKSSWB Y3, Y1, Y1 \
	VPERMD    Y1, Y11, Y1
