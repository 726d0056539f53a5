package tensor

import "math"

// K-quant super-blocks of 256 elements.
//
//	Q4_K (144 B): d, dmin fp16; scales[12] (eight 6-bit scale/min pairs);
//	              qs[128]: 64-element chunks, low nibbles = first 32, high = next 32.
//	              y = d*sc_j*q - dmin*m_j for 32-element sub-block j.
//	Q5_K (176 B): as Q4_K plus qh[32] between scales and qs: bit 2c (low half) and
//	              2c+1 (high half) of qh[l] is the fifth bit for chunk c, lane l.
//	Q6_K (210 B): ql[128], qh[64], scales[16] int8, d fp16; 16-element sub-blocks,
//	              y = d*sc*(q-32), q = 4 bits from ql | 2 bits from qh.

// scaleMinK4 unpacks sub-block j's 6-bit scale and min from the 12-byte
// packing: j<4 live in the low 6 bits of bytes j and j+4; j>=4 take a nibble
// from byte j+4 and their top two bits from the spare top bits of bytes j-4/j.
func scaleMinK4(j int, s []byte) (sc, m uint8) {
	if j < 4 {
		return s[j] & 63, s[j+4] & 63
	}
	return s[j+4]&0xf | (s[j-4]>>6)<<4, s[j+4]>>4 | (s[j]>>6)<<4
}

func dequantBlockQ4_K(y []float32, b []byte) {
	d, dmin := half(b), half(b[2:])
	scales := b[4:16]
	q := b[16:144]
	for c := 0; c < 4; c++ {
		sc1, m1 := scaleMinK4(2*c, scales)
		sc2, m2 := scaleMinK4(2*c+1, scales)
		d1, o1 := d*float32(sc1), dmin*float32(m1)
		d2, o2 := d*float32(sc2), dmin*float32(m2)
		qc := q[32*c : 32*c+32]
		yc := y[64*c : 64*c+64]
		for l := 0; l < 32; l++ {
			yc[l] = float32(d1*float32(qc[l]&0xf)) - o1
			yc[l+32] = float32(d2*float32(qc[l]>>4)) - o2
		}
	}
}

func dequantBlockQ5_K(y []float32, b []byte) {
	d, dmin := half(b), half(b[2:])
	scales := b[4:16]
	qh := b[16:48]
	ql := b[48:176]
	for c := 0; c < 4; c++ {
		sc1, m1 := scaleMinK4(2*c, scales)
		sc2, m2 := scaleMinK4(2*c+1, scales)
		d1, o1 := d*float32(sc1), dmin*float32(m1)
		d2, o2 := d*float32(sc2), dmin*float32(m2)
		qc := ql[32*c : 32*c+32]
		yc := y[64*c : 64*c+64]
		for l := 0; l < 32; l++ {
			lo := qc[l]&0xf | (qh[l]>>(2*c)&1)<<4
			hi := qc[l]>>4 | (qh[l]>>(2*c+1)&1)<<4
			yc[l] = float32(d1*float32(lo)) - o1
			yc[l+32] = float32(d2*float32(hi)) - o2
		}
	}
}

