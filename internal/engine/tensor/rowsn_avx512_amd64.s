//go:build !purego

#include "textflag.h"
#include "prefetch_amd64.h"
#include "hsum_amd64.h"

// The multi-vector Q8_0 row kernel: rows against n vectors at once, for
// the few vectors of a decode step of several sequences. A row's group of
// sixteen weight blocks is loaded once and transposed in registers into
// Z16-Z23 (TRANS16): lane l of each holds four levels of one block, so
// eight VPDPBUSD against a vector's activations, laid out the same way
// (transposeQ8 in act.go), leave the sixteen block sums in one register,
// with no horizontal reduction per vector. The float work is the
// one-vector kernel's (dotRowsQ8_0AVX512), group of eight by group of
// eight in the same order, so each vector's result is the same bit for
// bit. Registers: BX dst (row r), SI the row, R13 rows left; per row R8
// the group's weights, R11 blocks left, DI vector 0's group; per vector
// R9 its group, CX its running sums in facc; R10 the bytes between
// vectors' activations, R12 the end of the first row's sums in facc (a
// pair's second row's run on to R14); Z24 the group's weight
// scales, Z25 the level bias, Z26 the scales' byte offsets.

// Byte offsets of sixteen consecutive Q8_0 (34-byte) block scales.
DATA q8gidx<>+0(SB)/4, $0
DATA q8gidx<>+4(SB)/4, $34
DATA q8gidx<>+8(SB)/4, $68
DATA q8gidx<>+12(SB)/4, $102
DATA q8gidx<>+16(SB)/4, $136
DATA q8gidx<>+20(SB)/4, $170
DATA q8gidx<>+24(SB)/4, $204
DATA q8gidx<>+28(SB)/4, $238
DATA q8gidx<>+32(SB)/4, $272
DATA q8gidx<>+36(SB)/4, $306
DATA q8gidx<>+40(SB)/4, $340
DATA q8gidx<>+44(SB)/4, $374
DATA q8gidx<>+48(SB)/4, $408
DATA q8gidx<>+52(SB)/4, $442
DATA q8gidx<>+56(SB)/4, $476
DATA q8gidx<>+60(SB)/4, $510
GLOBL q8gidx<>(SB), RODATA|NOPTR, $64

DATA q8gbias<>+0(SB)/8, $0x8080808080808080
GLOBL q8gbias<>(SB), RODATA|NOPTR, $8

// Q8PREFETCH asks for the lines of a group PF_AHEAD bytes past base.
#define Q8PREFETCH(base) \
	PF4(base) \
	PREFETCHT0 (PF_AHEAD+256)(base) \
	PREFETCHT0 (PF_AHEAD+320)(base) \
	PREFETCHT0 (PF_AHEAD+384)(base) \
	PREFETCHT0 (PF_AHEAD+448)(base) \
	PREFETCHT0 (PF_AHEAD+512)(base)

// Q8SCALES sets y (x its low half) to the sixteen fp16 scales of a whole
// group at base, loaded one by one (faster than a gather); xt is scratch.
#define Q8SCALES(base, x, y, xt) \
	SCALES8(0, base, x) \
	SCALES8(272, base, xt) \
	VINSERTI32X4 $1, xt, y, y

// SCALES8 sets x to the eight fp16 scales of the 34-byte blocks from off
// bytes past base.
#define SCALES8(off, base, x) \
	MOVWLZX (off)(base), AX \
	VMOVD   AX, x \
	VPINSRW $1, (off+34)(base), x, x \
	VPINSRW $2, (off+68)(base), x, x \
	VPINSRW $3, (off+102)(base), x, x \
	VPINSRW $4, (off+136)(base), x, x \
	VPINSRW $5, (off+170)(base), x, x \
	VPINSRW $6, (off+204)(base), x, x \
	VPINSRW $7, (off+238)(base), x, x

// Q8GATHER is Q8SCALES for the lanes in AX only (the others zero), at base
// plus the offsets in idx.
#define Q8GATHER(base, idx, z, y) \
	KMOVW      AX, K1 \
	VPXORD     z, z, z \
	VPGATHERDD (base)(idx*1), K1, z \
	VPMOVDW    z, y

