package tensor

import (
	"encoding/binary"
	"math"
)

// The 32-element ("legacy") block formats. Each block starts with an fp16
// scale d; Q4_1/Q5_1 add an fp16 offset m. Nibble-packed formats keep element
// j in the low nibble of qs[j] and element j+16 in its high nibble; Q5 formats
// keep the fifth bit of element i in bit i of the little-endian uint32 qh.
//
//	Q4_0: d, qs[16]          y = d*(q-8)
//	Q4_1: d, m, qs[16]       y = d*q + m
//	Q5_0: d, qh[4], qs[16]   y = d*(q-16)
//	Q5_1: d, m, qh[4], qs[16] y = d*q + m
//	Q8_0: d, qs[32] int8     y = d*q
//
// Products are rounded to float32 before adding m (explicit conversion), so
// no platform fuses them into an FMA and results match ggml's scalar code.

func dequantBlockQ4_0(y []float32, b []byte) {
	d := half(b)
	qs := b[2:18]
	for j := 0; j < 16; j++ {
		y[j] = float32(int(qs[j]&0xf)-8) * d
		y[j+16] = float32(int(qs[j]>>4)-8) * d
	}
}

func dequantBlockQ4_1(y []float32, b []byte) {
	d, m := half(b), half(b[2:])
	qs := b[4:20]
	for j := 0; j < 16; j++ {
		y[j] = float32(float32(qs[j]&0xf)*d) + m
		y[j+16] = float32(float32(qs[j]>>4)*d) + m
	}
}

func dequantBlockQ5_0(y []float32, b []byte) {
	d := half(b)
	qh := binary.LittleEndian.Uint32(b[2:])
	qs := b[6:22]
	for j := 0; j < 16; j++ {
		lo := int(qs[j]&0xf) | int(qh>>j&1)<<4
		hi := int(qs[j]>>4) | int(qh>>(j+16)&1)<<4
		y[j] = float32(lo-16) * d
		y[j+16] = float32(hi-16) * d
	}
}

func dequantBlockQ5_1(y []float32, b []byte) {
	d, m := half(b), half(b[2:])
	qh := binary.LittleEndian.Uint32(b[4:])
	qs := b[8:24]
	for j := 0; j < 16; j++ {
		lo := int(qs[j]&0xf) | int(qh>>j&1)<<4
		hi := int(qs[j]>>4) | int(qh>>(j+16)&1)<<4
		y[j] = float32(float32(lo)*d) + m
		y[j+16] = float32(float32(hi)*d) + m
	}
}

func dequantBlockQ8_0(y []float32, b []byte) {
	d := half(b)
	for j, q := range b[2:34] {
		y[j] = float32(int8(q)) * d
	}
}

// absMax returns the element of largest magnitude (keeping its sign) and
// that magnitude.
func absMax(x []float32) (maxv, amax float32) {
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); a > amax {
			amax, maxv = a, v
		}
	}
	return maxv, amax
}

func minMax(x []float32) (lo, hi float32) {
	lo, hi = x[0], x[0]
	for _, v := range x[1:] {
		lo = min(lo, v)
		hi = max(hi, v)
	}
	return lo, hi
}

func inv(d float32) float32 {
	if d == 0 {
		return 0
	}
	return 1 / d
}

// Symmetric formats map the signed extreme to the most negative level (-8 or
// -16), which uses one more level than mapping |max| to +7.

func quantizeBlockQ4_0(b []byte, x []float32) {
	maxv, _ := absMax(x)
	d := maxv / -8
	id := inv(d)
	putHalf(b, d)
	for j := 0; j < 16; j++ {
		lo := min(15, int(x[j]*id+8.5))
		hi := min(15, int(x[j+16]*id+8.5))
		b[2+j] = byte(lo) | byte(hi)<<4
	}
}

func quantizeBlockQ4_1(b []byte, x []float32) {
	lo, hi := minMax(x)
	d := (hi - lo) / 15
	id := inv(d)
	putHalf(b, d)
	putHalf(b[2:], lo)
	for j := 0; j < 16; j++ {
		q0 := min(15, int((x[j]-lo)*id+0.5))
		q1 := min(15, int((x[j+16]-lo)*id+0.5))
		b[4+j] = byte(q0) | byte(q1)<<4
	}
}

func quantizeBlockQ5_0(b []byte, x []float32) {
	maxv, _ := absMax(x)
	d := maxv / -16
	id := inv(d)
	putHalf(b, d)
	var qh uint32
	for j := 0; j < 16; j++ {
		q0 := min(31, int(x[j]*id+16.5))
		q1 := min(31, int(x[j+16]*id+16.5))
		b[6+j] = byte(q0&0xf) | byte(q1&0xf)<<4
		qh |= uint32(q0>>4) << j
		qh |= uint32(q1>>4) << (j + 16)
	}
	binary.LittleEndian.PutUint32(b[2:], qh)
}

func quantizeBlockQ5_1(b []byte, x []float32) {
	lo, hi := minMax(x)
	d := (hi - lo) / 31
	id := inv(d)
	putHalf(b, d)
	putHalf(b[2:], lo)
	var qh uint32
	for j := 0; j < 16; j++ {
		q0 := min(31, int((x[j]-lo)*id+0.5))
		q1 := min(31, int((x[j+16]-lo)*id+0.5))
		b[8+j] = byte(q0&0xf) | byte(q1&0xf)<<4
		qh |= uint32(q0>>4) << j
		qh |= uint32(q1>>4) << (j + 16)
	}
	binary.LittleEndian.PutUint32(b[4:], qh)
}

func quantizeBlockQ8_0(b []byte, x []float32) {
	_, amax := absMax(x)
	d := amax / 127
	id := inv(d)
	putHalf(b, d)
	for j, v := range x {
		b[2+j] = byte(int8(math.Round(float64(v * id))))
	}
}
