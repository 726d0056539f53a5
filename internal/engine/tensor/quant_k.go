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

// The K-quant encoders below are ggml's reference quantizers
// (quantize_row_q{4,5,6}_K_ref, make_qkx2_quants, make_qx_quants), which
// llama-quantize uses when no importance matrix is given, transcribed
// operation for operation so the bytes are identical. ggml compiles them
// without FMA; the explicit float32 conversions keep Go from fusing a
// product into the following addition (which it may do on arm64, ppc64,
// s390x), so every platform rounds as ggml does.

// groupMaxEps is ggml's GROUP_MAX_EPS: a group whose largest magnitude is
// below it is all zeros.
const groupMaxEps = 1e-15

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

func clampInt(v, lo, hi int) int { return max(lo, min(hi, v)) }

// makeQKX2Quants is ggml's make_qkx2_quants for 32 values (use_mad false):
// levels L in [0,nmax], a scale and a min so that scale*L + min fits x in
// weighted least squares, sweeping nstep+1 inverse scales from
// (nmax+rmin)/(max-min) in steps of rdelta. It returns the scale and -min.
func makeQKX2Quants(x, w *[32]float32, nmax int, rmin, rdelta float32, nstep int, L *[32]uint8) (float32, float32) {
	lo, hi := x[0], x[0]
	sumW := w[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < 32; i++ {
		lo = min(lo, x[i])
		hi = max(hi, x[i])
		sumW += w[i]
		sumX += float32(w[i] * x[i])
	}
	lo = min(lo, 0)
	if hi == lo {
		clear(L[:])
		return 0, -lo
	}
	fmax := float32(nmax)
	iscale := fmax / (hi - lo)
	scale := 1 / iscale
	var best float32
	for i, v := range x {
		L[i] = uint8(clampInt(nearestInt(iscale*(v-lo)), 0, nmax))
		diff := float32(float32(scale*float32(L[i]))+lo) - v
		best += float32(w[i] * float32(diff*diff))
	}
	var aux [32]uint8
	for is := 0; is <= nstep; is++ {
		iscale = float32(rmin+float32(rdelta*float32(is))) + fmax
		iscale /= hi - lo
		var sumL, sumL2, sumXL float32
		for i, v := range x {
			l := clampInt(nearestInt(iscale*(v-lo)), 0, nmax)
			aux[i] = uint8(l)
			fl := float32(l)
			wl := float32(w[i] * fl)
			sumL += wl
			sumL2 += float32(wl * fl)
			sumXL += float32(wl * v)
		}
		det := float32(sumW*sumL2) - float32(sumL*sumL)
		if det <= 0 {
			continue
		}
		s := (float32(sumW*sumXL) - float32(sumX*sumL)) / det
		m := (float32(sumL2*sumX) - float32(sumL*sumXL)) / det
		if m > 0 {
			m = 0
			s = sumXL / sumL2
		}
		var mad float32
		for i, v := range x {
			diff := float32(float32(s*float32(aux[i]))+m) - v
			mad += float32(w[i] * float32(diff*diff))
		}
		if mad < best {
			*L = aux
			best, scale, lo = mad, s, m
		}
	}
	return scale, -lo
}

// quantizeKScaleMin is the shared body of quantize_row_q4_K_ref and
// quantize_row_q5_K_ref for one super-block: per-32 scale and min from
// makeQKX2Quants, both quantized to 6 bits against fp16 super-scales, then
// the levels recomputed against the stored scales (kept from the fit where
// a sub-block's scale is zero).
func quantizeKScaleMin(b []byte, x []float32, nmax int, rmin float32, nstep int, L *[qk]uint8) {
	var scales, mins [8]float32
	var w [32]float32
	var maxScale, maxMin float32
	for j := 0; j < 8; j++ {
		xs := (*[32]float32)(x[32*j : 32*j+32])
		var sum2 float32
		for _, v := range xs {
			sum2 += float32(v * v)
		}
		av := float32(math.Sqrt(float64(sum2 / 32)))
		for i, v := range xs {
			w[i] = av + abs32(v)
		}
		scales[j], mins[j] = makeQKX2Quants(xs, &w, nmax, rmin, 0.1, nstep, (*[32]uint8)(L[32*j:32*j+32]))
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxMin {
			maxMin = mins[j]
		}
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	sb := b[4:16]
	clear(sb)
	for j := 0; j < 8; j++ {
		// uint8 first, then the cap: ggml's order, which matters for a
		// negative fitted scale.
		ls := min(63, uint8(nearestInt(invScale*scales[j])))
		lm := min(63, uint8(nearestInt(invMin*mins[j])))
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
			continue
		}
		dm := dmin * float32(m)
		for i := 32 * j; i < 32*j+32; i++ {
			L[i] = uint8(clampInt(nearestInt((x[i]+dm)/dj), 0, nmax))
		}
	}
}

func quantizeBlockQ4_K(b []byte, x []float32) {
	var L [qk]uint8
	quantizeKScaleMin(b, x, 15, -1, 20, &L)
	q := b[16:144]
	for c := 0; c < 4; c++ {
		for l := 0; l < 32; l++ {
			q[32*c+l] = L[64*c+l] | L[64*c+32+l]<<4
		}
	}
}

func quantizeBlockQ5_K(b []byte, x []float32) {
	var L [qk]uint8
	quantizeKScaleMin(b, x, 31, -0.5, 15, &L)
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

// makeQXQuants is ggml's make_qx_quants for 16 values with nmax 32 and
// rmse_type 1 (weights x², no importance matrix): levels L (stored +32) in
// [0,63] and the scale, the best of the inverse scales -(32+0.1k)/max for
// k in -9..9 by weighted least squares.
func makeQXQuants(x *[16]float32, L *[16]uint8) float32 {
	const nmax = 32
	var maxv, amax float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax, maxv = a, v
		}
	}
	if amax < groupMaxEps {
		clear(L[:])
		return 0
	}
	sums := func(iscale float32, keep bool) (sumLX, sumL2 float32) {
		for i, v := range x {
			l := clampInt(nearestInt(iscale*v), -nmax, nmax-1)
			if keep {
				L[i] = uint8(l + nmax)
			}
			fl := float32(l)
			w := float32(v * v)
			sumLX += float32(float32(w*v) * fl)
			sumL2 += float32(float32(w*fl) * fl)
		}
		return sumLX, sumL2
	}
	sumLX, sumL2 := sums(-nmax/maxv, true)
	var scale float32
	if sumL2 != 0 {
		scale = sumLX / sumL2
	}
	best := scale * sumLX
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale := -(nmax + float32(0.1*float32(is))) / maxv
		sumLX, sumL2 = sums(iscale, false)
		if sumL2 > 0 && float32(sumLX*sumLX) > float32(best*sumL2) {
			sums(iscale, true)
			scale = sumLX / sumL2
			best = scale * sumLX
		}
	}
	return scale
}

func quantizeBlockQ6_K(b []byte, x []float32) {
	var L [qk]uint8
	var scales [16]float32
	var maxScale, maxAbs float32
	for j := range scales {
		scales[j] = makeQXQuants((*[16]float32)(x[16*j:16*j+16]), (*[16]uint8)(L[16*j:16*j+16]))
		if a := abs32(scales[j]); a > maxAbs {
			maxAbs, maxScale = a, scales[j]
		}
	}
	clear(b)
	if maxAbs < groupMaxEps {
		return
	}
	iscale := -128 / maxScale
	putHalf(b[208:], 1/iscale)
	d := half(b[208:])
	for j := range scales {
		sc := int8(min(127, nearestInt(iscale*scales[j])))
		b[192+j] = byte(sc)
		dj := d * float32(sc)
		if dj == 0 {
			continue
		}
		for i := 16 * j; i < 16*j+16; i++ {
			L[i] = uint8(clampInt(nearestInt(x[i]/dj), -32, 31) + 32)
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
