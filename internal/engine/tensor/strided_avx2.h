// The AVX2 bodies of attention's strided loops, for float32 rows
// (strided_amd64.s) and fp16 rows (strided_f16_amd64.s) alike. The file
// including it defines DOT and AXPY (the functions' names), ES (a cached
// element's bytes) and ROWFMA(addr, x, acc): acc += x times the eight
// elements of the row at addr, widened. Widening is exact, so the two
// give the same bits for the same widened rows. n, the head's width, is a
// multiple of 32.

// func DOT(dst, q *float32, m *ELEM, stride, keys, n int, scale float32)
// dst[t] = scale * (q · m[t*stride : t*stride+n]); stride in bytes.
TEXT DOT(SB), NOSPLIT, $0-52
	MOVQ   dst+0(FP), BX
	MOVQ   m+16(FP), R8
	MOVQ   keys+32(FP), R9
	VMOVSS scale+48(FP), X5

dskey:
	MOVQ   q+8(FP), SI
	MOVQ   R8, DI
	MOVQ   n+40(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dsloop:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y6
	VMOVUPS 64(SI), Y7
	VMOVUPS 96(SI), Y8
	ROWFMA((DI), Y4, Y0)
	ROWFMA((ES*8)(DI), Y6, Y1)
	ROWFMA((ES*16)(DI), Y7, Y2)
	ROWFMA((ES*24)(DI), Y8, Y3)
	ADDQ    $128, SI
	ADDQ    $(ES*32), DI
	SUBQ    $32, CX
	JG      dsloop

	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM_Y0
	VMULSS X0, X5, X0
	VMOVSS X0, (BX)
	ADDQ   $4, BX
	ADDQ   stride+24(FP), R8
	DECQ   R9
	JNZ    dskey
	VZEROUPPER
	RET

// func AXPY(dst, p *float32, m *ELEM, stride, keys, n int)
// dst += p[t] * m[t*stride : t*stride+n] for t < keys, in that order;
// stride in bytes. dst is held in registers 32 floats at a time.
TEXT AXPY(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ n+40(FP), CX

axcols:
	VMOVUPS (DI), Y1
	VMOVUPS 32(DI), Y2
	VMOVUPS 64(DI), Y3
	VMOVUPS 96(DI), Y4
	MOVQ    p+8(FP), DX
	MOVQ    m+16(FP), SI
	MOVQ    keys+32(FP), R9

axkey:
	VBROADCASTSS (DX), Y0
	ROWFMA((SI), Y0, Y1)
	ROWFMA((ES*8)(SI), Y0, Y2)
	ROWFMA((ES*16)(SI), Y0, Y3)
	ROWFMA((ES*24)(SI), Y0, Y4)
	ADDQ         $4, DX
	ADDQ         stride+24(FP), SI
	DECQ         R9
	JNZ          axkey

	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	VMOVUPS Y3, 64(DI)
	VMOVUPS Y4, 96(DI)
	ADDQ    $128, DI
	ADDQ    $(ES*32), m+16(FP)
	SUBQ    $32, CX
	JG      axcols
	VZEROUPPER
	RET
