package tensor

import (
	"encoding/binary"
	"math"
)

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
	t     []byte    // the multi-vector row kernels' layout of the above (transposeQ8), when they run
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

// The multi-vector Q8_0 row kernel (rowsn_avx512_amd64.s) transposes a
// group of sixteen weight blocks in registers so that each 32-bit lane
// holds one block, and reads the activations laid out to match, group by
// group of 640 bytes: eight 64-byte chunks (chunk m, lane l: the four
// levels transCol[m] of block l), then the sixteen blocks' -128·Σx
// (int32), then their scales (float32). Blocks past the vector's end are
// zero.
const transGroupBytes = 640

var transCol = [8]int{0, 4, 1, 5, 2, 6, 3, 7}

// transBytes is the size of the layout of a vector of nb blocks.
func transBytes(nb int) int { return (nb + 15) / 16 * transGroupBytes }

// transposeQ8 writes a's levels, sums and scales into dst (transBytes
// long) in the multi-vector kernel's layout.
func transposeQ8(dst []byte, a *q8Act) {
	if !archTransposeQ8(dst, a) {
		transposeQ8Generic(dst, a)
	}
}

func transposeQ8Generic(dst []byte, a *q8Act) {
	nb := len(a.d)
	for g := range (nb + 15) / 16 {
		out := dst[g*transGroupBytes : (g+1)*transGroupBytes]
		// A last group of at most eight blocks has them twice, for a
		// pair of rows.
		twice := nb-16*g <= 8
		for l := range 16 {
			b := 16*g + l
			if twice {
				b = 16*g + l%8
			}
			var q [32]int8
			var nsum int32
			var d float32
			if b < nb {
				q, nsum, d = [32]int8(a.qs[32*b:]), -128*a.sum[b], a.d[b]
			}
			for m, c := range transCol {
				o := out[64*m+4*l : 64*m+4*l+4]
				o[0], o[1], o[2], o[3] = byte(q[4*c]), byte(q[4*c+1]), byte(q[4*c+2]), byte(q[4*c+3])
			}
			binary.LittleEndian.PutUint32(out[512+4*l:], uint32(nsum))
			putF32(out[576+4*l:], d)
		}
	}
}
