package tensor

import (
	"encoding/binary"
	"math"
)

// Reference row·vector kernels. Each takes one weight row in its block format
// and the activation (float for float weights, q8Act for block formats) and
// returns the dot product. The assembly kernels compute the same sums in a
// different order, so they agree to float rounding, not bit for bit.

// dotF32Generic computes Σ_i a[i]*b[i].
func dotF32Generic(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	n := len(a)
	b = b[:n]
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// dotF32RowGeneric computes Σ_i float32(w[4i:4i+4]) * x[i].
func dotF32RowGeneric(w []byte, x []float32) float32 {
	var s float32
	for i, v := range x {
		s += math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:])) * v
	}
	return s
}

// dotF16Generic computes Σ_i half(w[2i:2i+2]) * x[i].
func dotF16Generic(w []byte, x []float32) float32 {
	var s float32
	w = w[:2*len(x)]
	for i, v := range x {
		u := uint32(w[2*i]) | uint32(w[2*i+1])<<8
		var f float32
		if u&0x7c00-0x400 < 0x7800 { // normal: HalfToFloat's fast path, inlined
			f = math.Float32frombits(u&0x8000<<16 | (u&0x7fff+112<<10)<<13)
		} else {
			f = HalfToFloat(uint16(u))
		}
		s += f * v
	}
	return s
}

// dotBF16Generic computes Σ_i bf16(w[2i:2i+2]) * x[i].
func dotBF16Generic(w []byte, x []float32) float32 {
	var s float32
	for i, v := range x {
		s += BF16ToFloat(binary.LittleEndian.Uint16(w[2*i:])) * v
	}
	return s
}

// dotQ8_0Generic computes Σ_b dw_b*dx_b * Σ_i qw[i]*qx[i] over 32-blocks.
func dotQ8_0Generic(w []byte, a *q8Act) float32 {
	var s float32
	for b := range a.d {
		blk := w[34*b : 34*b+34]
		qw := (*[32]byte)(blk[2:])
		qx := (*[32]int8)(a.qs[32*b:])
		var s0, s1 int32
		for i := 0; i < 32; i += 2 {
			s0 += int32(int8(qw[i])) * int32(qx[i])
			s1 += int32(int8(qw[i+1])) * int32(qx[i+1])
		}
		s += half(blk) * a.d[b] * float32(s0+s1)
	}
	return s
}

// dotQ4_0Generic computes Σ_b dw_b*dx_b * Σ_i (qw[i]-8)*qx[i].
func dotQ4_0Generic(w []byte, a *q8Act) float32 {
	var s float32
	for b := range a.d {
		blk := w[18*b : 18*b+18]
		qw := (*[16]byte)(blk[2:])
		qx := (*[32]int8)(a.qs[32*b:])
		var s0, s1 int32
		for j, q := range qw {
			s0 += int32(q&0xf) * int32(qx[j])
			s1 += int32(q>>4) * int32(qx[j+16])
		}
		si := s0 + s1 - 8*a.sum[b]
		s += half(blk) * a.d[b] * float32(si)
	}
	return s
}

// dotQ4_1Generic computes Σ_b (dw_b*dx_b*Σ_i qw[i]*qx[i] + mw_b*dx_b*Σ_i qx[i]).
func dotQ4_1Generic(w []byte, a *q8Act) float32 {
	var s float32
	for b := range a.d {
		blk := w[20*b : 20*b+20]
		qx := a.qs[32*b : 32*b+32]
		var si int32
		for j, q := range blk[4:20] {
			si += int32(q&0xf) * int32(qx[j])
			si += int32(q>>4) * int32(qx[j+16])
		}
		s += a.d[b] * (half(blk)*float32(si) + half(blk[2:])*float32(a.sum[b]))
	}
	return s
}

// dotQ5_0Generic computes Σ_b dw_b*dx_b * Σ_i (qw[i]-16)*qx[i].
func dotQ5_0Generic(w []byte, a *q8Act) float32 {
	var s float32
	for b := range a.d {
		blk := w[22*b : 22*b+22]
		qh := binary.LittleEndian.Uint32(blk[2:])
		qx := a.qs[32*b : 32*b+32]
		var si int32
		for j, q := range blk[6:22] {
			lo := int32(q&0xf) | int32(qh>>j&1)<<4
			hi := int32(q>>4) | int32(qh>>(j+16)&1)<<4
			si += lo*int32(qx[j]) + hi*int32(qx[j+16])
		}
		si -= 16 * a.sum[b]
		s += half(blk) * a.d[b] * float32(si)
	}
	return s
}

