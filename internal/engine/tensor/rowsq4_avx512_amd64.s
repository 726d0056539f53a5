//go:build !purego

#include "textflag.h"
#include "prefetch_amd64.h"
#include "hsum_amd64.h"
#include "rows_avx512_amd64.h"

// AVX-512 (VL, BW, VNNI) mat-vec row kernel for Q4_0: dst[r] = row r · x
// for rows rs bytes apart, x quantized (q8Act). Twin: dotQ4_0Generic.
// Blocks go two to a 512-bit register: a block's sixteen bytes broadcast
// to the low two 128-bit lanes, the next block's merged into the high two,
// shifted by 0 and 4 bits lane by lane (VPSRLVW) and masked: element i's
// low nibble, i+16's high, as x lays them out. The pair's VPDPBUSD leaves
// eight lanes of partial sums per block; they are converted to float and
// multiplied, lane by lane, by their block's weight scale times its
// activation scale (the group's eight products, spread by a VPERMPS), into
// four sixteen-lane float sums. Scaling pair by pair costs less than
// reducing the group's sixteen lanes to eight block sums first (the
// shuffles cost a quarter of the kernel's time on a Zen 5), and a row's
// partial last group (SmolLM2's 576 columns end every row on two blocks)
// needs no masks beyond its last odd block. The level offset, 8·Σx per
// block, comes off once per row, from its own sum. Registers
// (rows_avx512_amd64.h) and Z7 the nibble mask, Z18 the shifts, X20 the
// scales' word order, Z22-Z25 the pairs' scale order, Z28-Z31 the sums,
// Y21 the offsets' sum; K3 the high two lanes, K6 the low two.

// The words of a group's eight scales among its first 64 words.
DATA q4w<>+0(SB)/8, $0x001b001200090000
DATA q4w<>+8(SB)/8, $0x003f0036002d0024
GLOBL q4w<>(SB), RODATA|NOPTR, $16

// Pair p's scale order for VPERMPS: lanes 0-7 block 2p, 8-15 block 2p+1.
DATA q4perm<>+0(SB)/8, $0x0000000000000000
DATA q4perm<>+8(SB)/8, $0x0000000000000000
DATA q4perm<>+16(SB)/8, $0x0000000000000000
DATA q4perm<>+24(SB)/8, $0x0000000000000000
DATA q4perm<>+32(SB)/8, $0x0000000100000001
DATA q4perm<>+40(SB)/8, $0x0000000100000001
DATA q4perm<>+48(SB)/8, $0x0000000100000001
DATA q4perm<>+56(SB)/8, $0x0000000100000001
DATA q4perm<>+64(SB)/8, $0x0000000200000002
DATA q4perm<>+72(SB)/8, $0x0000000200000002
DATA q4perm<>+80(SB)/8, $0x0000000200000002
DATA q4perm<>+88(SB)/8, $0x0000000200000002
DATA q4perm<>+96(SB)/8, $0x0000000300000003
DATA q4perm<>+104(SB)/8, $0x0000000300000003
DATA q4perm<>+112(SB)/8, $0x0000000300000003
DATA q4perm<>+120(SB)/8, $0x0000000300000003
DATA q4perm<>+128(SB)/8, $0x0000000400000004
DATA q4perm<>+136(SB)/8, $0x0000000400000004
DATA q4perm<>+144(SB)/8, $0x0000000400000004
DATA q4perm<>+152(SB)/8, $0x0000000400000004
DATA q4perm<>+160(SB)/8, $0x0000000500000005
DATA q4perm<>+168(SB)/8, $0x0000000500000005
DATA q4perm<>+176(SB)/8, $0x0000000500000005
DATA q4perm<>+184(SB)/8, $0x0000000500000005
DATA q4perm<>+192(SB)/8, $0x0000000600000006
DATA q4perm<>+200(SB)/8, $0x0000000600000006
DATA q4perm<>+208(SB)/8, $0x0000000600000006
DATA q4perm<>+216(SB)/8, $0x0000000600000006
DATA q4perm<>+224(SB)/8, $0x0000000700000007
DATA q4perm<>+232(SB)/8, $0x0000000700000007
DATA q4perm<>+240(SB)/8, $0x0000000700000007
DATA q4perm<>+248(SB)/8, $0x0000000700000007
GLOBL q4perm<>(SB), RODATA|NOPTR, $256

// Q4F is blocks 2p and 2p+1: their integer dot into acc, converted and
// scaled lane by lane into the float sum a.
#define Q4F(p, acc, tmp, idx, a) \
	VBROADCASTI32X4 (36*p+2)(R8), Z0 \
	VBROADCASTI32X4 (36*p+20)(R8), K3, Z0 \
	VPSRLVW         Z18, Z0, Z0 \
	VPANDD          Z7, Z0, Z0 \
	VPXORD          acc, acc, acc \
	VPDPBUSD        (64*p)(R9), Z0, acc \
	VCVTDQ2PS       acc, acc \
	VPERMPS         Z5, idx, tmp \
	VFMADD231PS     tmp, acc, a