// The transposition takes Zj = blocks j and j+4 (j < 4), Z(4+j) = blocks
// 8+j and 12+j (low half, high half), so that its lanes come out in block
// order. PAIR loads blocks lo and hi of the group at R8 into z.
#define PAIR(lo, hi, y, z) \
	VMOVDQU      (34*lo+2)(R8), y \
	VINSERTI64X4 $1, (34*hi+2)(R8), z, z

// LOW and HIGH load block b of a partial group at base into the low or
// high half of a register, or jump to out when the group has no block b
// (nor any after it: a ladder goes in block order).
#define LOW(b, base, y, out) \
	CMPQ    R11, $b \
	JLE     out \
	VMOVDQU (34*b+2)(base), y

#define HIGH(b, base, z, out) \
	CMPQ         R11, $b \
	JLE          out \
	VINSERTI64X4 $1, (34*b+2)(base), z, z

// LADDER8 loads a partial group's blocks 0-7 at base into Z0-Z3 (or,
// with the registers of 8-15, into Z4-Z7), with LO and HI the loads of a
// low and a high half (LOW, HIGH for weights, XLOW, XHIGH for
// activations); LADDER15 its blocks 0-14 into Z0-Z7.
#define LADDER8(LO, HI, base, y0, y1, y2, y3, z0, z1, z2, z3, out) \
	LO(0, base, y0, out) \
	LO(1, base, y1, out) \
	LO(2, base, y2, out) \
	LO(3, base, y3, out) \
	HI(4, base, z0, out) \
	HI(5, base, z1, out) \
	HI(6, base, z2, out) \
	HI(7, base, z3, out)

#define LADDER15(LO, HI, base, out) \
	LADDER8(LO, HI, base, Y0, Y1, Y2, Y3, Z0, Z1, Z2, Z3, out) \
	LO(8, base, Y4, out) \
	LO(9, base, Y5, out) \
	LO(10, base, Y6, out) \
	LO(11, base, Y7, out) \
	HI(12, base, Z4, out) \
	HI(13, base, Z5, out) \
	HI(14, base, Z6, out)

// TRANS16 transposes Z0-Z7 (two blocks of eight dwords each, paired as
// PAIR says) into Z16-Z23, with Z8-Z15 as scratch: Z16+m holds dword
// transCol[m] of each block, lane l that of block l.
#define TRANS16 \
	VPUNPCKLDQ  Z1, Z0, Z8 \
	VPUNPCKHDQ  Z1, Z0, Z9 \
	VPUNPCKLDQ  Z3, Z2, Z10 \
	VPUNPCKHDQ  Z3, Z2, Z11 \
	VPUNPCKLDQ  Z5, Z4, Z12 \
	VPUNPCKHDQ  Z5, Z4, Z13 \
	VPUNPCKLDQ  Z7, Z6, Z14 \
	VPUNPCKHDQ  Z7, Z6, Z15 \
	VPUNPCKLQDQ Z10, Z8, Z0 \
	VPUNPCKHQDQ Z10, Z8, Z1 \
	VPUNPCKLQDQ Z11, Z9, Z2 \
	VPUNPCKHQDQ Z11, Z9, Z3 \
	VPUNPCKLQDQ Z14, Z12, Z4 \
	VPUNPCKHQDQ Z14, Z12, Z5 \
	VPUNPCKLQDQ Z15, Z13, Z6 \
	VPUNPCKHQDQ Z15, Z13, Z7 \
	VSHUFI32X4  $0x88, Z4, Z0, Z16 \
	VSHUFI32X4  $0xdd, Z4, Z0, Z17 \
	VSHUFI32X4  $0x88, Z5, Z1, Z18 \
	VSHUFI32X4  $0xdd, Z5, Z1, Z19 \
	VSHUFI32X4  $0x88, Z6, Z2, Z20 \
	VSHUFI32X4  $0xdd, Z6, Z2, Z21 \
	VSHUFI32X4  $0x88, Z7, Z3, Z22 \
	VSHUFI32X4  $0xdd, Z7, Z3, Z23

// ZEROS clears Z0-Z7: absent blocks stay zero (with the bias they weigh
// 128 against activations that are zero there, or ignored).
#define ZEROS \
	VPXORD Z0, Z0, Z0 \
	VPXORD Z1, Z1, Z1 \
	VPXORD Z2, Z2, Z2 \
	VPXORD Z3, Z3, Z3 \
	VPXORD Z4, Z4, Z4 \
	VPXORD Z5, Z5, Z5 \
	VPXORD Z6, Z6, Z6 \
	VPXORD Z7, Z7, Z7

