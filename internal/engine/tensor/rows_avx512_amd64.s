//go:build !purego

#include "textflag.h"
#include "prefetch_amd64.h"
#include "hsum_amd64.h"
#include "rows_avx512_amd64.h"

// AVX-512 (VL, VNNI) mat-vec row kernels for Q5_0 and Q8_0: dst[r] = row
// r · x for rows rs bytes apart, x quantized (q8Act). Twins:
// dotQ5_0Generic, dotQ8_0Generic. Eight blocks go at a time: their integer
// dot products (VPDPBUSD of unsigned levels by x) are reduced into one
// vector of eight exact block sums, the level offset is subtracted as
// 2^shift·Σx, and the vector is scaled by the eight weight scales (loaded
// one by one, as far as the row goes for its partial last group) times the
// activation scales, so the float work is per eight blocks, not per block.
// The multi-vector Q8_0 kernel (rowsn_avx512_amd64.s) repeats that float
// work bit for bit. Q4_0's kernel (rowsq4_avx512_amd64.s) scales pair by
// pair instead. Registers (rows_avx512_amd64.h) and Y16 the row's float
// sum, Z7 the nibble mask.


#define ZERO8 \
	VPXOR Y8, Y8, Y8 \
	VPXOR Y9, Y9, Y9 \
	VPXOR Y10, Y10, Y10 \
	VPXOR Y11, Y11, Y11 \
	VPXOR Y12, Y12, Y12 \
	VPXOR Y13, Y13, Y13 \
	VPXOR Y14, Y14, Y14 \
	VPXOR Y15, Y15, Y15

// SUMS8 leaves the eight accumulators' totals in Y1 (block j in lane j).
#define SUMS8 \
	VPHADDD    Y9, Y8, Y0 \
	VPHADDD    Y11, Y10, Y1 \
	VPHADDD    Y13, Y12, Y2 \
	VPHADDD    Y15, Y14, Y3 \
	VPHADDD    Y1, Y0, Y0 \
	VPHADDD    Y3, Y2, Y2 \
	VPERM2I128 $0x20, Y2, Y0, Y1 \
	VPERM2I128 $0x31, Y2, Y0, Y3 \
	VPADDD     Y3, Y1, Y1

// WSCALES sets X4 to the eight fp16 weight scales of a full group,
// s bytes apart from (R8): loaded one by one, faster than a gather.
#define WSCALES(s) \
	MOVWLZX (R8), AX \
	VMOVD   AX, X4 \
	VPINSRW $1, (s*1)(R8), X4, X4 \
	VPINSRW $2, (s*2)(R8), X4, X4 \
	VPINSRW $3, (s*3)(R8), X4, X4 \
	VPINSRW $4, (s*4)(R8), X4, X4 \
	VPINSRW $5, (s*5)(R8), X4, X4 \
	VPINSRW $6, (s*6)(R8), X4, X4 \
	VPINSRW $7, (s*7)(R8), X4, X4

// ROWSCALE adds a group into the row's float sum Y16: (block sums Y1 -
// Σx·2^shift, the level offset, from the activation sums Y6) times the
// weight scales (X4, fp16) times the activation scales Y5.
#define ROWSCALE(shift) \
	VPSLLD      $shift, Y6, Y6 \
	VPSUBD      Y6, Y1, Y1 \
	VCVTPH2PS   X4, Y4 \
	VMULPS      Y5, Y4, Y4 \
	VCVTDQ2PS   Y1, Y1 \
	VFMADD231PS Y1, Y4, Y16

// HSUMOUT stores the sum of the eight floats of y at (out).
#define HSUMOUT(y, out) \
	VMOVAPS y, Y0 \
	HSUM_Y0 \
	VMOVSS  X0, out

// GROUPLOADS sets Y4 to the group's weight scales (s bytes apart): loaded
// one by one (faster than a gather), and Y6, Y5 to the activation sums and
// scales; a row's last, partial group jumps to part for them instead, and
// a full one on to scale.
#define GROUPLOADS(s, part, scale) \
	CMPQ    R11, $8 \
	JLT     part \
	WSCALES(s) \
	VMOVDQU (R12), Y6 \
	VMOVUPS (R10), Y5 \
	JMP     scale

