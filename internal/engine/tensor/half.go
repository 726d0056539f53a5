package tensor

import "math"

// HalfToFloat converts an IEEE 754 binary16 value to float32 exactly
// (subnormals, infinities and NaN payloads included). The normal case is
// small enough to inline into the reference kernels.
func HalfToFloat(h uint16) float32 {
	u := uint32(h)
	if u&0x7c00-0x400 < 0x7800 { // exponent field neither 0 nor 31
		// Rebias the exponent (15 -> 127) and widen the mantissa in one add.
		return math.Float32frombits(u&0x8000<<16 | (u&0x7fff+112<<10)<<13)
	}
	return halfToFloatRare(h)
}

// halfToFloatRare handles zero, subnormals, infinities and NaN.
func halfToFloatRare(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf or NaN: keep the payload in the top mantissa bits
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal half: value = man * 2^-24, exactly representable as a normal float32.
	e := uint32(113) // biased exponent if the leading 1 were at bit 10
	for man&0x400 == 0 {
		man <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (man&0x3ff)<<13)
}

// FloatToHalf converts float32 to binary16 with round-to-nearest-even, like the
// F16C VCVTPS2PH instruction ggml uses: overflow goes to infinity, NaN stays a
// (quiet) NaN with the top payload bits kept.
func FloatToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7e00 | uint16(man>>13)
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Result is subnormal (or zero): shift the full significand right.
		if e < -10 {
			return sign // too small even to round up to the smallest subnormal
		}
		m := man | 0x800000
		shift := uint32(14 - e) // 13 for the normal mantissa cut plus 1-e
		half := uint32(1) << (shift - 1)
		r := m >> shift
		rem := m & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++ // may carry into the exponent field, giving the smallest normal: correct
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++ // a carry into the exponent is the right answer, up to infinity
	}
	return sign | uint16(r)
}

// BF16ToFloat widens a bfloat16 value to float32 (exact).
func BF16ToFloat(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// FloatToBF16 rounds float32 to bfloat16 to nearest-even; NaN is kept quiet,
// matching ggml's GGML_FP32_TO_BF16.
func FloatToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 64
	}
	return uint16((u + 0x7fff + (u>>16)&1) >> 16)
}
