// The AVX-512 bodies of attention's strided loops, for float32 rows
// (strided_avx512_amd64.s) and fp16 rows (strided_f16_amd64.s) alike,
// for heads whose width is a multiple of 16 (scores) or 64 (sums). The
// file including it defines DOT512 and AXPY512 (the functions' names), ES
// (a cached element's bytes) and ROWFMAZ(addr, x, acc): acc += x times
// the sixteen elements of the row at addr, widened. Widening is exact, so
// the two give the same bits for the same widened rows. A decode step's
// attention is bound by arithmetic latency, not memory (a sequence's cache
// stays in L2 between its heads), so the scores take four keys at a time
// (four independent chains, one horizontal reduction for four, in an order
// that gives a key the same score in a group of four or alone) and the
// sums two values at a time into two sets of accumulators, added at the
// end.

// PFROW asks for the first 64 elements of a row 32 keys ahead (two lines
// of fp16, four of float32 where the including file defines ES4): a
// decode step streams the weights between two layers' attention, so the
// cache comes from memory, in strided rows (a KV head's of every token)
// the hardware prefetchers do not fetch ahead.
#ifdef ES4
#define PFROW(l0, l1, l2, l3) PREFETCHT0 l0; PREFETCHT0 l1; PREFETCHT0 l2; PREFETCHT0 l3
#else
#define PFROW(l0, l1, l2, l3) PREFETCHT0 l0; PREFETCHT0 l1
#endif

// RED4 leaves in xa (the low lanes of accumulator a) the sums of four
// accumulators, one key each, scaled by X31, in the order every
// score of these loops is formed in (Y12, X12 scratch).
#define RED4(za, zb, zc, zd, ya, yb, yc, yd, xa) \
	VEXTRACTF64X4 $1, za, Y12 \
	VADDPS        Y12, ya, ya \
	VEXTRACTF64X4 $1, zb, Y12 \
	VADDPS        Y12, yb, yb \
	VEXTRACTF64X4 $1, zc, Y12 \
	VADDPS        Y12, yc, yc \
	VEXTRACTF64X4 $1, zd, Y12 \
	VADDPS        Y12, yd, yd \
	VHADDPS       yb, ya, ya \
	VHADDPS       yd, yc, yc \
	VHADDPS       yc, ya, ya \
	VEXTRACTF128  $1, ya, X12 \
	VADDPS        X12, xa, xa \
	VMULPS        X31, xa, xa

// func DOT512(dst, q *float32, m *ELEM, stride, keys, n int, scale float32)
// dst[t] = scale * (q · m[t*stride : t*stride+n]); stride in bytes.
TEXT DOT512(SB), NOSPLIT, $0-52
	MOVQ         dst+0(FP), BX
	MOVQ         m+16(FP), R8
	MOVQ         stride+24(FP), DX
	MOVQ         keys+32(FP), R9
	VBROADCASTSS scale+48(FP), X31
	LEAQ         (DX)(DX*2), AX
	MOVQ         DX, R13
	SHLQ         $5, R13

dfour:
	CMPQ   R9, $4
	JLT    done
	LEAQ   (R8)(R13*1), R14
	PFROW((R14), 64(R14), 128(R14), 192(R14))
	PFROW((R14)(DX*1), 64(R14)(DX*1), 128(R14)(DX*1), 192(R14)(DX*1))
	PFROW((R14)(DX*2), 64(R14)(DX*2), 128(R14)(DX*2), 192(R14)(DX*2))
	PFROW((R14)(AX*1), 64(R14)(AX*1), 128(R14)(AX*1), 192(R14)(AX*1))
	MOVQ   q+8(FP), SI
	MOVQ   R8, DI
	MOVQ   n+40(FP), CX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3

dfloop:
	VMOVUPS     (SI), Z4
	ROWFMAZ((DI), Z4, Z0)
	ROWFMAZ((DI)(DX*1), Z4, Z1)
	ROWFMAZ((DI)(DX*2), Z4, Z2)
	ROWFMAZ((DI)(AX*1), Z4, Z3)
	ADDQ        $64, SI
	ADDQ        $(ES*16), DI
	SUBQ        $16, CX
	JG          dfloop

	// X0 = the four keys' scores.
	RED4(Z0, Z1, Z2, Z3, Y0, Y1, Y2, Y3, X0)
	VMOVUPS       X0, (BX)
	ADDQ          $16, BX
	LEAQ          (R8)(DX*4), R8
	SUBQ          $4, R9
	JMP           dfour

