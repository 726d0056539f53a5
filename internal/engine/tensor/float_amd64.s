//go:build !purego

#include "textflag.h"
#include "prefetch_amd64.h"
#include "hsum_amd64.h"

// The float row kernels set dst[r] = row r · x for rows rs bytes apart
// (F32, F16 or BF16 weights, n elements, rows >= 1). Looping over the rows
// here rather than calling a dot per row from Go matters for the short
// rows of small models (SmolLM2's 576 elements: 1.1 KiB of F16, streamed
// in ~60ns). The single dot products (dotF32AVX2, …) are these with one
// row, so both give the same bits.
// Registers: BX dst, R8 the row, R13 rows left; per row SI the weights,
// DI x, CX elements left.

// ROWSARGS loads the row kernels' arguments that stay for the call.
#define ROWSARGS \
	MOVQ dst+0(FP), BX \
	MOVQ w+8(FP), R8 \
	MOVQ rows+24(FP), R13

// ROWBEGIN points SI, DI and CX at the row R8 and x.
#define ROWBEGIN \
	MOVQ R8, SI \
	MOVQ x+32(FP), DI \
	MOVQ n+40(FP), CX

// ROWEND stores the row's sum (X0) and goes on to the next row, if any.
#define ROWEND(next) \
	MOVSS X0, (BX) \
	ADDQ  $4, BX \
	ADDQ  rs+16(FP), R8 \
	DECQ  R13 \
	JNZ   next

// func dotRowsF32AVX2(dst *float32, w *byte, rs, rows int, x *float32, n int)
TEXT ·dotRowsF32AVX2(SB), NOSPLIT, $0-48
	ROWSARGS

f32row:
	ROWBEGIN
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

f32loop32:
	CMPQ CX, $32
	JLT  f32loop8
	PF2(SI)
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  f32loop32

f32loop8:
	CMPQ CX, $8
	JLT  f32tail
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  f32loop8

f32tail:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM_Y0
	TESTQ CX, CX
	JZ    f32done

f32scalar:
	VMOVSS      (SI), X4
	VFMADD231SS (DI), X4, X0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JNZ  f32scalar

f32done:
	ROWEND(f32row)
	VZEROUPPER
	RET

// func dotRowsF16AVX2(dst *float32, w *byte, rs, rows int, x *float32, n int)
TEXT ·dotRowsF16AVX2(SB), NOSPLIT, $0-48
	ROWSARGS

	// Rows of a multiple of 32 elements go two at a time, row i with
	// row i+h (h = rows/2, so that each is one sequential stream, as the
	// prefetchers like): x is loaded once for both. Each row's sums are
	// formed in the same order as alone, so the bits are the same.
	// R12 is h rows in bytes, R11 in dst bytes, R10 pairs left.
	MOVQ  n+40(FP), AX
	TESTQ AX, AX
	JZ    f16row
	TESTQ $31, AX
	JNZ   f16row
	MOVQ  R13, R10
	SHRQ  $1, R10
	JZ    f16row
	MOVQ  R10, R12
	IMULQ rs+16(FP), R12
	LEAQ  (R10*4), R11
	ANDQ  $1, R13

