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
// vectors' activations, R12 the end of facc; Z24 the group's weight
// scales, Z25 the level bias, Z26 the scales' byte offsets.

DATA rowsnbias<>+0(SB)/8, $0x8080808080808080
GLOBL rowsnbias<>(SB), RODATA|NOPTR, $8

// Byte offsets of sixteen consecutive Q8_0 (34-byte) block scales.
DATA rowsnidx<>+0(SB)/4, $0
DATA rowsnidx<>+4(SB)/4, $34
DATA rowsnidx<>+8(SB)/4, $68
DATA rowsnidx<>+12(SB)/4, $102
DATA rowsnidx<>+16(SB)/4, $136
DATA rowsnidx<>+20(SB)/4, $170
DATA rowsnidx<>+24(SB)/4, $204
DATA rowsnidx<>+28(SB)/4, $238
DATA rowsnidx<>+32(SB)/4, $272
DATA rowsnidx<>+36(SB)/4, $306
DATA rowsnidx<>+40(SB)/4, $340
DATA rowsnidx<>+44(SB)/4, $374
DATA rowsnidx<>+48(SB)/4, $408
DATA rowsnidx<>+52(SB)/4, $442
DATA rowsnidx<>+56(SB)/4, $476
DATA rowsnidx<>+60(SB)/4, $510
GLOBL rowsnidx<>(SB), RODATA|NOPTR, $64

// PAIR loads blocks j (low half) and j+8 (high half) of the group into z.
#define PAIR(j, y, z) \
	VMOVDQU      (34*j+2)(R8), y \
	VINSERTI64X4 $1, (34*j+274)(R8), z, z

// LOW and HIGH load one block of a partial group, or jump to out when the
// group has no block j (nor any after it).
#define LOW(j, y, out) \
	CMPQ    R11, $j \
	JLE     out \
	VMOVDQU (34*j+2)(R8), y

#define HIGH(j, z, out) \
	CMPQ         R11, $(j+8) \
	JLE          out \
	VINSERTI64X4 $1, (34*j+274)(R8), z, z

// TRANS16 transposes Z0-Z7 (Zj: the eight dwords of block j, then of
// block j+8) into Z16-Z23, with Z8-Z15 as scratch. Z16+m holds dword
// transCol[m] of each block, lane l that of block transBlock[l].
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

// HIGHP is HIGH for the second row of a pair, whose blocks are at AX.
#define HIGHP(j, z, out) \
	CMPQ         R11, $j \
	JLE          out \
	VINSERTI64X4 $1, (34*j+2)(AX), z, z

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

// PREP makes Z24 the group's weight scales, gathered at R8 plus the
// offsets in idx for the lanes in AX (the others zero), and Z16-Z23 its
// transposed levels with the bias.
#define PREP(idx) \
	KMOVW      AX, K1 \
	VPXORD     Z24, Z24, Z24 \
	VPGATHERDD (R8)(idx*1), K1, Z24 \
	VPMOVDW    Z24, Y24 \
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

// PREFETCH asks for the lines of a group PF_AHEAD bytes on.
#define PREFETCH \
	PF4(R8) \
	PREFETCHT0 (PF_AHEAD+256)(R8) \
	PREFETCHT0 (PF_AHEAD+320)(R8) \
	PREFETCHT0 (PF_AHEAD+384)(R8) \
	PREFETCHT0 (PF_AHEAD+448)(R8) \
	PREFETCHT0 (PF_AHEAD+512)(R8)

// SUMS sets Z0 to one vector's sixteen block sums, in block order and as
// floats, and Z1 to their scales d_w·d_x: -128·Σx + Σ(w+128)·x, block
// by block in lane order, in two chains.
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
	VSHUFI32X4 $0xd8, Z0, Z0, Z0 \
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
	PREFETCH \
	PAIR(0, Y0, Z0) \
	PAIR(1, Y1, Z1) \
	PAIR(2, Y2, Z2) \
	PAIR(3, Y3, Z3) \
	PAIR(4, Y4, Z4) \
	PAIR(5, Y5, Z5) \
	PAIR(6, Y6, Z6) \
	PAIR(7, Y7, Z7) \
	MOVL  $0xffff, AX \
	PREP(Z26) \
	MOVQ  DX, CX \
