package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The quantized GEMM. Input vectors are quantized to q8 blocks as for the
// row kernels, then packed into panels of pw vectors whose levels are
// biased to unsigned (u = q+128) so VPDPBUSD can multiply them (u8) by
// weight levels (s8). Weight rows are decoded four at a time into a tile
// of signed levels with a float scale (and offset) per 32 elements, so one
// micro-kernel serves every block format; decoding costs a few operations
// per weight, against n multiply-adds per weight in the product.
//
//	panel block (40*pw bytes): u[g][lane][4] for groups g < 8 (elements
//	    4g..4g+3), then dx[lane] and sx[lane] (float32: the vector's block
//	    scale and scale times level sum)
//	tile block (176 bytes): q[r][32] int8 levels of rows r < 4, then per
//	    row ncorr (int32, -128*Σq, cancelling the bias), d and m (float32)
//	Q6_K tile block (192 bytes): q[r][32], then ncorr0, d0, ncorr1, d1,
//	    one pair per 16-element half
//
// so that block b adds, for row r and vector v,
//
//	d*dx * (Σ_i u_i*q_i + ncorr) + m*sx  =  d*dx*Σ_i q_i*x_i + m*dx*Σ_i x_i,
//
// which is the row kernels' sum for every format (m is the offset times
// the level step: +m for Q4_1/Q5_1, -dmin*min for the K-quants, 0 for the
// symmetric formats).

// qKind is the tile layout and micro-kernel variant of a format.
type qKind uint8

const (
	qSym  qKind = iota // d per 32 elements, no offset (Q8_0, Q4_0, Q5_0)
	qMin               // d and m per 32 elements (Q4_1, Q5_1, Q4_K, Q5_K)
	qHalf              // d per 16 elements (Q6_K)
)

// blockBytes is a tile's bytes per 32-element block.
func (k qKind) blockBytes() int {
	if k == qHalf {
		return 192
	}
	return 176
}

// qTile decodes weights of one format into tiles.
type qTile struct {
	kind qKind
	// decode writes row (one encoded weight row of nb 32-element blocks)
	// as row r of the tile dst.
	decode func(dst, row []byte, r, nb int)
}

var qTiles = map[Type]*qTile{
	Q8_0: {qSym, decodeQ8_0Tile},
	Q4_0: {qSym, decodeQ4_0Tile},
	Q5_0: {qSym, decodeQ5_0Tile},
	Q4_1: {qMin, decodeQ4_1Tile},
	Q5_1: {qMin, decodeQ5_1Tile},
	Q4_K: {qMin, decodeQ4_KTile},
	Q5_K: {qMin, decodeQ5_KTile},
	Q6_K: {qHalf, decodeQ6_KTile},
}

// gemmQuantTile returns the tile decoder for t, or nil when t uses the
// row kernels at this tier. The GEMM needs VNNI's u8×s8 dot products to
// pay: on AVX2 the row kernels' four-vector products are as fast, and in
// pure Go the twins are slower than the row references.
func gemmQuantTile(t Type) *qTile {
	if isa < isaAVX512 {
		return nil
	}
	return qTiles[t]
}

func gemmQPanelBytes(cols, pw int) int { return cols / 32 * 40 * pw }

func gemmQTileBytes(t Type, cols int) int {
	if q := qTiles[t]; q != nil {
		return cols / 32 * q.kind.blockBytes()
	}
	return 0
}

// gemmQRef is the quantized micro-kernel: tile wt (nb blocks) against np
// panels of pw vectors at xq,
//
//	for p < np, lane < pw, r < 4, with v = p*pw + lane < nv:
//		out[v*ldc + r] = Σ_b Σ_half d*dx * (Σ_i u_i*q_i + ncorr) [+ m*sx]
//
// with the layouts above (qHalf: two halves of 16 elements, others one
// of 32; m only for qMin).
func gemmQRef(kind qKind, wt, xq []byte, nb, np, pw, nv int, out []float32, ldc int) {
	tb, pb := kind.blockBytes(), 40*pw
	halves := 1
	if kind == qHalf {
		halves = 2
	}
	gs := 8 / halves // groups of four elements per half
	for p := range np {
		for lane := range pw {
			v := p*pw + lane
			if v >= nv {
				return
			}
			for r := range gemmRows {
				var acc float32
				for b := range nb {
					t := wt[b*tb : (b+1)*tb]
					x := xq[(p*nb+b)*pb : (p*nb+b+1)*pb]
					dx := f32at(x, 32*pw+4*lane)
					for h := range halves {
						i := int32(binary.LittleEndian.Uint32(t[128+32*h+4*r:]))
						for g := gs * h; g < gs*(h+1); g++ {
							for k := range 4 {
								i += int32(x[g*4*pw+4*lane+k]) * int32(int8(t[32*r+4*g+k]))
							}
						}
						acc += float32(i) * (dx * f32at(t, 144+32*h+4*r))
					}
					if kind == qMin {
						acc += f32at(x, 36*pw+4*lane) * f32at(t, 160+4*r)
					}
				}
				out[v*ldc+r] = acc
			}
		}
	}
}

