// Attention's strided loops for three query heads that share a KV head
// (grouped-query attention), over float32 or fp16 rows alike: each cached
// row is read and widened once for the three instead of once per head.
// At a long context a layer's cache outgrows L2 and each head's pass read
// it again from L3. Every head's sums are formed in the order of the
// one-head loops (strided_avx512.h), so each gets the same bits. The
// including file defines DOT512G3 and AXPY512G3 (the functions' names),
// ES (a cached element's bytes) and ROWLOADZ(addr, z): z = the sixteen
// elements of the row at addr, widened.

// func DOT512G3(dst *float32, ldd int, q *float32, ldq int, m *ELEM, stride, keys, n int, scale float32)
// dst[g*ldd/4 + t] = scale * (q[g*ldq/4:][:n] · m[t*stride:][:n]) for the
// three heads g, keys a multiple of 4; ldd, ldq and stride in bytes.
// Accumulators Z(4g+k) for head g and key k of four; Z12-Z14 the heads'
// queries, Z15-Z18 the keys.
TEXT DOT512G3(SB), NOSPLIT, $0-68
	MOVQ         dst+0(FP), BX
	MOVQ         ldd+8(FP), R10
	MOVQ         ldq+24(FP), R11
	MOVQ         m+32(FP), R8
	MOVQ         stride+40(FP), DX
	MOVQ         keys+48(FP), R9
	VBROADCASTSS scale+64(FP), X31
	LEAQ         (DX)(DX*2), AX
	MOVQ         DX, R13
	SHLQ         $5, R13

g3four:
	CMPQ   R9, $4
	JLT    g3done
	LEAQ       (R8)(R13*1), R14
	PFROW((R14), 64(R14), 128(R14), 192(R14))
	PFROW((R14)(DX*1), 64(R14)(DX*1), 128(R14)(DX*1), 192(R14)(DX*1))
	PFROW((R14)(DX*2), 64(R14)(DX*2), 128(R14)(DX*2), 192(R14)(DX*2))
	PFROW((R14)(AX*1), 64(R14)(AX*1), 128(R14)(AX*1), 192(R14)(AX*1))
	MOVQ   q+16(FP), SI
	MOVQ   R8, DI
	MOVQ   n+56(FP), CX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	VXORPS Z8, Z8, Z8
	VXORPS Z9, Z9, Z9
	VXORPS Z10, Z10, Z10
	VXORPS Z11, Z11, Z11

g3loop:
	VMOVUPS     (SI), Z12
	VMOVUPS     (SI)(R11*1), Z13
	VMOVUPS     (SI)(R11*2), Z14
	ROWLOADZ((DI), Z15)
	ROWLOADZ((DI)(DX*1), Z16)
	ROWLOADZ((DI)(DX*2), Z17)
	ROWLOADZ((DI)(AX*1), Z18)
	VFMADD231PS Z15, Z12, Z0
	VFMADD231PS Z16, Z12, Z1
	VFMADD231PS Z17, Z12, Z2
	VFMADD231PS Z18, Z12, Z3
	VFMADD231PS Z15, Z13, Z4
	VFMADD231PS Z16, Z13, Z5
	VFMADD231PS Z17, Z13, Z6
	VFMADD231PS Z18, Z13, Z7
	VFMADD231PS Z15, Z14, Z8
	VFMADD231PS Z16, Z14, Z9
	VFMADD231PS Z17, Z14, Z10
	VFMADD231PS Z18, Z14, Z11
	ADDQ        $64, SI
	ADDQ        $(ES*16), DI
	SUBQ        $16, CX
	JG          g3loop

	RED4(Z0, Z1, Z2, Z3, Y0, Y1, Y2, Y3, X0)
	RED4(Z4, Z5, Z6, Z7, Y4, Y5, Y6, Y7, X4)
	RED4(Z8, Z9, Z10, Z11, Y8, Y9, Y10, Y11, X8)
	VMOVUPS X0, (BX)
	VMOVUPS X4, (BX)(R10*1)
	VMOVUPS X8, (BX)(R10*2)
	ADDQ    $16, BX
	LEAQ    (R8)(DX*4), R8
	SUBQ    $4, R9
	JMP     g3four

g3done:
	VZEROUPPER
	RET

// G3KEY adds p times the 64 widened elements at r0-r3 (Z24-Z27) into the
// accumulators of the three heads (a, b, c), whose p are pofs bytes into
// their rows of probabilities (DX, R11 apart), in Z28-Z30.
#define G3KEY(r0, r1, r2, r3, pofs, a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3) \
	ROWLOADZ(r0, Z24) \
	ROWLOADZ(r1, Z25) \
	ROWLOADZ(r2, Z26) \
	ROWLOADZ(r3, Z27) \
	VBROADCASTSS pofs(DX), Z28 \
	VBROADCASTSS pofs(DX)(R11*1), Z29 \
	VBROADCASTSS pofs(DX)(R11*2), Z30 \
	VFMADD231PS  Z24, Z28, a0 \
	VFMADD231PS  Z25, Z28, a1 \
	VFMADD231PS  Z26, Z28, a2 \
	VFMADD231PS  Z27, Z28, a3 \
	VFMADD231PS  Z24, Z29, b0 \
	VFMADD231PS  Z25, Z29, b1 \
	VFMADD231PS  Z26, Z29, b2 \
	VFMADD231PS  Z27, Z29, b3 \
	VFMADD231PS  Z24, Z30, c0 \
	VFMADD231PS  Z25, Z30, c1 \
	VFMADD231PS  Z26, Z30, c2 \
	VFMADD231PS  Z27, Z30, c3