vec: \
	SUMS \
	VMOVUPS     (CX), Y2 \
	VFMADD231PS Y0, Y1, Y2 \
	VEXTRACTF64X4 $1, Z0, Y0 \
	VEXTRACTF64X4 $1, Z1, Y1 \
	VFMADD231PS Y0, Y1, Y2 \
	VMOVUPS     Y2, (CX) \
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
	VPBROADCASTQ rowsnbias<>(SB), Z25
	VMOVDQU32    rowsnidx<>(SB), Z26

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
	LOW(0, Y0, sprep)
	LOW(1, Y1, sprep)
	LOW(2, Y2, sprep)
	LOW(3, Y3, sprep)
	LOW(4, Y4, sprep)
	LOW(5, Y5, sprep)
	LOW(6, Y6, sprep)
	LOW(7, Y7, sprep)
	HIGH(0, Z0, sprep)
	HIGH(1, Z1, sprep)
	HIGH(2, Z2, sprep)
	HIGH(3, Z3, sprep)
	HIGH(4, Z4, sprep)
	HIGH(5, Z5, sprep)
	HIGH(6, Z6, sprep)

sprep:
	MASK
	PREP(Z26)
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
	LOW(0, Y0, phigh)
	LOW(1, Y1, phigh)
	LOW(2, Y2, phigh)
	LOW(3, Y3, phigh)
	LOW(4, Y4, phigh)
	LOW(5, Y5, phigh)
	LOW(6, Y6, phigh)
	LOW(7, Y7, phigh)

phigh:
	HIGHP(0, Z0, pprep)
	HIGHP(1, Z1, pprep)
	HIGHP(2, Z2, pprep)
	HIGHP(3, Z3, pprep)
	HIGHP(4, Z4, pprep)
	HIGHP(5, Z5, pprep)
	HIGHP(6, Z6, pprep)
	HIGHP(7, Z7, pprep)

pprep:
	MASK
	MOVL AX, CX
	SHLL $8, CX
	ORL  CX, AX
	PREP(Z27)
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

// XLOW and XHIGH load activation block j (low half) or j+8 (high half) of
// a group at SI, or jump to out when the vector has no block j.
#define XLOW(j, y, out) \
	CMPQ    R11, $j \
	JLE     out \
	VMOVDQU (32*j)(SI), y

#define XHIGH(j, z, out) \
	CMPQ         R11, $(j+8) \
	JLE          out \
	VINSERTI64X4 $1, (32*j+256)(SI), z, z

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
	VMOVDQU      (SI), Y0
	VINSERTI64X4 $1, 256(SI), Z0, Z0
	VMOVDQU      32(SI), Y1
	VINSERTI64X4 $1, 288(SI), Z1, Z1
	VMOVDQU      64(SI), Y2
	VINSERTI64X4 $1, 320(SI), Z2, Z2
	VMOVDQU      96(SI), Y3
	VINSERTI64X4 $1, 352(SI), Z3, Z3
	VMOVDQU      128(SI), Y4
	VINSERTI64X4 $1, 384(SI), Z4, Z4
	VMOVDQU      160(SI), Y5
	VINSERTI64X4 $1, 416(SI), Z5, Z5
	VMOVDQU      192(SI), Y6
	VINSERTI64X4 $1, 448(SI), Z6, Z6
	VMOVDQU      224(SI), Y7
	VINSERTI64X4 $1, 480(SI), Z7, Z7
	VMOVDQU32    (DX), Z24
	VMOVUPS      (R8), Z25
	JMP          tstore

tpart:
	ZEROS
	XLOW(0, Y0, tmask)
	XLOW(1, Y1, tmask)
	XLOW(2, Y2, tmask)
	XLOW(3, Y3, tmask)
	XLOW(4, Y4, tmask)
	XLOW(5, Y5, tmask)
	XLOW(6, Y6, tmask)
	XLOW(7, Y7, tmask)
	XHIGH(0, Z0, tmask)
	XHIGH(1, Z1, tmask)
	XHIGH(2, Z2, tmask)
	XHIGH(3, Z3, tmask)
	XHIGH(4, Z4, tmask)
	XHIGH(5, Z5, tmask)
	XHIGH(6, Z6, tmask)

tmask:
	MASK
	KMOVW       AX, K1
	VMOVDQU32.Z (DX), K1, Z24
	VMOVUPS.Z   (R8), K1, Z25
	CMPQ        R11, $8
	JG          tstore

	// A last group of at most eight blocks has them twice (for a pair of
	// rows).
	VINSERTI64X4 $1, Y0, Z0, Z0
	VINSERTI64X4 $1, Y1, Z1, Z1
	VINSERTI64X4 $1, Y2, Z2, Z2
	VINSERTI64X4 $1, Y3, Z3, Z3
	VINSERTI64X4 $1, Y4, Z4, Z4
	VINSERTI64X4 $1, Y5, Z5, Z5
	VINSERTI64X4 $1, Y6, Z6, Z6
	VINSERTI64X4 $1, Y7, Z7, Z7
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
	// -128·Σx in lane order, the scales in block order.
	VPSLLD     $7, Z24, Z24
	VPXORD     Z26, Z26, Z26
	VPSUBD     Z24, Z26, Z24
	VSHUFI32X4 $0xd8, Z24, Z24, Z24
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