// MASK sets AX to the R11 (< 16) low bits (CX clobbered).
#define MASK \
	MOVQ R11, CX \
	MOVL $1, AX \
	SHLL CX, AX \
	DECL AX

// PREP makes Z24 the group's weight scales (fp16 in Y24) and Z16-Z23 its
// transposed levels with the bias.
#define PREP \
	VCVTPH2PS  Y24, Z24 \
	TRANS16 \
	VPXORD     Z25, Z16, Z16 \
	VPXORD     Z25, Z17, Z17 \
	VPXORD     Z25, Z18, Z18 \
	VPXORD     Z25, Z19, Z19 \
	VPXORD     Z25, Z20, Z20 \
	VPXORD     Z25, Z21, Z21 \
	VPXORD     Z25, Z22, Z22 \
	VPXORD     Z25, Z23, Z23 \
	MOVQ       DI, R9

// SUMS sets Z0 to one vector's sixteen block sums as floats, and Z1 to
// their scales d_w·d_x: -128·Σx + Σ(w+128)·x, in two chains.
#define SUMS \
	VMOVDQU32  512(R9), Z0 \
	VPXORD     Z3, Z3, Z3 \
	VPDPBUSD   (R9), Z16, Z0 \
	VPDPBUSD   64(R9), Z17, Z3 \
	VPDPBUSD   128(R9), Z18, Z0 \
	VPDPBUSD   192(R9), Z19, Z3 \
	VPDPBUSD   256(R9), Z20, Z0 \
	VPDPBUSD   320(R9), Z21, Z3 \
	VPDPBUSD   384(R9), Z22, Z0 \
	VPDPBUSD   448(R9), Z23, Z3 \
	VPADDD     Z3, Z0, Z0 \
	VCVTDQ2PS  Z0, Z0 \
	VMULPS     576(R9), Z24, Z1

// LOSUM and HISUM add blocks 0-7 and 8-15 of Z0 times Z1 into the eight
// running sums at m, as the one-vector kernel adds a group of eight.
#define LOSUM(m) \
	VMOVUPS     m, Y2 \
	VFMADD231PS Y0, Y1, Y2 \
	VMOVUPS     Y2, m

#define HISUM(m) \
	VEXTRACTF64X4 $1, Z0, Y0 \
	VEXTRACTF64X4 $1, Z1, Y1 \
	LOSUM(m)

// NEXTVEC moves on to the next vector while CX is below end.
#define NEXTVEC(end, vec) \
	ADDQ R10, R9 \
	ADDQ $32, CX \
	CMPQ CX, end \
	JLT  vec

// FULL does the row's whole groups of sixteen blocks from R8 on into the
// running sums from DX to R14, leaving R8, R11 and DI at its tail.
#define FULL(grp, vec, done) \
grp: \
	CMPQ  R11, $16 \
	JLT   done \
	Q8PREFETCH(R8) \
	PAIR(0, 4, Y0, Z0) \
	PAIR(1, 5, Y1, Z1) \
	PAIR(2, 6, Y2, Z2) \
	PAIR(3, 7, Y3, Z3) \
	PAIR(8, 12, Y4, Z4) \
	PAIR(9, 13, Y5, Z5) \
	PAIR(10, 14, Y6, Z6) \
	PAIR(11, 15, Y7, Z7) \
	Q8SCALES(R8, X24, Y24, X28) \
	PREP \
	MOVQ  DX, CX \
vec: \
	SUMS \
	VMOVUPS       (CX), Y2 \
	VFMADD231PS   Y0, Y1, Y2 \
	VEXTRACTF64X4 $1, Z0, Y0 \
	VEXTRACTF64X4 $1, Z1, Y1 \
	VFMADD231PS   Y0, Y1, Y2 \
	VMOVUPS       Y2, (CX) \
	NEXTVEC(R14, vec) \
	ADDQ  $544, R8 \
	ADDQ  $640, DI \
	SUBQ  $16, R11 \
	JMP   grp \
done:

// CLEAR zeroes the running sums from DX to end.
#define CLEAR(end, loop) \
	MOVQ    DX, CX \
	VPXORD  Y0, Y0, Y0 \