func f32at(b []byte, i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[i:])) }

func putF32(b []byte, f float32) { binary.LittleEndian.PutUint32(b, math.Float32bits(f)) }

// packQRef packs the quantized vectors a[0..n) (each nb blocks) into np
// panels; lanes past n get level 0, scale 0:
//
//	xq[(p*nb+b)*40*pw + g*4*pw + 4*lane + k] = a[p*pw+lane].qs[32b+4g+k] + 128
//	dx, sx at 32*pw+4*lane, 36*pw+4*lane: a[v].d[b], a[v].s[b]
func packQRef(xq []byte, a []q8Act, n, np, nb, pw int) {
	pb := 40 * pw
	for p := range np {
		for b := range nb {
			blk := xq[(p*nb+b)*pb : (p*nb+b+1)*pb]
			for lane := range pw {
				v := p*pw + lane
				var d, s float32
				for g := range 8 {
					for k := range 4 {
						u := byte(0x80)
						if v < n {
							u = byte(a[v].qs[32*b+4*g+k]) ^ 0x80
						}
						blk[g*4*pw+4*lane+k] = u
					}
				}
				if v < n {
					d, s = a[v].d[b], a[v].s[b]
				}
				putF32(blk[32*pw+4*lane:], d)
				putF32(blk[36*pw+4*lane:], s)
			}
		}
	}
}

// gemmQ is the quantized micro-kernel of the current tier (see gemmQRef)
// after checking that every access is in bounds.
func gemmQ(kind qKind, wt, xq []byte, nb, np, nv int, out []float32, ldc int) {
	pw := panelWidth()
	if nb < 1 || np < 1 || nv < 1 || nv > np*pw || ldc < gemmRows ||
		len(wt) < nb*kind.blockBytes() || len(xq) < np*nb*40*pw || len(out) < (nv-1)*ldc+gemmRows {
		panic(fmt.Sprintf("tensor: gemmQ nb=%d np=%d nv=%d ldc=%d on tile %d, x %d, out %d",
			nb, np, nv, ldc, len(wt), len(xq), len(out)))
	}
	if !archGemmQ(kind, wt, xq, nb, np, nv, out, ldc) {
		gemmQRef(kind, wt, xq, nb, np, pw, nv, out, ldc)
	}
}

// packQ quantizes and packs the vectors of panels lo..hi straight from x
// (lanes past the last vector are packed by packQRef from no vectors).
func (j *matMulJob) packQ(lo, hi int) {
	pw, nb, cols := j.pw, j.cols/32, j.cols
	pb := gemmQPanelBytes(cols, pw)
	for p := lo; p < hi; p++ {
		xq := j.xq[p*pb : (p+1)*pb]
		v0, v1 := p*pw, min(j.n, (p+1)*pw)
		if v1-v0 < pw {
			packQRef(xq, nil, 0, 1, nb, pw)
		}
		for v := v0; v < v1; v++ {
			if !archQuantPack(xq, j.x[v*cols:(v+1)*cols], nb, v-v0) {
				panic("tensor: no fused quantize-and-pack kernel at tier " + isa.String())
			}
		}
	}
}

// gemmQ does a quantized GEMM item: each four-row tile decoded, then
// multiplied by the item's panels.
func (j *matMulJob) gemmQ(it mulItem, s *gemmScratch) {
	pr := j.prods[it.prod]
	w, K, pw := pr.W, j.cols, j.pw
	qt := qTiles[w.Type]
	nb, pb := K/32, gemmQPanelBytes(K, pw)
	xq := j.xq[it.p0*pb : it.p1*pb]
	np, nv := it.p1-it.p0, min(j.n, it.p1*pw)-it.p0*pw
	rs := w.Type.RowSize(K)
	wt := s.wq[:nb*qt.kind.blockBytes()]
	for r := it.r0; r < it.r1; r += gemmRows {
		rows := min(gemmRows, it.r1-r)
		if rows < gemmRows {
			clear(wt)
		}
		for i := range rows {
			qt.decode(wt, w.Data[(r+i)*rs:(r+i+1)*rs], i, nb)
		}
		j.storeTile(pr, r, rows, it.p0, nv, s, func(out []float32, ldc int) {
			gemmQ(qt.kind, wt, xq, nb, np, nv, out, ldc)
		})
	}
}
