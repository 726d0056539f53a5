package tensor

import "math"

// expf is a float32 exp accurate to about 1 ulp and several times faster
// than math.Exp: e^x = 2^n * e^r with r = x - n*ln2 in [-ln2/2, ln2/2] and a
// degree-6 polynomial for e^r (Cephes expf coefficients).
func expf(x float32) float32 {
	if !(x > -103.97208) { // also catches NaN
		if x != x {
			return x
		}
		return 0
	}
	if x > 88.72283 {
		return float32(math.Inf(1))
	}
	// Round x*log2(e) to the nearest integer by adding 1.5*2^23: the sum's
	// ulp is 1, so the FPU does the rounding (|x*log2e| < 2^22 here).
	const magic = 12582912
	n := x*1.44269504088896341 + magic
	n -= magic
	// ln2 split in two so n*ln2Hi is exact.
	r := x - n*0.693359375
	r -= n * -2.12194440e-4
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	ni := int32(n)
	if ni > 127 {
		y *= 2
		ni--
	}
	if ni < -126 {
		// Scale by 2^n in two steps so subnormal results are reached.
		y *= math.Float32frombits(uint32(ni+126+127) << 23)
		ni = -126
	}
	return y * math.Float32frombits(uint32(ni+127)<<23)
}