// dotQ5_1Generic computes Σ_b (dw_b*dx_b*Σ_i qw[i]*qx[i] + mw_b*dx_b*Σ_i qx[i]).
func dotQ5_1Generic(w []byte, a *q8Act) float32 {
	var s float32
	for b := range a.d {
		blk := w[24*b : 24*b+24]
		qh := binary.LittleEndian.Uint32(blk[4:])
		qx := a.qs[32*b : 32*b+32]
		var si int32
		for j, q := range blk[8:24] {
			lo := int32(q&0xf) | int32(qh>>j&1)<<4
			hi := int32(q>>4) | int32(qh>>(j+16)&1)<<4
			si += lo*int32(qx[j]) + hi*int32(qx[j+16])
		}
		s += a.d[b] * (half(blk)*float32(si) + half(blk[2:])*float32(a.sum[b]))
	}
	return s
}

// dotQ4_KGeneric computes, per super-block and 32-element sub-block j,
// Σ dx_j*(d*sc_j*Σ_i q[i]*qx[i] - dmin*m_j*Σ_i qx[i]).
func dotQ4_KGeneric(w []byte, a *q8Act) float32 {
	var s float32
	for sb := 0; sb < len(a.qs)/qk; sb++ {
		blk := w[144*sb : 144*sb+144]
		d, dmin := half(blk), half(blk[2:])
		q := blk[16:144]
		for c := 0; c < 4; c++ {
			for h := 0; h < 2; h++ {
				j := 2*c + h
				sc, m := scaleMinK4(j, blk[4:16])
				x := a.qs[qk*sb+32*j : qk*sb+32*j+32]
				var si int32
				for l := 0; l < 32; l++ {
					si += int32(q[32*c+l]>>(4*h)&0xf) * int32(x[l])
				}
				bi := sb*8 + j
				s += a.d[bi] * (d*float32(sc)*float32(si) - dmin*float32(m)*float32(a.sum[bi]))
			}
		}
	}
	return s
}

// dotQ5_KGeneric is dotQ4_KGeneric with 5-bit levels (fifth bit from qh).
func dotQ5_KGeneric(w []byte, a *q8Act) float32 {
	var s float32
	for sb := 0; sb < len(a.qs)/qk; sb++ {
		blk := w[176*sb : 176*sb+176]
		d, dmin := half(blk), half(blk[2:])
		qh := blk[16:48]
		q := blk[48:176]
		for c := 0; c < 4; c++ {
			for h := 0; h < 2; h++ {
				j := 2*c + h
				sc, m := scaleMinK4(j, blk[4:16])
				x := a.qs[qk*sb+32*j : qk*sb+32*j+32]
				var si int32
				for l := 0; l < 32; l++ {
					v := int32(q[32*c+l]>>(4*h)&0xf) | int32(qh[l]>>j&1)<<4
					si += v * int32(x[l])
				}
				bi := sb*8 + j
				s += a.d[bi] * (d*float32(sc)*float32(si) - dmin*float32(m)*float32(a.sum[bi]))
			}
		}
	}
	return s
}

// dotQ6_KGeneric computes, per 32-element block j of the activation,
// dx_j * d * Σ_{g in j's two 16-groups} sc_g * Σ_i (q[i]-32)*qx[i].
func dotQ6_KGeneric(w []byte, a *q8Act) float32 {
	var s float32
	var v [qk]int8
	for sb := 0; sb < len(a.qs)/qk; sb++ {
		blk := w[210*sb : 210*sb+210]
		unpackQ6_K(&v, blk)
		d := half(blk[208:])
		sc := blk[192:208]
		x := a.qs[qk*sb : qk*sb+qk]
		for j := 0; j < 8; j++ {
			var si int32
			for g := 2 * j; g < 2*j+2; g++ {
				var sg int32
				for i := 16 * g; i < 16*g+16; i++ {
					sg += int32(v[i]) * int32(x[i])
				}
				si += int32(int8(sc[g])) * sg
			}
			s += a.d[sb*8+j] * d * float32(si)
		}
	}
	return s
}

// unpackQ6_K writes the 256 signed levels (q-32) of a Q6_K block in element order.
func unpackQ6_K(v *[qk]int8, blk []byte) {
	for h := 0; h < 2; h++ {
		ql := blk[64*h : 64*h+64]
		qh := blk[128+32*h : 128+32*h+32]
		o := 128 * h
		for l := 0; l < 32; l++ {
			v[o+l] = int8(ql[l]&0xf|(qh[l]&3)<<4) - 32
			v[o+l+32] = int8(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
			v[o+l+64] = int8(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
			v[o+l+96] = int8(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
		}
	}
}