loop: \
	VMOVUPS Y0, (CX) \
	ADDQ    $32, CX \
	CMPQ    CX, end \
	JLT     loop

// OUT stores the sum of each vector's eight running sums, from CX to end,
// at out, out+ldd, ... (R9 and AX clobbered).
#define OUT(out, end, loop) \
	MOVQ    out, R9 \
	MOVQ    ldd+48(FP), AX \
loop: \
	VMOVUPS (CX), Y0 \
	HSUM_Y0 \
	VMOVSS  X0, (R9) \
	ADDQ    AX, R9 \
	ADDQ    $32, CX \
	CMPQ    CX, end \
	JLT     loop

// func dotRowsQ8_0xTAVX512(dst *float32, w *byte, rs, rows int, xt *byte, nb, ldd int, facc, fend *float32, xs int)
// ldd and xs are in bytes: between one vector's outputs and the next's,
// and between their transposed activations. facc holds two rows' running
// sums: [facc, fend) the first's, as much again the second's. Rows whose
// last group has at most eight blocks go in pairs: the two rows' last
// groups are transposed as one (transposeQ8 gives a vector's last eight
// blocks twice for it), so the short group costs half.
TEXT ·dotRowsQ8_0xTAVX512(SB), NOSPLIT, $0-80
	MOVQ         dst+0(FP), BX
	MOVQ         w+8(FP), SI
	MOVQ         rows+24(FP), R13
	MOVQ         xs+72(FP), R10
	MOVQ         fend+64(FP), R12
	VPBROADCASTQ q8gbias<>(SB), Z25
	VMOVDQU32    q8gidx<>(SB), Z26

	// Z27: a pair's last group's scale offsets: eight blocks of the first
	// row, then eight of the second.
	MOVQ         rs+16(FP), AX
	SUBQ         $272, AX
	VPBROADCASTD AX, Y27
	VPXORD       Z28, Z28, Z28
	VINSERTI64X4 $1, Y27, Z28, Z27
	VPADDD       Z26, Z27, Z27

nrow:
	CMPQ R13, $2
	JLT  single
	MOVQ nb+40(FP), AX
	ANDQ $15, AX
	JZ   single
	CMPQ AX, $8
	JLE  pair

single:
	MOVQ facc+56(FP), DX
	MOVQ R12, R14
	CLEAR(R14, szero)
	MOVQ SI, R8
	MOVQ nb+40(FP), R11
	MOVQ xt+32(FP), DI
	FULL(sgrp, sfvec, stail)
	CMPQ R11, $0
	JLE  sout
	ZEROS
	LADDER15(LOW, HIGH, R8, sprep)

sprep:
	MASK
	Q8GATHER(R8, Z26, Z24, Y24)
	PREP
	MOVQ DX, CX

svec:
	SUMS
	LOSUM((CX))
	CMPQ R11, $8
	JLE  snext
	HISUM((CX))

snext:
	NEXTVEC(R14, svec)

sout:
	MOVQ DX, CX
	OUT(BX, R14, sstore)
	ADDQ $4, BX
	ADDQ rs+16(FP), SI
	DECQ R13
	JNZ  nrow
	VZEROUPPER
	RET

pair:
	// Running sums: the first row's from facc to R12, the second's from
	// R12 to R14.
#define SECONDEND \
	MOVQ R12, R14 \
	ADDQ R12, R14 \
	SUBQ facc+56(FP), R14

	MOVQ facc+56(FP), DX
	SECONDEND
	CLEAR(R14, pzero)
	MOVQ SI, R8
	MOVQ nb+40(FP), R11
	MOVQ xt+32(FP), DI
	MOVQ R12, R14
	FULL(pgrp0, pvec0, ptail0)
	MOVQ SI, R8
	ADDQ rs+16(FP), R8
	MOVQ nb+40(FP), R11
	MOVQ xt+32(FP), DI
	MOVQ R12, DX
	SECONDEND
	FULL(pgrp1, pvec1, ptail1)

	// The last groups: the first row's blocks low, the second's high.
	MOVQ R8, AX
	SUBQ rs+16(FP), R8
	ZEROS
	LADDER8(LOW, HIGH, R8, Y0, Y1, Y2, Y3, Z0, Z1, Z2, Z3, phigh)

