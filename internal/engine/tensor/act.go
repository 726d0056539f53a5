package tensor

import "math"

// q8Act is an activation vector quantized once per MatVec so quantized
// weight rows can be dotted with integer arithmetic: blocks of 32 int8 values
// with a float32 scale each (finer than ggml's Q8_K super-blocks, which only
// helps accuracy; the K-quant kernels apply the scale per 32-element
// sub-block), plus the block sums the offset formats need.
type q8Act struct {
	qs    []int8    // n values, |q| <= 127
	d     []float32 // n/32 scales: x ~= d*q
	sum   []int32   // n/32 sums of qs per block
	s     []float32 // n/32: d*sum, the block's contribution per unit weight offset
	sum16 []int32   // n/16 sums of qs per 16 values (what the assembly quantizer emits)
}

func newQ8Act(n int) q8Act {
	return q8Act{
		qs:    make([]int8, n),
		d:     make([]float32, n/32),
		sum:   make([]int32, n/32),
		s:     make([]float32, n/32),
		sum16: make([]int32, n/16),
	}
}

// slice returns the view of vectors [j*n, (j+1)*n) of a batch.
func (a *q8Act) slice(j, n int) q8Act {
	return q8Act{
		qs:    a.qs[j*n : (j+1)*n],
		d:     a.d[j*n/32 : (j+1)*n/32],
		sum:   a.sum[j*n/32 : (j+1)*n/32],
		s:     a.s[j*n/32 : (j+1)*n/32],
		sum16: a.sum16[j*n/16 : (j+1)*n/16],
	}
}

// finishSums derives sum and s from sum16 and d (the assembly quantizer
// writes only qs, d and sum16).
func (a *q8Act) finishSums() {
	for b := range a.d {
		sum := a.sum16[2*b] + a.sum16[2*b+1]
		a.sum[b] = sum
		a.s[b] = a.d[b] * float32(sum)
	}
}

// quantizeActGeneric fills a from x (len(x) a multiple of 32):
//
//	d = max|x_i|/127; q_i = roundToEven(x_i * (1/d))
//
// The product is rounded to float32 before rounding to an integer, which is
// what VMULPS+VCVTPS2DQ do, so the assembly version is bit-identical.
func quantizeActGeneric(a *q8Act, x []float32) {
	for b := 0; b < len(x)/32; b++ {
		xb := x[32*b : 32*b+32]
		var amax float32
		for _, v := range xb {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := amax / 127
		id := inv(d)
		a.d[b] = d
		qb := a.qs[32*b : 32*b+32]
		var s0, s1 int32
		for i, v := range xb {
			q := int8(math.RoundToEven(float64(v * id)))
			qb[i] = q
			if i < 16 {
				s0 += int32(q)
			} else {
				s1 += int32(q)
			}
		}
		a.sum16[2*b], a.sum16[2*b+1] = s0, s1
		a.sum[b] = s0 + s1
		a.s[b] = d * float32(s0+s1)
	}
}