done:
	// The last keys one at a time.
	TESTQ R9, R9
	JZ    ret

done1:
	MOVQ   q+8(FP), SI
	MOVQ   R8, DI
	MOVQ   n+40(FP), CX
	VXORPS Z0, Z0, Z0

d1loop:
	VMOVUPS     (SI), Z4
	ROWFMAZ((DI), Z4, Z0)
	ADDQ        $64, SI
	ADDQ        $(ES*16), DI
	SUBQ        $16, CX
	JG          d1loop

	// The four-key reduction's order, for one key.
	VEXTRACTF64X4 $1, Z0, Y4
	VADDPS        Y4, Y0, Y0
	VHADDPS       Y0, Y0, Y0
	VHADDPS       Y0, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDSS        X1, X0, X0
	VMULSS        X31, X0, X0
	VMOVSS        X0, (BX)
	ADDQ          $4, BX
	ADDQ          DX, R8
	DECQ          R9
	JNZ           done1

ret:
	VZEROUPPER
	RET

// func AXPY512(dst, p *float32, m *ELEM, stride, keys, n int)
// dst += p[t] * m[t*stride : t*stride+n] for t < keys; stride in bytes.
// dst is held in registers 64 floats at a time; even keys add into Z1-Z4,
// odd ones into Z5-Z8.
TEXT AXPY512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ n+40(FP), CX
	MOVQ stride+24(FP), AX
	MOVQ AX, R13
	SHLQ $5, R13

acols:
	VMOVUPS (DI), Z1
	VMOVUPS 64(DI), Z2
	VMOVUPS 128(DI), Z3
	VMOVUPS 192(DI), Z4
	VXORPS  Z5, Z5, Z5
	VXORPS  Z6, Z6, Z6
	VXORPS  Z7, Z7, Z7
	VXORPS  Z8, Z8, Z8
	MOVQ    p+8(FP), DX
	MOVQ    m+16(FP), SI
	MOVQ    keys+32(FP), R9

atwo:
	CMPQ         R9, $2
	JLT          aone
	LEAQ         (SI)(R13*1), R14
	PFROW((R14), 64(R14), 128(R14), 192(R14))
	PFROW((R14)(AX*1), 64(R14)(AX*1), 128(R14)(AX*1), 192(R14)(AX*1))
	VBROADCASTSS (DX), Z0
	VBROADCASTSS 4(DX), Z9
	ROWFMAZ((SI), Z0, Z1)
	ROWFMAZ((ES*16)(SI), Z0, Z2)
	ROWFMAZ((ES*32)(SI), Z0, Z3)
	ROWFMAZ((ES*48)(SI), Z0, Z4)
	ROWFMAZ((SI)(AX*1), Z9, Z5)
	ROWFMAZ((ES*16)(SI)(AX*1), Z9, Z6)
	ROWFMAZ((ES*32)(SI)(AX*1), Z9, Z7)
	ROWFMAZ((ES*48)(SI)(AX*1), Z9, Z8)
	ADDQ         $8, DX
	LEAQ         (SI)(AX*2), SI
	SUBQ         $2, R9
	JMP          atwo

aone:
	TESTQ        R9, R9
	JZ           astore
	VBROADCASTSS (DX), Z0
	ROWFMAZ((SI), Z0, Z1)
	ROWFMAZ((ES*16)(SI), Z0, Z2)
	ROWFMAZ((ES*32)(SI), Z0, Z3)
	ROWFMAZ((ES*48)(SI), Z0, Z4)

astore:
	VADDPS  Z5, Z1, Z1
	VADDPS  Z6, Z2, Z2
	VADDPS  Z7, Z3, Z3
	VADDPS  Z8, Z4, Z4
	VMOVUPS Z1, (DI)
	VMOVUPS Z2, 64(DI)
	VMOVUPS Z3, 128(DI)
	VMOVUPS Z4, 192(DI)
	ADDQ    $256, DI
	ADDQ    $(ES*64), m+16(FP)
	SUBQ    $64, CX
	JG      acols
	VZEROUPPER
	RET
