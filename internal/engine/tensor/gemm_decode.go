package tensor

import "encoding/binary"

// Tile decoders of the quantized GEMM (layout in gemm_quant.go): each
// writes one encoded weight row as row r of a tile, block by block, with
// the same levels and scales the row kernels (dot_generic.go) use.

// putTileBlock stores block b of row r: levels lv, scale d, offset m, and
// ncorr = -128*Σlv.
func putTileBlock(dst []byte, b, r int, lv *[32]int8, d, m float32) {
	t := dst[b*176 : (b+1)*176]
	var sum int32
	for i, q := range lv {
		t[32*r+i] = byte(q)
		sum += int32(q)
	}
	binary.LittleEndian.PutUint32(t[128+4*r:], uint32(-128*sum))
	putF32(t[144+4*r:], d)
	putF32(t[160+4*r:], m)
}

func decodeQ8_0Tile(dst, row []byte, r, nb int) {
	if archDecodeTile(Q8_0, dst, row, r, nb) {
		return
	}
	var lv [32]int8
	for b := range nb {
		blk := row[34*b : 34*b+34]
		for i, q := range blk[2:] {
			lv[i] = int8(q)
		}
		putTileBlock(dst, b, r, &lv, half(blk), 0)
	}
}

// nibbles sets lv to the 32 levels packed in qs (element j low nibble,
// j+16 high), minus off.
func nibbles(lv *[32]int8, qs []byte, off int8) {
	for j, q := range qs[:16] {
		lv[j] = int8(q&0xf) - off
		lv[j+16] = int8(q>>4) - off
	}
}

// fifthBits adds bit i of qh as 16 to level i.
func fifthBits(lv *[32]int8, qh uint32) {
	for i := range lv {
		lv[i] += int8(qh>>i&1) << 4
	}
}

func decodeQ4_0Tile(dst, row []byte, r, nb int) {
	if archDecodeTile(Q4_0, dst, row, r, nb) {
		return
	}
	var lv [32]int8
	for b := range nb {
		blk := row[18*b : 18*b+18]
		nibbles(&lv, blk[2:], 8)
		putTileBlock(dst, b, r, &lv, half(blk), 0)
	}
}

func decodeQ4_1Tile(dst, row []byte, r, nb int) {
	var lv [32]int8
	for b := range nb {
		blk := row[20*b : 20*b+20]
		nibbles(&lv, blk[4:], 0)
		putTileBlock(dst, b, r, &lv, half(blk), half(blk[2:]))
	}
}

func decodeQ5_0Tile(dst, row []byte, r, nb int) {
	if archDecodeTile(Q5_0, dst, row, r, nb) {
		return
	}
	var lv [32]int8
	for b := range nb {
		blk := row[22*b : 22*b+22]
		nibbles(&lv, blk[6:], 16)
		fifthBits(&lv, binary.LittleEndian.Uint32(blk[2:]))
		putTileBlock(dst, b, r, &lv, half(blk), 0)
	}
}

func decodeQ5_1Tile(dst, row []byte, r, nb int) {
	var lv [32]int8
	for b := range nb {
		blk := row[24*b : 24*b+24]
		nibbles(&lv, blk[8:], 0)
		fifthBits(&lv, binary.LittleEndian.Uint32(blk[4:]))
		putTileBlock(dst, b, r, &lv, half(blk), half(blk[2:]))
	}
}

func decodeQ4_KTile(dst, row []byte, r, nb int) {
	if !archDecodeTile(Q4_K, dst, row, r, nb) {
		var lv [32]int8
		for sb := range nb / 8 {
			q := row[144*sb+16 : 144*sb+144]
			for j := range 8 {
				c, sh := j/2, 4*(j%2)
				for l := range 32 {
					lv[l] = int8(q[32*c+l] >> sh & 0xf)
				}
				putTileBlock(dst, 8*sb+j, r, &lv, 0, 0)
			}
		}
	}
	kScales(dst, row, 144, r, nb)
}

// kScales fills d and m of row r's blocks from Q4_K/Q5_K super-blocks of
// size bytes.
func kScales(dst, row []byte, size, r, nb int) {
	for sb := range nb / 8 {
		blk := row[size*sb : size*sb+size]
		d, dmin := half(blk), half(blk[2:])
		for j := range 8 {
			sc, m := scaleMinK4(j, blk[4:16])
			t := dst[(8*sb+j)*176:]
			putF32(t[144+4*r:], d*float32(sc))
			putF32(t[160+4*r:], -(dmin * float32(m)))
		}
	}
}

func decodeQ5_KTile(dst, row []byte, r, nb int) {
	var lv [32]int8
	for sb := range nb / 8 {
		blk := row[176*sb : 176*sb+176]
		d, dmin := half(blk), half(blk[2:])
		qh, ql := blk[16:48], blk[48:176]
		for j := range 8 {
			c, sh := j/2, 4*(j%2)
			sc, m := scaleMinK4(j, blk[4:16])
			for l := range 32 {
				lv[l] = int8(ql[32*c+l]>>sh&0xf | (qh[l]>>j&1)<<4)
			}
			putTileBlock(dst, 8*sb+j, r, &lv, d*float32(sc), -(dmin * float32(m)))
		}
	}
}

// decodeQ6_KTile writes Q6_K rows into the 192-byte two-scale blocks.
func decodeQ6_KTile(dst, row []byte, r, nb int) {
	if !archDecodeTile(Q6_K, dst, row, r, nb) {
		var v [qk]int8
		for sb := range nb / 8 {
			unpackQ6_K(&v, row[210*sb:210*sb+210])
			for j := range 8 {
				t := dst[(8*sb+j)*192 : (8*sb+j+1)*192]
				for h := range 2 {
					var sum int32
					for i := 16 * h; i < 16*h+16; i++ {
						q := v[32*j+i]
						t[32*r+i] = byte(q)
						sum += int32(q)
					}
					binary.LittleEndian.PutUint32(t[128+32*h+4*r:], uint32(-128*sum))
				}
			}
		}
	}
	for sb := range nb / 8 {
		blk := row[210*sb : 210*sb+210]
		d := half(blk[208:])
		for g, sc := range blk[192:208] {
			putF32(dst[(8*sb+g/2)*192+144+32*(g%2)+4*r:], d*float32(int8(sc)))
		}
	}
}