#define GROUPLOADSQ5(part, scale) GROUPLOADS(22, part, scale)

// PARTLOADS is GROUPLOADS for the partial group, under the mask of the
// blocks present.
#define PARTLOADS(s) \
	WSCALESPART(s) \
	VMOVDQU32.Z (R12), K2, Y6 \
	VMOVUPS.Z   (R10), K2, Y5

// NEXTROW stores the row's sum and goes on to the next row, if any.
#define NEXTROW(row) \
	HSUMOUT(Y16, (BX)) \
	ADDQ $4, BX \
	ADDQ rs+16(FP), SI \
	DECQ R13 \
	JNZ  row

// A whole group of eight Q5_0 blocks goes two blocks to a 512-bit
// register (the low four bits of the levels as in the Q4_0 kernel): a block's sixteen bytes broadcast to the low two 128-bit
// lanes, the next block's merged into the high two, shifted by 0 and 4
// bits lane by lane (VPSRLVW) and masked: element i low nibble, i+16 high,
// as x lays them out. Four such VPDPBUSD replace eight of 256 bits and
// their per-block unpacking; Q4SUMS reduces them to the same exact block
// sums SUMS8 gives. A row's partial last group goes by pairs too, a lone
// last block under a mask (TAILPAIR, Q5ONE).


// The order that puts back the block sums of Q4SUMS.
DATA rowsq4perm<>+0(SB)/4, $0
DATA rowsq4perm<>+4(SB)/4, $4
DATA rowsq4perm<>+8(SB)/4, $1
DATA rowsq4perm<>+12(SB)/4, $5
DATA rowsq4perm<>+16(SB)/4, $2
DATA rowsq4perm<>+20(SB)/4, $6
DATA rowsq4perm<>+24(SB)/4, $3
DATA rowsq4perm<>+28(SB)/4, $7
GLOBL rowsq4perm<>(SB), RODATA|NOPTR, $32

// Q4SUMS leaves the eight block sums of Z8-Z11 (blocks 2p, 2p+1 in the
// low and high half of Z(8+p)) in Y1, in block order: per 128-bit lane,
// pairwise sums made by shuffles (VPHADDD has no 512-bit form); lanes 0+1
// are then blocks 0,2,4,6 and lanes 2+3 blocks 1,3,5,7, which Y19 puts
// back in order.
#define Q4SUMS \
	VSHUFPS       $0x88, Z9, Z8, Z0 \
	VSHUFPS       $0xdd, Z9, Z8, Z1 \
	VPADDD        Z1, Z0, Z0 \
	VSHUFPS       $0x88, Z11, Z10, Z2 \
	VSHUFPS       $0xdd, Z11, Z10, Z3 \
	VPADDD        Z3, Z2, Z2 \
	VSHUFPS       $0x88, Z2, Z0, Z1 \
	VSHUFPS       $0xdd, Z2, Z0, Z3 \
	VPADDD        Z3, Z1, Z1 \
	VSHUFI32X4    $0xd8, Z1, Z1, Z2 \
	VEXTRACTI64X4 $1, Z2, Y3 \
	VPADDD        Y3, Y2, Y1 \
	VPERMD        Y1, Y19, Y1

// TAILPAIR is pair p of a partial group: both blocks (PAIR), the first
// alone (a jump to one), or none (a jump to done).
#define TAILPAIR(PAIR, p, acc, one, done) \
	CMPQ R11, $(2*p+1) \
	JLT  done \
	CMPQ R11, $(2*p+2) \
	JLT  one \
	PAIR(p, acc)