#define G3EVEN(r0, r1, r2, r3, pofs) G3KEY(r0, r1, r2, r3, pofs, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11)
#define G3ODD(r0, r1, r2, r3, pofs) G3KEY(r0, r1, r2, r3, pofs, Z12, Z13, Z14, Z15, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)

// func AXPY512G3(dst *float32, ldd int, p *float32, ldp int, m *ELEM, stride, keys, n int)
// dst[g*ldd/4:][:n] += p[g*ldp/4 + t] * m[t*stride:][:n] for t < keys and
// the three heads g (n a multiple of 64; ldd, ldp, stride in bytes), as
// AXPY512 for each: the heads' dst 64 floats at a time in Z0-Z11 with the
// even keys, the odd keys into Z12-Z23, added at the end.
TEXT AXPY512G3(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R10
	MOVQ ldp+24(FP), R11
	MOVQ m+32(FP), R12
	MOVQ stride+40(FP), AX
	MOVQ n+56(FP), CX
	MOVQ AX, R13
	SHLQ $5, R13

g3cols:
	VMOVUPS (DI), Z0
	VMOVUPS 64(DI), Z1
	VMOVUPS 128(DI), Z2
	VMOVUPS 192(DI), Z3
	VMOVUPS (DI)(R10*1), Z4
	VMOVUPS 64(DI)(R10*1), Z5
	VMOVUPS 128(DI)(R10*1), Z6
	VMOVUPS 192(DI)(R10*1), Z7
	VMOVUPS (DI)(R10*2), Z8
	VMOVUPS 64(DI)(R10*2), Z9
	VMOVUPS 128(DI)(R10*2), Z10
	VMOVUPS 192(DI)(R10*2), Z11
	VXORPS  Z12, Z12, Z12
	VXORPS  Z13, Z13, Z13
	VXORPS  Z14, Z14, Z14
	VXORPS  Z15, Z15, Z15
	VXORPS  Z16, Z16, Z16
	VXORPS  Z17, Z17, Z17
	VXORPS  Z18, Z18, Z18
	VXORPS  Z19, Z19, Z19
	VXORPS  Z20, Z20, Z20
	VXORPS  Z21, Z21, Z21
	VXORPS  Z22, Z22, Z22
	VXORPS  Z23, Z23, Z23
	MOVQ    p+16(FP), DX
	MOVQ    R12, SI
	MOVQ    keys+48(FP), R9

g3two:
	CMPQ       R9, $2
	JLT        g3one
	LEAQ       (SI)(R13*1), R14
	PFROW((R14), 64(R14), 128(R14), 192(R14))
	PFROW((R14)(AX*1), 64(R14)(AX*1), 128(R14)(AX*1), 192(R14)(AX*1))
	G3EVEN((SI), (ES*16)(SI), (ES*32)(SI), (ES*48)(SI), 0)
	G3ODD((SI)(AX*1), (ES*16)(SI)(AX*1), (ES*32)(SI)(AX*1), (ES*48)(SI)(AX*1), 4)
	ADDQ $8, DX
	LEAQ (SI)(AX*2), SI
	SUBQ $2, R9
	JMP  g3two

g3one:
	TESTQ R9, R9
	JZ    g3store
	G3EVEN((SI), (ES*16)(SI), (ES*32)(SI), (ES*48)(SI), 0)

g3store:
	VADDPS  Z12, Z0, Z0
	VADDPS  Z13, Z1, Z1
	VADDPS  Z14, Z2, Z2
	VADDPS  Z15, Z3, Z3
	VADDPS  Z16, Z4, Z4
	VADDPS  Z17, Z5, Z5
	VADDPS  Z18, Z6, Z6
	VADDPS  Z19, Z7, Z7
	VADDPS  Z20, Z8, Z8
	VADDPS  Z21, Z9, Z9
	VADDPS  Z22, Z10, Z10
	VADDPS  Z23, Z11, Z11
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	VMOVUPS Z4, (DI)(R10*1)
	VMOVUPS Z5, 64(DI)(R10*1)
	VMOVUPS Z6, 128(DI)(R10*1)
	VMOVUPS Z7, 192(DI)(R10*1)
	VMOVUPS Z8, (DI)(R10*2)
	VMOVUPS Z9, 64(DI)(R10*2)
	VMOVUPS Z10, 128(DI)(R10*2)
	VMOVUPS Z11, 192(DI)(R10*2)
	ADDQ    $256, DI
	ADDQ    $(ES*64), R12
	SUBQ    $64, CX
	JG      g3cols
	VZEROUPPER
	RET
