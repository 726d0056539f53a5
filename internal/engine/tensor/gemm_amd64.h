// Shared by the GEMM micro-kernels of every tier (gemm_avx2_amd64.s,
// gemm_avx512_amd64.h): a tile's results have the vectors in the lanes
// and are stored transposed, four rows of one vector side by side.

// TRANS4 turns rows a..d (lanes = vectors) into, per 128-bit chunk c,
// the four rows of vector 4c (a), 4c+1 (b), 4c+2 (c), 4c+3 (d), with
// scratch t0-t3 (the registers' width picks the tier).
#define TRANS4(a, b, c, d, t0, t1, t2, t3) \
	VUNPCKLPS b, a, t0 \
	VUNPCKHPS b, a, t1 \
	VUNPCKLPS d, c, t2 \
	VUNPCKHPS d, c, t3 \
	VUNPCKLPD t2, t0, a \
	VUNPCKHPD t2, t0, b \
	VUNPCKLPD t3, t1, c \
	VUNPCKHPD t3, t1, d

// F32ARGS loads the float kernels' arguments: SI w, R8/R9 one and three
// row strides, R12 the k stride (bytes), DI x, CX k, R10 one panel
// (k*lanes*4 bytes: shift is log2 of lanes*4).
#define F32ARGS(shift) \
	MOVQ w+0(FP), SI \
	MOVQ rs+8(FP), R8 \
	SHLQ $2, R8 \
	LEAQ (R8)(R8*2), R9 \
	MOVQ ks+16(FP), R12 \
	SHLQ $2, R12 \
	MOVQ x+24(FP), DI \
	MOVQ k+32(FP), CX \
	MOVQ CX, R10 \
	SHLQ $shift, R10

// F32STOREARGS loads the store's BX (out), DX (ldc in bytes), AX (nv).
#define F32STOREARGS \
	MOVQ out+48(FP), BX \
	MOVQ ldc+56(FP), DX \
	SHLQ $2, DX \
	MOVQ nv+40(FP), AX