// NIBROWS is the body of the nibble kernel (Q5_0) after its
// constants: PAIR and ONE make a pair of blocks and a lone block, bs is
// the block size, the level offset 2^shift. K3 and K6 are set here; the
// caller sets what its PAIR needs.
#define NIBROWS(PAIR, ONE, LOADS, bs, shift) \
	ROWSARGS1 \
	VPBROADCASTQ rowsnib<>(SB), Z7 \
	VMOVDQU32    rowsq4shift<>(SB), Z18 \
	VMOVDQU32    rowsq4perm<>(SB), Y19 \
	MOVL         $0xff00, AX \
	KMOVW        AX, K3 \
	MOVL         $0x00ff, AX \
	KMOVW        AX, K6 \
nrow: \
	ROWSTART1 \
ngrp: \
	PF3(R8) \
	CMPQ   R11, $8 \
	JLT    ntail \
	PAIR(0, Z8) \
	PAIR(1, Z9) \
	PAIR(2, Z10) \
	PAIR(3, Z11) \
	JMP    nsums \
ntail: \
	VPXORD Z8, Z8, Z8 \
	VPXORD Z9, Z9, Z9 \
	VPXORD Z10, Z10, Z10 \
	VPXORD Z11, Z11, Z11 \
	TAILPAIR(PAIR, 0, Z8, none0, nsums) \
	TAILPAIR(PAIR, 1, Z9, none1, nsums) \
	TAILPAIR(PAIR, 2, Z10, none2, nsums) \
	TAILPAIR(PAIR, 3, Z11, none3, nsums) \
	JMP    nsums \
none0: \
	ONE(0, Z8) \
	JMP    nsums \
none1: \
	ONE(1, Z9) \
	JMP    nsums \
none2: \
	ONE(2, Z10) \
	JMP    nsums \
none3: \
	ONE(3, Z11) \
nsums: \
	Q4SUMS \
	LOADS(npart, nscale) \
npart: \
	PARTLOADS(bs) \
nscale: \
	ROWSCALE(shift) \
	NEXTGROUP(bs, ngrp) \
	NEXTROW(nrow) \
	VZEROUPPER \
	RET

// Q5_0's levels are Q4_0's nibbles with each level's fifth bit
// (bit i of the block's 32-bit qh, element i) added as 16 under a byte mask
// (levels 0-31 for -16..15: 16·Σx comes off).

DATA rows16<>+0(SB)/8, $0x1010101010101010
GLOBL rows16<>(SB), RODATA|NOPTR, $8

// Q5PAIR is blocks 2p and 2p+1 into acc.
#define Q5PAIR(p, acc) \
	VBROADCASTI32X4 (44*p+6)(R8), Z0 \
	VBROADCASTI32X4 (44*p+28)(R8), K3, Z0 \
	VPSRLVW         Z18, Z0, Z0 \
	VPANDD          Z7, Z0, Z0 \
	KMOVD           (44*p+2)(R8), K4 \
	KMOVD           (44*p+24)(R8), K5 \
	KUNPCKDQ        K4, K5, K4 \
	VPADDB          Z20, Z0, K4, Z0 \
	VPXORD          acc, acc, acc \
	VPDPBUSD        (64*p)(R9), Z0, acc

// Q5ONE is block 2p alone (a partial group's last) into acc, under K6 (the
// low two lanes): nothing of block 2p+1 or its x is read.
#define Q5ONE(p, acc) \
	VBROADCASTI32X4.Z (44*p+6)(R8), K6, Z0 \
	VPSRLVW           Z18, Z0, Z0 \
	VPANDD            Z7, Z0, Z0 \
	KMOVD             (44*p+2)(R8), K4 \
	VPADDB            Z20, Z0, K4, Z0 \
	VPDPBUSD          (64*p)(R9), Z0, K6, acc

// func dotRowsQ5_0AVX512(dst *float32, w *byte, rs, rows int, x *int8, d *float32, nb int, sum *int32)
// Y16 += (sums - 16·Σx) * d_w * d_x, group by group.
TEXT ·dotRowsQ5_0AVX512(SB), NOSPLIT, $0-64
	VPBROADCASTQ rows16<>(SB), Z20
	NIBROWS(Q5PAIR, Q5ONE, GROUPLOADSQ5, 22, 4)