// Q4FONE is block 2p alone, under K6: nothing of block 2p+1 is read.
#define Q4FONE(p, acc, tmp, idx, a) \
	VBROADCASTI32X4.Z (36*p+2)(R8), K6, Z0 \
	VPSRLVW           Z18, Z0, Z0 \
	VPANDD            Z7, Z0, Z0 \
	VPXORD            acc, acc, acc \
	VPDPBUSD          (64*p)(R9), Z0, K6, acc \
	VCVTDQ2PS         acc, acc \
	VPERMPS           Z5, idx, tmp \
	VFMADD231PS       tmp, acc, a

// Q4GSCALE sets Y5 to the group's weight scales (X4, fp16) times its
// activation scales (dx) and adds its level offset, 8·Σx (sums) times
// them, to Y21.
#define Q4GSCALE(dx, sums) \
	VCVTPH2PS   X4, Y4 \
	VMULPS      dx, Y4, Y5 \
	VPSLLD      $3, sums, sums \
	VCVTDQ2PS   sums, sums \
	VFMADD231PS sums, Y5, Y21

// func dotRowsQ4_0AVX512(dst *float32, w *byte, rs, rows int, x *int8, d *float32, nb int, sum *int32)
TEXT ·dotRowsQ4_0AVX512(SB), NOSPLIT, $0-64
	ROWSARGS1
	VPBROADCASTQ rowsnib<>(SB), Z7
	VMOVDQU32    rowsq4shift<>(SB), Z18
	VMOVDQU64    q4w<>(SB), X20
	VMOVDQU32    q4perm<>+0(SB), Z22
	VMOVDQU32    q4perm<>+64(SB), Z23
	VMOVDQU32    q4perm<>+128(SB), Z24
	VMOVDQU32    q4perm<>+192(SB), Z25
	MOVL         $0xff00, AX
	KMOVW        AX, K3
	MOVL         $0x00ff, AX
	KMOVW        AX, K6

q4row:
	ROWSTART1
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
	VPXORD Z30, Z30, Z30
	VPXORD Z31, Z31, Z31
	VPXORD Y21, Y21, Y21

q4grp:
	PF3(R8)
	CMPQ R11, $8
	JLT  q4part
	// The eight scales of a full group are words 0, 9, 18, ... 63 of
	// its first 128 bytes (it has 144): one word permute picks them.
	VMOVDQU64 (R8), Z4
	VPERMT2W  64(R8), Z20, Z4
	VMOVDQU   (R12), Y6
	Q4GSCALE((R10), Y6)
	Q4F(0, Z8, Z12, Z22, Z28)
	Q4F(1, Z9, Z13, Z23, Z29)
	Q4F(2, Z10, Z14, Z24, Z30)
	Q4F(3, Z11, Z15, Z25, Z31)
	NEXTGROUP(18, q4grp)
	JMP q4end

q4part:
	WSCALESPART(18)
	VMOVUPS.Z   (R10), K2, Y1
	VMOVDQU32.Z (R12), K2, Y6
	Q4GSCALE(Y1, Y6)
	CMPQ R11, $2
	JLT  q4one0
	Q4F(0, Z8, Z12, Z22, Z28)
	CMPQ R11, $3
	JLT  q4end
	CMPQ R11, $4
	JLT  q4one1
	Q4F(1, Z9, Z13, Z23, Z29)
	CMPQ R11, $5
	JLT  q4end
	CMPQ R11, $6
	JLT  q4one2
	Q4F(2, Z10, Z14, Z24, Z30)
	CMPQ R11, $7
	JLT  q4end
	Q4FONE(3, Z11, Z15, Z25, Z31)
	JMP  q4end
q4one0:
	Q4FONE(0, Z8, Z12, Z22, Z28)
	JMP  q4end
q4one1:
	Q4FONE(1, Z9, Z13, Z23, Z29)
	JMP  q4end
q4one2:
	Q4FONE(2, Z10, Z14, Z24, Z30)

q4end:
	// The row: Σ of the sixteen-lane sums, less the level offsets.
	VADDPS        Z29, Z28, Z28
	VADDPS        Z31, Z30, Z30
	VADDPS        Z30, Z28, Z28
	VEXTRACTF64X4 $1, Z28, Y0
	VADDPS        Y28, Y0, Y0
	VSUBPS        Y21, Y0, Y0
	HSUM_Y0
	VMOVSS        X0, (BX)
	ADDQ          $4, BX
	ADDQ          rs+16(FP), SI
	DECQ          R13
	JNZ           q4row
	VZEROUPPER
	RET
