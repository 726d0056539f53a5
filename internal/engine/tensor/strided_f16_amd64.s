//go:build !purego

#include "textflag.h"
#include "hsum_amd64.h"

// Attention's strided loops over fp16 keys and values (an F16 KV cache):
// the float loops (strided_amd64.s, strided_avx512_amd64.s) with each
// cached row widened by VCVTPH2PS as it is read. The widening is exact,
// so each gives the bits its float twin gives for the widened rows.

// func dotStridedF16AVX2(dst, q *float32, m *uint16, stride, keys, n int, scale float32)
// dst[t] = scale * (q · m[t*stride : t*stride+n]); stride in bytes, n a
// multiple of 32.
TEXT ·dotStridedF16AVX2(SB), NOSPLIT, $0-52
	MOVQ   dst+0(FP), BX
	MOVQ   m+16(FP), R8
	MOVQ   keys+32(FP), R9
	VMOVSS scale+48(FP), X5

hdkey:
	MOVQ   q+8(FP), SI
	MOVQ   R8, DI
	MOVQ   n+40(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

hdloop:
	VCVTPH2PS   (DI), Y9
	VCVTPH2PS   16(DI), Y10
	VCVTPH2PS   32(DI), Y11
	VCVTPH2PS   48(DI), Y12
	VFMADD231PS (SI), Y9, Y0
	VFMADD231PS 32(SI), Y10, Y1
	VFMADD231PS 64(SI), Y11, Y2
	VFMADD231PS 96(SI), Y12, Y3
	ADDQ        $128, SI
	ADDQ        $64, DI
	SUBQ        $32, CX
	JG          hdloop

	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM_Y0
	VMULSS X0, X5, X0
	VMOVSS X0, (BX)
	ADDQ   $4, BX
	ADDQ   stride+24(FP), R8
	DECQ   R9
	JNZ    hdkey
	VZEROUPPER
	RET

// func axpyStridedF16AVX2(dst, p *float32, m *uint16, stride, keys, n int)
// dst += p[t] * m[t*stride : t*stride+n] for t < keys, in that order;
// stride in bytes, n a multiple of 32.
TEXT ·axpyStridedF16AVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ n+40(FP), CX

hacols:
	VMOVUPS (DI), Y1
	VMOVUPS 32(DI), Y2
	VMOVUPS 64(DI), Y3
	VMOVUPS 96(DI), Y4
	MOVQ    p+8(FP), DX
	MOVQ    m+16(FP), SI
	MOVQ    keys+32(FP), R9

hakey:
	VBROADCASTSS (DX), Y0
	VCVTPH2PS    (SI), Y9
	VCVTPH2PS    16(SI), Y10
	VCVTPH2PS    32(SI), Y11
	VCVTPH2PS    48(SI), Y12
	VFMADD231PS  Y9, Y0, Y1
	VFMADD231PS  Y10, Y0, Y2
	VFMADD231PS  Y11, Y0, Y3
	VFMADD231PS  Y12, Y0, Y4
	ADDQ         $4, DX
	ADDQ         stride+24(FP), SI
	DECQ         R9
	JNZ          hakey

	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	VMOVUPS Y3, 64(DI)
	VMOVUPS Y4, 96(DI)
	ADDQ    $128, DI
	ADDQ    $64, m+16(FP)
	SUBQ    $32, CX
	JG      hacols
	VZEROUPPER
	RET

// func dotStridedF16AVX512(dst, q *float32, m *uint16, stride, keys, n int, scale float32)
// dotStridedAVX512 over fp16 rows; n a multiple of 16.
TEXT ·dotStridedF16AVX512(SB), NOSPLIT, $0-52
	MOVQ         dst+0(FP), BX
	MOVQ         m+16(FP), R8
	MOVQ         stride+24(FP), DX
	MOVQ         keys+32(FP), R9
	VBROADCASTSS scale+48(FP), X5
	LEAQ         (DX)(DX*2), AX

hzfour:
	CMPQ   R9, $4
	JLT    hzdone
	MOVQ   q+8(FP), SI
	MOVQ   R8, DI
	MOVQ   n+40(FP), CX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3

hzloop:
	VMOVUPS     (SI), Z4
	VCVTPH2PS   (DI), Z9
	VCVTPH2PS   (DI)(DX*1), Z10
	VCVTPH2PS   (DI)(DX*2), Z11
	VCVTPH2PS   (DI)(AX*1), Z12
	VFMADD231PS Z9, Z4, Z0
	VFMADD231PS Z10, Z4, Z1
	VFMADD231PS Z11, Z4, Z2
	VFMADD231PS Z12, Z4, Z3
	ADDQ        $64, SI
	ADDQ        $32, DI
	SUBQ        $16, CX
	JG          hzloop

	VEXTRACTF64X4 $1, Z0, Y4
	VADDPS        Y4, Y0, Y0
	VEXTRACTF64X4 $1, Z1, Y4
	VADDPS        Y4, Y1, Y1
	VEXTRACTF64X4 $1, Z2, Y4
	VADDPS        Y4, Y2, Y2
	VEXTRACTF64X4 $1, Z3, Y4
	VADDPS        Y4, Y3, Y3
	VHADDPS       Y1, Y0, Y0
	VHADDPS       Y3, Y2, Y2
	VHADDPS       Y2, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VMULPS        X5, X0, X0
	VMOVUPS       X0, (BX)
	ADDQ          $16, BX
	LEAQ          (R8)(DX*4), R8
	SUBQ          $4, R9
	JMP           hzfour

hzdone:
	TESTQ R9, R9
	JZ    hzret

hzone:
	MOVQ   q+8(FP), SI
	MOVQ   R8, DI
	MOVQ   n+40(FP), CX
	VXORPS Z0, Z0, Z0

hz1loop:
	VCVTPH2PS   (DI), Z9
	VFMADD231PS (SI), Z9, Z0
	ADDQ        $64, SI
	ADDQ        $32, DI
	SUBQ        $16, CX
	JG          hz1loop

	VEXTRACTF64X4 $1, Z0, Y4
	VADDPS        Y4, Y0, Y0
	VHADDPS       Y0, Y0, Y0
	VHADDPS       Y0, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDSS        X1, X0, X0
	VMULSS        X5, X0, X0
	VMOVSS        X0, (BX)
	ADDQ          $4, BX
	ADDQ          DX, R8
	DECQ          R9
	JNZ           hzone

hzret:
	VZEROUPPER
	RET

// func axpyStridedF16AVX512(dst, p *float32, m *uint16, stride, keys, n int)
// axpyStridedAVX512 over fp16 rows; n a multiple of 64.
TEXT ·axpyStridedF16AVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ n+40(FP), CX
	MOVQ stride+24(FP), AX

hzcols:
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

hztwo:
	CMPQ         R9, $2
	JLT          hzlast
	VBROADCASTSS (DX), Z0
	VBROADCASTSS 4(DX), Z9
	VCVTPH2PS    (SI), Z10
	VCVTPH2PS    32(SI), Z11
	VCVTPH2PS    64(SI), Z12
	VCVTPH2PS    96(SI), Z13
	VFMADD231PS  Z10, Z0, Z1
	VFMADD231PS  Z11, Z0, Z2
	VFMADD231PS  Z12, Z0, Z3
	VFMADD231PS  Z13, Z0, Z4
	VCVTPH2PS    (SI)(AX*1), Z10
	VCVTPH2PS    32(SI)(AX*1), Z11
	VCVTPH2PS    64(SI)(AX*1), Z12
	VCVTPH2PS    96(SI)(AX*1), Z13
	VFMADD231PS  Z10, Z9, Z5
	VFMADD231PS  Z11, Z9, Z6
	VFMADD231PS  Z12, Z9, Z7
	VFMADD231PS  Z13, Z9, Z8
	ADDQ         $8, DX
	LEAQ         (SI)(AX*2), SI
	SUBQ         $2, R9
	JMP          hztwo

hzlast:
	TESTQ        R9, R9
	JZ           hzstore
	VBROADCASTSS (DX), Z0
	VCVTPH2PS    (SI), Z10
	VCVTPH2PS    32(SI), Z11
	VCVTPH2PS    64(SI), Z12
	VCVTPH2PS    96(SI), Z13
	VFMADD231PS  Z10, Z0, Z1
	VFMADD231PS  Z11, Z0, Z2
	VFMADD231PS  Z12, Z0, Z3
	VFMADD231PS  Z13, Z0, Z4

hzstore:
	VADDPS  Z5, Z1, Z1
	VADDPS  Z6, Z2, Z2
	VADDPS  Z7, Z3, Z3
	VADDPS  Z8, Z4, Z4
	VMOVUPS Z1, (DI)
	VMOVUPS Z2, 64(DI)
	VMOVUPS Z3, 128(DI)
	VMOVUPS Z4, 192(DI)
	ADDQ    $256, DI
	ADDQ    $128, m+16(FP)
	SUBQ    $64, CX
	JG      hzcols
	VZEROUPPER
	RET