f16pair:
	MOVQ   R8, SI
	LEAQ   (R8)(R12*1), R9
	MOVQ   x+32(FP), DI
	MOVQ   n+40(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

f16pairloop:
	PF1(SI)
	PF1(R9)
	VMOVUPS     (DI), Y4
	VMOVUPS     32(DI), Y5
	VMOVUPS     64(DI), Y6
	VMOVUPS     96(DI), Y7
	VCVTPH2PS   (SI), Y12
	VCVTPH2PS   16(SI), Y13
	VCVTPH2PS   32(SI), Y14
	VCVTPH2PS   48(SI), Y15
	VFMADD231PS Y4, Y12, Y0
	VFMADD231PS Y5, Y13, Y1
	VFMADD231PS Y6, Y14, Y2
	VFMADD231PS Y7, Y15, Y3
	VCVTPH2PS   (R9), Y12
	VCVTPH2PS   16(R9), Y13
	VCVTPH2PS   32(R9), Y14
	VCVTPH2PS   48(R9), Y15
	VFMADD231PS Y4, Y12, Y8
	VFMADD231PS Y5, Y13, Y9
	VFMADD231PS Y6, Y14, Y10
	VFMADD231PS Y7, Y15, Y11
	ADDQ        $64, SI
	ADDQ        $64, R9
	ADDQ        $128, DI
	SUBQ        $32, CX
	JNZ         f16pairloop

	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM_Y0
	MOVSS  X0, (BX)
	VADDPS Y9, Y8, Y0
	VADDPS Y11, Y10, Y2
	VADDPS Y2, Y0, Y0
	HSUM_Y0
	MOVSS  X0, (BX)(R11*1)
	ADDQ   $4, BX
	ADDQ   rs+16(FP), R8
	DECQ   R10
	JNZ    f16pair
	TESTQ  R13, R13
	JZ     f16end
	ADDQ   R12, R8 // the odd last row
	ADDQ   R11, BX

f16row:
	ROWBEGIN
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

f16loop32:
	CMPQ CX, $32
	JLT  f16loop8
	PF1(SI)
	VCVTPH2PS   (SI), Y4
	VCVTPH2PS   16(SI), Y5
	VCVTPH2PS   32(SI), Y6
	VCVTPH2PS   48(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $64, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  f16loop32

f16loop8:
	CMPQ CX, $8
	JLT  f16tail
	VCVTPH2PS   (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  f16loop8

f16tail:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM_Y0
	TESTQ CX, CX
	JZ    f16done

f16scalar:
	MOVWLZX     (SI), AX
	VMOVD       AX, X4
	VCVTPH2PS   X4, X4
	VFMADD231SS (DI), X4, X0
	ADDQ $2, SI
	ADDQ $4, DI
	DECQ CX
	JNZ  f16scalar

f16done:
	ROWEND(f16row)

f16end:
	VZEROUPPER
	RET

// func dotRowsBF16AVX2(dst *float32, w *byte, rs, rows int, x *float32, n int)
TEXT ·dotRowsBF16AVX2(SB), NOSPLIT, $0-48
	ROWSARGS

bf16row:
	ROWBEGIN
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

bf16loop16:
	CMPQ CX, $16
	JLT  bf16loop8
	PF1(SI)
	VPMOVZXWD   (SI), Y4
	VPMOVZXWD   16(SI), Y5
	VPSLLD      $16, Y4, Y4
	VPSLLD      $16, Y5, Y5
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	ADDQ $32, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  bf16loop16

bf16loop8:
	CMPQ CX, $8
	JLT  bf16tail
	VPMOVZXWD   (SI), Y4
	VPSLLD      $16, Y4, Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  bf16loop8

bf16tail:
	VADDPS Y1, Y0, Y0
	HSUM_Y0
	TESTQ CX, CX
	JZ    bf16done

bf16scalar:
	MOVWLZX     (SI), AX
	SHLL        $16, AX
	VMOVD       AX, X4
	VFMADD231SS (DI), X4, X0
	ADDQ $2, SI
	ADDQ $4, DI
	DECQ CX
	JNZ  bf16scalar

bf16done:
	ROWEND(bf16row)
	VZEROUPPER
	RET

#include "quantize_amd64.h"

// func quantizeActAVX2(x *float32, qs *int8, d *float32, sum16 *int32, nb int)
// Per 32-block: d = max|x|/127, id = d ? 1/d : 0, q = cvt_rne(x*id),
// sum16 = sums of q over each 16 — bit-identical to quantizeActGeneric.
TEXT ·quantizeActAVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ qs+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ sum16+24(FP), BX
	MOVQ nb+32(FP), CX
	QUANT_SETUP
	TESTQ CX, CX
	JZ    qadone

qaloop:
	QUANT_BLOCK
	VMOVSS X6, (DX)

	// Sums of the first and second 16 values.
	VPADDD  Y2, Y1, Y5
	VPADDD  Y4, Y3, Y6
	VEXTRACTI128 $1, Y5, X7
	VPADDD  X7, X5, X5
	VEXTRACTI128 $1, Y6, X8
	VPADDD  X8, X6, X6
	VPHADDD X6, X5, X5
	VPHADDD X5, X5, X5
	VMOVQ   X5, (BX)

	QUANT_PACK
	VMOVDQU Y1, (DI)

	ADDQ $128, SI
	ADDQ $32, DI
	ADDQ $4, DX
	ADDQ $8, BX
	DECQ CX
	JNZ  qaloop

qadone:
	VZEROUPPER
	RET