phigh:
	LADDER8(LOW, HIGH, AX, Y4, Y5, Y6, Y7, Z4, Z5, Z6, Z7, pprep)

pprep:
	MASK
	MOVL AX, CX
	SHLL $8, CX
	ORL  CX, AX
	Q8GATHER(R8, Z27, Z24, Y24)
	PREP
	MOVQ facc+56(FP), CX
	MOVQ R12, AX
	SUBQ CX, AX

pvec:
	SUMS
	LOSUM((CX))
	HISUM((CX)(AX*1))
	NEXTVEC(R12, pvec)

	MOVQ facc+56(FP), CX
	OUT(BX, R12, pout0)
	LEAQ 4(BX), DX
	OUT(DX, R14, pout1)
	ADDQ $8, BX
	MOVQ rs+16(FP), AX
	LEAQ (SI)(AX*2), SI
	SUBQ $2, R13
	JNZ  nrow
	VZEROUPPER
	RET

// XPAIR, XLOW and XHIGH are PAIR, LOW and HIGH for the activations' 32-byte
// blocks at SI.
#define XPAIR(lo, hi, y, z) \
	VMOVDQU      (32*lo)(SI), y \
	VINSERTI64X4 $1, (32*hi)(SI), z, z

#define XLOW(b, base, y, out) \
	CMPQ    R11, $b \
	JLE     out \
	VMOVDQU (32*b)(base), y

#define XHIGH(b, base, z, out) \
	CMPQ         R11, $b \
	JLE          out \
	VINSERTI64X4 $1, (32*b)(base), z, z

// func transQ8AVX512(dst *byte, qs *int8, sum *int32, d *float32, nb int)
// transposeQ8's assembly twin: the levels through TRANS16, as the kernel
// transposes the weights.
TEXT ·transQ8AVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ qs+8(FP), SI
	MOVQ sum+16(FP), DX
	MOVQ d+24(FP), R8
	MOVQ nb+32(FP), R11

tgrp:
	CMPQ R11, $16
	JLT  tpart
	XPAIR(0, 4, Y0, Z0)
	XPAIR(1, 5, Y1, Z1)
	XPAIR(2, 6, Y2, Z2)
	XPAIR(3, 7, Y3, Z3)
	XPAIR(8, 12, Y4, Z4)
	XPAIR(9, 13, Y5, Z5)
	XPAIR(10, 14, Y6, Z6)
	XPAIR(11, 15, Y7, Z7)
	VMOVDQU32    (DX), Z24
	VMOVUPS      (R8), Z25
	JMP          tstore

tpart:
	ZEROS
	LADDER15(XLOW, XHIGH, SI, tmask)

tmask:
	MASK
	KMOVW       AX, K1
	VMOVDQU32.Z (DX), K1, Z24
	VMOVUPS.Z   (R8), K1, Z25
	CMPQ        R11, $8
	JG          tstore

	// A last group of at most eight blocks has them twice (for a pair of
	// rows).
	VMOVDQA64    Z0, Z4
	VMOVDQA64    Z1, Z5
	VMOVDQA64    Z2, Z6
	VMOVDQA64    Z3, Z7
	VINSERTI64X4 $1, Y24, Z24, Z24
	VINSERTF64X4 $1, Y25, Z25, Z25

tstore:
	TRANS16
	VMOVDQU32  Z16, (DI)
	VMOVDQU32  Z17, 64(DI)
	VMOVDQU32  Z18, 128(DI)
	VMOVDQU32  Z19, 192(DI)
	VMOVDQU32  Z20, 256(DI)
	VMOVDQU32  Z21, 320(DI)
	VMOVDQU32  Z22, 384(DI)
	VMOVDQU32  Z23, 448(DI)
	// -128·Σx, and the scales.
	VPSLLD     $7, Z24, Z24
	VPXORD     Z26, Z26, Z26
	VPSUBD     Z24, Z26, Z24
	VMOVDQU32  Z24, 512(DI)
	VMOVUPS    Z25, 576(DI)
	ADDQ       $640, DI
	ADDQ       $512, SI
	ADDQ       $64, DX
	ADDQ       $64, R8
	SUBQ       $16, R11
	JG         tgrp
	VZEROUPPER
	RET
