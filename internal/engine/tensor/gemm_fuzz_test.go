package tensor

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// FuzzTileDecode decodes arbitrary weight bytes into tiles at this
// machine's tier and checks them against Dequantize (checkTileRow).
func FuzzTileDecode(f *testing.F) {
	f.Add(uint8(0), uint8(1), []byte("seed"))
	f.Add(uint8(7), uint8(2), []byte{0xff, 0x7b, 0x80, 0x00, 0x3c})
	types := []Type{Q8_0, Q4_0, Q5_0, Q4_1, Q5_1, Q4_K, Q5_K, Q6_K}
	f.Fuzz(func(t *testing.T, ti, blocks uint8, data []byte) {
		typ := types[int(ti)%len(types)]
		nb := (int(blocks)%9 + 1) * typ.BlockSize() / 32
		src := make([]byte, typ.RowSize(32*nb))
		for i := range src {
			if len(data) > 0 {
				src[i] = data[i%len(data)] ^ byte(i*151)
			}
		}
		tile := make([]byte, nb*qTiles[typ].kind.blockBytes())
		for row := range gemmRows {
			qTiles[typ].decode(tile, src, row, nb)
			if err := checkTileRow(typ, tile, src, row, nb); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzGemmQ runs the quantized micro-kernel on arbitrary levels (finite
// scales from the seed) and compares it with its twin and with float64.
func FuzzGemmQ(f *testing.F) {
	f.Add(uint8(0), uint8(1), uint8(1), uint8(16), []byte("seed"), uint64(1))
	f.Add(uint8(2), uint8(18), uint8(3), uint8(33), []byte{0x80, 0x7f, 0x00, 0xff}, uint64(7))
	f.Fuzz(func(t *testing.T, ki, nbs, nps, nvs uint8, data []byte, seed uint64) {
		kind := []qKind{qSym, qMin, qHalf}[int(ki)%3]
		pw := panelWidth()
		nb, np := int(nbs)%24+1, int(nps)%4+1
		nv := int(nvs)%(np*pw) + 1
		np = (nv + pw - 1) / pw
		r := rand.New(rand.NewPCG(seed, 3))
		fill := func(b []byte, salt int) {
			for i := range b {
				if len(data) > 0 {
					b[i] = data[(i+salt)%len(data)] ^ byte(i*salt)
				}
			}
		}
		tb := kind.blockBytes()
		wt := make([]byte, nb*tb)
		fill(wt, 3)
		for b := range nb {
			for k := 128; k < tb; k += 4 {
				if kind == qHalf && (k-128)%32 < 16 || kind != qHalf && k < 144 {
					binary.LittleEndian.PutUint32(wt[b*tb+k:], uint32(r.Int32N(1<<20)-1<<19))
				} else {
					putF32(wt[b*tb+k:], float32(r.NormFloat64()))
				}
			}
		}
		xq := make([]byte, np*nb*40*pw)
		fill(xq, 5)
		for blk := range np * nb {
			for k := 32 * pw; k < 40*pw; k += 4 {
				putF32(xq[blk*40*pw+k:], float32(r.NormFloat64()))
			}
		}
		ldc := gemmRows
		got := make([]float32, nv*ldc)
		twin := slices.Clone(got)
		gemmQ(kind, wt, xq, nb, np, nv, got, ldc)
		gemmQRef(kind, wt, xq, nb, np, pw, nv, twin, ldc)
		for v := range nv {
			for row := range gemmRows {
				want, mag := gemmQFloat64(kind, wt, xq, nb, pw, v, row)
				for _, g := range []float32{got[v*ldc+row], twin[v*ldc+row]} {
					if d := math.Abs(float64(g) - want); d > 1e-5*mag+1e-30 {
						t.Fatalf("kind %d nb %d nv %d: vector %d row %d: kernel %v, twin %v, want %v",
							kind, nb, nv, v, row, got[v*ldc+row], twin[v*ldc+row], want)
					}
				}
			}
		}
	})
}