// The Q8_0 kernel works as the Q5_0 one, with the weights' signed levels
// made unsigned by flipping their top bit (w+128): VPDPBUSD then sums
// (w+128)·x, and 128·Σx comes off with the group's activation sums.

DATA rowsbias<>+0(SB)/8, $0x8080808080808080
GLOBL rowsbias<>(SB), RODATA|NOPTR, $8

// The word orders that pick a full group's scales (below).
DATA rowsq8w<>+0(SB)/8, $0x0033002200110000
DATA rowsq8w<>+8(SB)/8, $0
DATA rowsq8w<>+16(SB)/8, $0
DATA rowsq8w<>+24(SB)/8, $0x0037002600150004
GLOBL rowsq8w<>(SB), RODATA|NOPTR, $32

// Q8B is block j: levels+128 (u8) times x (s8), or a jump to out when the
// row has no block j.
#define Q8B(j, acc, out) \
	CMPQ     R11, $j \
	JLE      out \
	VPXOR    (34*j+2)(R8), Y7, Y0 \
	VPDPBUSD (32*j)(R9), Y0, acc

// Q8FOUR is blocks j to j+3 of a full group into a0-a3.
#define Q8FOUR(j, a0, a1, a2, a3) \
	VPXOR    (34*j+2)(R8), Y7, Y0 \
	VPXOR    (34*j+36)(R8), Y7, Y1 \
	VPXOR    (34*j+70)(R8), Y7, Y2 \
	VPXOR    (34*j+104)(R8), Y7, Y3 \
	VPXOR    a0, a0, a0 \
	VPXOR    a1, a1, a1 \
	VPXOR    a2, a2, a2 \
	VPXOR    a3, a3, a3 \
	VPDPBUSD (32*j)(R9), Y0, a0 \
	VPDPBUSD (32*j+32)(R9), Y1, a1 \
	VPDPBUSD (32*j+64)(R9), Y2, a2 \
	VPDPBUSD (32*j+96)(R9), Y3, a3

// func dotRowsQ8_0AVX512(dst *float32, w *byte, rs, rows int, x *int8, d *float32, nb int, sum *int32)
TEXT ·dotRowsQ8_0AVX512(SB), NOSPLIT, $0-64
	ROWSARGS1
	VPBROADCASTQ rowsbias<>(SB), Y7
	VMOVDQU64    rowsq8w<>(SB), X20
	VMOVDQU64    rowsq8w<>+16(SB), X21
	MOVL         $0xf0, AX
	KMOVW        AX, K4

q8row:
	ROWSTART1

q8grp:
	PF4Q8(R8)
	CMPQ R11, $8
	JLT  q8tail
	// A full group: no test per block.
	Q8FOUR(0, Y8, Y9, Y10, Y11)
	Q8FOUR(4, Y12, Y13, Y14, Y15)
	SUMS8
	// The eight scales are words 0, 17, 34, 51 of the group's first 128
	// bytes and 4, 21, 38, 55 of the next 128: two word permutes.
	VMOVDQU64 (R8), Z4
	VPERMT2W  64(R8), Z20, Z4
	VMOVDQU64 128(R8), Z6
	VPERMT2W  192(R8), Z21, Z6
	VMOVDQU16 Z6, K4, Z4
	VMOVDQU (R12), Y6
	VMOVUPS (R10), Y5
	JMP     q8scale

q8tail:
	ZERO8
	Q8B(0, Y8, q8red)
	Q8B(1, Y9, q8red)
	Q8B(2, Y10, q8red)
	Q8B(3, Y11, q8red)
	Q8B(4, Y12, q8red)
	Q8B(5, Y13, q8red)
	Q8B(6, Y14, q8red)
	Q8B(7, Y15, q8red)

q8red:
	SUMS8
	PARTLOADS(34)

q8scale:
	// Y16 += (sums - 128·Σx) * d_w * d_x.
	ROWSCALE(7)

	NEXTGROUP(34, q8grp)
	NEXTROW(q8row)
	VZEROUPPER
	RET

