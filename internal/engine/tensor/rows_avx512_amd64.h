// Steps shared by the AVX-512 one-vector row kernels of the legacy quant
// types (rows_avx512_amd64.s, rowsq4_avx512_amd64.s), which walk a row
// group of eight blocks by group of eight. Registers: BX dst, SI the row,
// R13 rows left; per row R8 the group's weights, R9 its x, R10 its x
// scales, R12 its x sums, R11 blocks left.

// ROWSARGS1 loads the arguments that stay for the call; ROWSTART1 points
// a row's registers at its first group and clears its sum (Y16).
#define ROWSARGS1 \
	MOVQ dst+0(FP), BX \
	MOVQ w+8(FP), SI \
	MOVQ rows+24(FP), R13 \
	MOVQ x+32(FP), DI \
	MOVQ d+40(FP), DX

#define ROWSTART1 \
	MOVQ   SI, R8 \
	MOVQ   DI, R9 \
	MOVQ   DX, R10 \
	MOVQ   sum+56(FP), R12 \
	MOVQ   nb+48(FP), R11 \
	VPXORD Y16, Y16, Y16

// WSCALESPART sets K2 to the R11 (< 8) blocks present of a row's last
// group and X4 to their scales, s bytes apart from (R8), the others zero:
// one by one, as far as the row goes (a gather was slower; R11 is the same
// for every row of a matrix, so the branches are predicted).
#define WSCALESPART(s) \
	MOVQ    R11, CX \
	MOVL    $1, AX \
	SHLL    CX, AX \
	DECL    AX \
	KMOVW   AX, K2 \
	MOVWLZX (R8), AX \
	VMOVD   AX, X4 \
	CMPQ    R11, $2 \
	JLT     wspdone \
	VPINSRW $1, (s*1)(R8), X4, X4 \
	CMPQ    R11, $3 \
	JLT     wspdone \
	VPINSRW $2, (s*2)(R8), X4, X4 \
	CMPQ    R11, $4 \
	JLT     wspdone \
	VPINSRW $3, (s*3)(R8), X4, X4 \
	CMPQ    R11, $5 \
	JLT     wspdone \
	VPINSRW $4, (s*4)(R8), X4, X4 \
	CMPQ    R11, $6 \
	JLT     wspdone \
	VPINSRW $5, (s*5)(R8), X4, X4 \
	CMPQ    R11, $7 \
	JLT     wspdone \
	VPINSRW $6, (s*6)(R8), X4, X4 \
wspdone:

// NEXTGROUP moves on by a group of b-byte blocks while the row has more.
#define NEXTGROUP(b, grp) \
	ADDQ $(8*b), R8 \
	ADDQ $256, R9 \
	ADDQ $32, R10 \
	ADDQ $32, R12 \
	SUBQ $8, R11 \
	JG   grp

// The nibble kernels' (Q4_0, Q5_0) constants: the low-nibble mask and the
// per-word shifts that put a pair of blocks' low and high nibbles in
// alternate 128-bit lanes.
DATA rowsnib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL rowsnib<>(SB), RODATA|NOPTR, $8

// Per-word shifts: lanes 0 and 2 by 0, 1 and 3 by 4.
DATA rowsq4shift<>+0(SB)/8, $0
DATA rowsq4shift<>+8(SB)/8, $0
DATA rowsq4shift<>+16(SB)/8, $0x0004000400040004
DATA rowsq4shift<>+24(SB)/8, $0x0004000400040004
DATA rowsq4shift<>+32(SB)/8, $0
DATA rowsq4shift<>+40(SB)/8, $0
DATA rowsq4shift<>+48(SB)/8, $0x0004000400040004
DATA rowsq4shift<>+56(SB)/8, $0x0004000400040004
GLOBL rowsq4shift<>(SB), RODATA|NOPTR, $64