func dequantBlockQ6_K(y []float32, b []byte) {
	d := half(b[208:])
	for h := 0; h < 2; h++ {
		ql := b[64*h : 64*h+64]
		qh := b[128+32*h : 128+32*h+32]
		sc := b[192+8*h : 192+8*h+8]
		yh := y[128*h : 128*h+128]
		for l := 0; l < 32; l++ {
			is := l / 16
			q1 := int(ql[l]&0xf|(qh[l]&3)<<4) - 32
			q2 := int(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
			q3 := int(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
			q4 := int(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
			yh[l] = d * float32(int8(sc[is])) * float32(q1)
			yh[l+32] = d * float32(int8(sc[is+2])) * float32(q2)
			yh[l+64] = d * float32(int8(sc[is+4])) * float32(q3)
			yh[l+96] = d * float32(int8(sc[is+6])) * float32(q4)
		}
	}
}

// fitScaleMin picks levels L in [0,nmax], scale s and min m (m <= 0) so that
// s*L + m approximates x in weighted least squares, by trying a sweep of
// candidate inverse scales and solving the 2x2 normal equations for each
// (the approach of ggml's make_qkx2_quants).
func fitScaleMin(x, w []float32, nmax int, L []uint8) (scale, negMin float32) {
	lo, hi := minMax(x)
	lo = min(lo, 0)
	if hi == lo {
		clear(L)
		return 0, -lo
	}
	var sumW, sumX float32
	for i, v := range x {
		sumW += w[i]
		sumX += w[i] * v
	}
	quant := func(is, m float32, out []uint8) {
		for i, v := range x {
			out[i] = uint8(max(0, min(nmax, nearestInt(is*(v-m)))))
		}
	}
	errOf := func(s, m float32, l []uint8) float32 {
		var e float32
		for i, v := range x {
			diff := s*float32(l[i]) + m - v
			e += w[i] * diff * diff
		}
		return e
	}
	iscale := float32(nmax) / (hi - lo)
	scale = 1 / iscale
	m := lo
	quant(iscale, m, L)
	best := errOf(scale, m, L)
	var aux [32]uint8
	la := aux[:len(x)]
	for step := 0; step <= 20; step++ {
		is := (-1 + 0.1*float32(step) + float32(nmax)) / (hi - lo)
		quant(is, lo, la)
		var sl, sl2, sxl float32
		for i, v := range x {
			l := float32(la[i])
			sl += w[i] * l
			sl2 += w[i] * l * l
			sxl += w[i] * l * v
		}
		det := sumW*sl2 - sl*sl
		if det <= 0 {
			continue
		}
		s := (sumW*sxl - sumX*sl) / det
		mm := (sl2*sumX - sl*sxl) / det
		if mm > 0 {
			mm = 0
			s = sxl / sl2
		}
		if e := errOf(s, mm, la); e < best {
			best, scale, m = e, s, mm
			copy(L, la)
		}
	}
	return scale, -m
}

// quantizeKScaleMin quantizes a super-block for Q4_K/Q5_K: per-32 scale and
// min fitted with fitScaleMin, then both sets quantized to 6 bits against fp16
// super-scales, then the levels recomputed against the stored scales.
func quantizeKScaleMin(b []byte, x []float32, nmax int, L *[qk]uint8) {
	var scales, mins [8]float32
	var w [32]float32
	for j := 0; j < 8; j++ {
		xs := x[32*j : 32*j+32]
		var sum2 float32
		for _, v := range xs {
			sum2 += v * v
		}
		av := float32(math.Sqrt(float64(sum2 / 32)))
		for i, v := range xs {
			w[i] = av + float32(math.Abs(float64(v)))
		}
		scales[j], mins[j] = fitScaleMin(xs, w[:], nmax, L[32*j:32*j+32])
	}
	var maxScale, maxMin float32
	for j := 0; j < 8; j++ {
		maxScale = max(maxScale, scales[j])
		maxMin = max(maxMin, mins[j])
	}
	invScale, invMin := float32(0), float32(0)
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	sb := b[4:16]
	clear(sb)
	for j := 0; j < 8; j++ {
		ls := uint8(min(63, nearestInt(invScale*scales[j])))
		lm := uint8(min(63, nearestInt(invMin*mins[j])))
		if j < 4 {
			sb[j] = ls
			sb[j+4] = lm
		} else {
			sb[j+4] = ls&0xf | lm<<4
			sb[j-4] |= (ls >> 4) << 6
			sb[j] |= (lm >> 4) << 6
		}
	}
	putHalf(b, maxScale/63)
	putHalf(b[2:], maxMin/63)
	d, dmin := half(b), half(b[2:])
	for j := 0; j < 8; j++ {
		sc, m := scaleMinK4(j, sb)
		dj := d * float32(sc)
		if dj == 0 {
			clear(L[32*j : 32*j+32])
			continue
		}
		dm := dmin * float32(m)
		for i := 32 * j; i < 32*j+32; i++ {
			L[i] = uint8(max(0, min(nmax, nearestInt((x[i]+dm)/dj))))
		}
	}
}

func quantizeBlockQ4_K(b []byte, x []float32) {
	var L [qk]uint8
	quantizeKScaleMin(b, x, 15, &L)
	q := b[16:144]
	for c := 0; c < 4; c++ {
		for l := 0; l < 32; l++ {
			q[32*c+l] = L[64*c+l] | L[64*c+32+l]<<4
		}
	}
}

func quantizeBlockQ5_K(b []byte, x []float32) {
	var L [qk]uint8
	quantizeKScaleMin(b, x, 31, &L)
	qh := b[16:48]
	ql := b[48:176]
	clear(qh)
	for c := 0; c < 4; c++ {
		for l := 0; l < 32; l++ {
			lo, hi := L[64*c+l], L[64*c+32+l]
			qh[l] |= (lo>>4)<<(2*c) | (hi>>4)<<(2*c+1)
			ql[32*c+l] = lo&0xf | (hi&0xf)<<4
		}
	}
}

// fitSymmetric picks a scale for 16 values on levels [-32,31] by sweeping
// inverse scales around the one mapping the signed extreme to -32 and keeping
// the least-squares best (weights x^2, as ggml's make_qx_quants rmse_type 1).
func fitSymmetric(x []float32) float32 {
	maxv, amax := absMax(x)
	if amax < 1e-30 {
		return 0
	}
	best, bestScale := float32(math.Inf(1)), float32(0)
	for step := -9; step <= 9; step++ {
		is := -(32 + 0.1*float32(step)) / maxv
		var sxl, sl2 float32
		for _, v := range x {
			l := float32(max(-32, min(31, nearestInt(is*v))))
			w := v * v
			sxl += w * v * l
			sl2 += w * l * l
		}
		if sl2 == 0 {
			continue
		}
		s := sxl / sl2
		var e float32
		for _, v := range x {
			l := float32(max(-32, min(31, nearestInt(is*v))))
			diff := s*l - v
			e += v * v * diff * diff
		}
		if e < best {
			best, bestScale = e, s
		}
	}
	return bestScale
}

func quantizeBlockQ6_K(b []byte, x []float32) {
	var scales [16]float32
	var maxScale, amax float32
	for j := range scales {
		scales[j] = fitSymmetric(x[16*j : 16*j+16])
		if a := float32(math.Abs(float64(scales[j]))); a > amax {
			amax, maxScale = a, scales[j]
		}
	}
	clear(b)
	if amax == 0 {
		return
	}
	iscale := -128 / maxScale
	putHalf(b[208:], 1/iscale)
	d := half(b[208:])
	var L [qk]uint8
	for j := range scales {
		sc := int8(max(-128, min(127, nearestInt(iscale*scales[j]))))
		b[192+j] = byte(sc)
		dj := d * float32(sc)
		for i := 16 * j; i < 16*j+16; i++ {
			l := 0
			if dj != 0 {
				l = max(-32, min(31, nearestInt(x[i]/dj)))
			}
			L[i] = uint8(l + 32)
		}
	}
	for h := 0; h < 2; h++ {
		ql := b[64*h : 64*h+64]
		qh := b[128+32*h : 128+32*h+32]
		Lh := L[128*h : 128*h+128]
		for l := 0; l < 32; l++ {
			ql[l] = Lh[l]&0xf | (Lh[l+64]&0xf)<<4
			ql[l+32] = Lh[l+32]&0xf | (Lh[l+96]&0xf)<<4
			qh[l] = Lh[l]>>4 | (Lh[l+32]>>4)<<2 | (Lh[l+64]>>4)<<4 | (Lh[l+96]>>4)<<6
		}
	}
}
