//go:build !purego

#include "textflag.h"

// Constants for EXP8, each replicated to 32 bytes for full-width memory operands.
DATA c_exphi<>+0(SB)/8, $0x42b1721742b17217
DATA c_exphi<>+8(SB)/8, $0x42b1721742b17217
DATA c_exphi<>+16(SB)/8, $0x42b1721742b17217
DATA c_exphi<>+24(SB)/8, $0x42b1721742b17217
GLOBL c_exphi<>(SB), RODATA|NOPTR, $32
DATA c_explo<>+0(SB)/8, $0xc2aeac4fc2aeac4f
DATA c_explo<>+8(SB)/8, $0xc2aeac4fc2aeac4f
DATA c_explo<>+16(SB)/8, $0xc2aeac4fc2aeac4f
DATA c_explo<>+24(SB)/8, $0xc2aeac4fc2aeac4f
GLOBL c_explo<>(SB), RODATA|NOPTR, $32
DATA c_log2e<>+0(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA c_log2e<>+8(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA c_log2e<>+16(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA c_log2e<>+24(SB)/8, $0x3fb8aa3b3fb8aa3b
GLOBL c_log2e<>(SB), RODATA|NOPTR, $32
DATA c_ln2hi<>+0(SB)/8, $0x3f3180003f318000
DATA c_ln2hi<>+8(SB)/8, $0x3f3180003f318000
DATA c_ln2hi<>+16(SB)/8, $0x3f3180003f318000
DATA c_ln2hi<>+24(SB)/8, $0x3f3180003f318000
GLOBL c_ln2hi<>(SB), RODATA|NOPTR, $32
DATA c_ln2lo<>+0(SB)/8, $0xb95e8083b95e8083
DATA c_ln2lo<>+8(SB)/8, $0xb95e8083b95e8083
DATA c_ln2lo<>+16(SB)/8, $0xb95e8083b95e8083
DATA c_ln2lo<>+24(SB)/8, $0xb95e8083b95e8083
GLOBL c_ln2lo<>(SB), RODATA|NOPTR, $32
DATA c_p0<>+0(SB)/8, $0x3950696739506967
DATA c_p0<>+8(SB)/8, $0x3950696739506967
DATA c_p0<>+16(SB)/8, $0x3950696739506967
DATA c_p0<>+24(SB)/8, $0x3950696739506967
GLOBL c_p0<>(SB), RODATA|NOPTR, $32
DATA c_p1<>+0(SB)/8, $0x3ab743ce3ab743ce
DATA c_p1<>+8(SB)/8, $0x3ab743ce3ab743ce
DATA c_p1<>+16(SB)/8, $0x3ab743ce3ab743ce
DATA c_p1<>+24(SB)/8, $0x3ab743ce3ab743ce
GLOBL c_p1<>(SB), RODATA|NOPTR, $32
DATA c_p2<>+0(SB)/8, $0x3c0889083c088908
DATA c_p2<>+8(SB)/8, $0x3c0889083c088908
DATA c_p2<>+16(SB)/8, $0x3c0889083c088908
DATA c_p2<>+24(SB)/8, $0x3c0889083c088908
GLOBL c_p2<>(SB), RODATA|NOPTR, $32
DATA c_p3<>+0(SB)/8, $0x3d2aa9c13d2aa9c1
DATA c_p3<>+8(SB)/8, $0x3d2aa9c13d2aa9c1
DATA c_p3<>+16(SB)/8, $0x3d2aa9c13d2aa9c1
DATA c_p3<>+24(SB)/8, $0x3d2aa9c13d2aa9c1
GLOBL c_p3<>(SB), RODATA|NOPTR, $32
DATA c_p4<>+0(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA c_p4<>+8(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA c_p4<>+16(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA c_p4<>+24(SB)/8, $0x3e2aaaaa3e2aaaaa
GLOBL c_p4<>(SB), RODATA|NOPTR, $32
DATA c_p5<>+0(SB)/8, $0x3f0000003f000000
DATA c_p5<>+8(SB)/8, $0x3f0000003f000000
DATA c_p5<>+16(SB)/8, $0x3f0000003f000000
DATA c_p5<>+24(SB)/8, $0x3f0000003f000000
GLOBL c_p5<>(SB), RODATA|NOPTR, $32
DATA c_one<>+0(SB)/8, $0x3f8000003f800000
DATA c_one<>+8(SB)/8, $0x3f8000003f800000
DATA c_one<>+16(SB)/8, $0x3f8000003f800000
DATA c_one<>+24(SB)/8, $0x3f8000003f800000
GLOBL c_one<>(SB), RODATA|NOPTR, $32
DATA c_sign<>+0(SB)/8, $0x8000000080000000
DATA c_sign<>+8(SB)/8, $0x8000000080000000
DATA c_sign<>+16(SB)/8, $0x8000000080000000
DATA c_sign<>+24(SB)/8, $0x8000000080000000
GLOBL c_sign<>(SB), RODATA|NOPTR, $32

// EXP8 sets Y1 = exp(Y1) for 8 floats, the vector form of expf (same
// reduction and polynomial, with FMAs): inputs above 88.72 give ~3.4e38
// (not +Inf), results below the smallest normal float flush to 0, NaN gives 0.
// Clobbers Y2-Y4, Y7.
#define EXP8 \
	VMINPS       c_exphi<>(SB), Y1, Y1 \
	VCMPPS       $0x1d, c_explo<>(SB), Y1, Y7 \
	VMAXPS       c_explo<>(SB), Y1, Y1 \
	VMULPS       c_log2e<>(SB), Y1, Y2 \
	VROUNDPS     $0, Y2, Y2 \
	VFNMADD231PS c_ln2hi<>(SB), Y2, Y1 \
	VFNMADD231PS c_ln2lo<>(SB), Y2, Y1 \
	VMOVUPS      c_p0<>(SB), Y3 \
	VFMADD213PS  c_p1<>(SB), Y1, Y3 \
	VFMADD213PS  c_p2<>(SB), Y1, Y3 \
	VFMADD213PS  c_p3<>(SB), Y1, Y3 \
	VFMADD213PS  c_p4<>(SB), Y1, Y3 \
	VFMADD213PS  c_p5<>(SB), Y1, Y3 \
	VMULPS       Y1, Y1, Y4 \
	VFMADD213PS  Y1, Y4, Y3 \
	VADDPS       c_one<>(SB), Y3, Y3 \
	VCVTPS2DQ    Y2, Y2 \
	VPSLLD       $23, Y2, Y2 \
	VPADDD       Y2, Y3, Y1 \
	VANDPS       Y7, Y1, Y1

// func expSubSumAVX2(x *float32, n int, m float32) float64
// x[i] = exp(x[i]-m) for n (a multiple of 8) values; returns their sum,
// accumulated in float64.
TEXT ·expSubSumAVX2(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS m+16(FP), Y8
	VXORPD       Y0, Y0, Y0
	VXORPD       Y9, Y9, Y9
	SHRQ         $3, CX
	JZ           esdone

esloop:
	VMOVUPS   (SI), Y1
	VSUBPS    Y8, Y1, Y1
	EXP8
	VMOVUPS   Y1, (SI)
	VCVTPS2PD X1, Y2
	VEXTRACTF128 $1, Y1, X3
	VCVTPS2PD X3, Y3
	VADDPD    Y2, Y0, Y0
	VADDPD    Y3, Y9, Y9
	ADDQ      $32, SI
	DECQ      CX
	JNZ       esloop

esdone:
	VADDPD       Y9, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VPERMILPD    $1, X0, X1
	VADDSD       X1, X0, X0
	VZEROUPPER
	MOVSD X0, ret+24(FP)
	RET

// func swigluAVX2(dst, gate, up *float32, n int)
// dst[i] = gate[i] / (1 + exp(-gate[i])) * up[i] (up nil: SiLU) for n a
// multiple of 8.
TEXT ·swigluAVX2(SB), NOSPLIT, $0-32
	MOVQ    dst+0(FP), DI
	MOVQ    gate+8(FP), SI
	MOVQ    up+16(FP), DX
	MOVQ    n+24(FP), CX
	VMOVUPS c_sign<>(SB), Y10
	VMOVUPS c_one<>(SB), Y11
	SHRQ    $3, CX
	JZ      swdone

swloop:
	VMOVUPS (SI), Y5
	VXORPS  Y10, Y5, Y1
	EXP8
	VADDPS  Y11, Y1, Y1
	VDIVPS  Y1, Y5, Y5
	TESTQ   DX, DX
	JZ      swstore
	VMULPS  (DX), Y5, Y5
	ADDQ    $32, DX

swstore:
	VMOVUPS Y5, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     swloop

swdone:
	VZEROUPPER
	RET

// func axpyAVX2(dst, x *float32, alpha float32, n int)
// dst[i] += alpha*x[i].
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	VBROADCASTSS alpha+16(FP), Y0
	MOVQ         n+24(FP), CX

axloop32:
	CMPQ        CX, $32
	JLT         axloop8
	VMOVUPS     (DI), Y1
	VMOVUPS     32(DI), Y2
	VMOVUPS     64(DI), Y3
	VMOVUPS     96(DI), Y4
	VFMADD231PS (SI), Y0, Y1
	VFMADD231PS 32(SI), Y0, Y2
	VFMADD231PS 64(SI), Y0, Y3
	VFMADD231PS 96(SI), Y0, Y4
	VMOVUPS     Y1, (DI)
	VMOVUPS     Y2, 32(DI)
	VMOVUPS     Y3, 64(DI)
	VMOVUPS     Y4, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         axloop32

axloop8:
	CMPQ        CX, $8
	JLT         axtail
	VMOVUPS     (DI), Y1
	VFMADD231PS (SI), Y0, Y1
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         axloop8

axtail:
	TESTQ CX, CX
	JZ    axdone

axscalar:
	VMOVSS      (DI), X1
	VFMADD231SS (SI), X0, X1
	VMOVSS      X1, (DI)
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JNZ         axscalar

axdone:
	VZEROUPPER
	RET

// func maxAVX2(x *float32, n int) float32
// The largest of n (a positive multiple of 32) values: the same value as a
// scalar scan for any values but NaN (a NaN anywhere makes softmax all
// NaN either way).
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), CX
	VMOVUPS (SI), Y0
	VMOVAPS Y0, Y1
	VMOVAPS Y0, Y2
	VMOVAPS Y0, Y3

mxloop:
	VMAXPS (SI), Y0, Y0
	VMAXPS 32(SI), Y1, Y1
	VMAXPS 64(SI), Y2, Y2
	VMAXPS 96(SI), Y3, Y3
	ADDQ   $128, SI
	SUBQ   $32, CX
	JG     mxloop

	VMAXPS       Y1, Y0, Y0
	VMAXPS       Y3, Y2, Y2
	VMAXPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0x4e, X0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0xb1, X0, X1
	VMAXSS       X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+16(FP)
	RET

// func scaleAVX2(x *float32, n int, s float32)
// x[i] *= s for n (a positive multiple of 8) values.
TEXT ·scaleAVX2(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS s+16(FP), Y0

scloop32:
	CMPQ    CX, $32
	JLT     scloop8
	VMULPS  (SI), Y0, Y1
	VMULPS  32(SI), Y0, Y2
	VMULPS  64(SI), Y0, Y3
	VMULPS  96(SI), Y0, Y4
	VMOVUPS Y1, (SI)
	VMOVUPS Y2, 32(SI)
	VMOVUPS Y3, 64(SI)
	VMOVUPS Y4, 96(SI)
	ADDQ    $128, SI
	SUBQ    $32, CX
	JMP     scloop32

scloop8:
	TESTQ   CX, CX
	JZ      scdone
	VMULPS  (SI), Y0, Y1
	VMOVUPS Y1, (SI)
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     scloop8

scdone:
	VZEROUPPER
	RET
