package synth

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/parley-chat/parley/internal/engine/tensor"
)

// splitMix64 is one step of the SplitMix64 generator: the next state and
// its output. Its state is a plain value, so the loops drawing millions of
// weights keep it in a register (math/rand's generators live behind a
// pointer, which the race detector instruments on every draw).
func splitMix64(s uint64) (uint64, uint64) {
	s += 0x9e3779b97f4a7c15
	z := s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return s, z ^ z>>31
}

// irwinHallSD is the standard deviation of the sum of four uniform 16-bit
// integers: sqrt(4 * (65536²-1)/12).
const irwinHallSD = 37837.2

// floatWeights encodes n values of mean and standard deviation sd as float
// type t (F32, F16, BF16), drawn from the seed: each the sum of four
// uniform 16-bit draws (Irwin–Hall, a bell curve cut off at ±3.5 sd).
func floatWeights(seed uint64, t tensor.Type, n int, mean, sd float64) ([]byte, error) {
	if t != tensor.F32 && t != tensor.F16 && t != tensor.BF16 {
		return nil, fmt.Errorf("%v is not a float type", t)
	}
	data := make([]byte, n*t.TypeSize())
	fillFloats(data, t, seed, mean, sd/irwinHallSD)
	return data, nil
}

// fillFloats is floatWeights' loop. It writes a buffer no other goroutine
// has seen, so there is nothing for the race detector to watch, and
// unwatched (go:norace) the tests that write 80 MB models under -race take
// a fraction of the time.
//
//go:norace
func fillFloats(data []byte, t tensor.Type, s uint64, mean, k float64) {
	for i := 0; i < len(data); {
		var u uint64
		s, u = splitMix64(s)
		sum := int64(u&0xffff) + int64(u>>16&0xffff) + int64(u>>32&0xffff) + int64(u>>48) - 2*0xffff
		v := float32(mean + float64(sum)*k)
		switch t {
		case tensor.F32:
			binary.LittleEndian.PutUint32(data[i:], math.Float32bits(v))
			i += 4
		case tensor.F16:
			binary.LittleEndian.PutUint16(data[i:], tensor.FloatToHalf(v))
			i += 2
		default:
			binary.LittleEndian.PutUint16(data[i:], tensor.FloatToBF16(v))
			i += 2
		}
	}
}

// fillRandom fills b with random bytes from the state s and returns the
// next state (go:norace for the reason given at fillFloats).
//
//go:norace
func fillRandom(b []byte, s uint64) uint64 {
	var u uint64
	for i := 0; i < len(b); i += 8 {
		s, u = splitMix64(s)
		if i+8 <= len(b) {
			binary.LittleEndian.PutUint64(b[i:], u)
			continue
		}
		for j := i; j < len(b); j++ {
			b[j] = byte(u >> (8 * (j - i)))
		}
	}
	return s
}

// blockSpread is, per block type, the standard deviation of a block's
// values in units of its fp16 scale d when its quants (and K-quant
// sub-block scales) are uniformly random, as randomBlocks draws them.
var blockSpread = map[tensor.Type]float64{
	tensor.Q8_0: 73.9,   // int8 q
	tensor.Q4_0: 4.61,   // q-8, q in 0..15
	tensor.Q5_0: 9.23,   // q-16, q in 0..31
	tensor.Q4_K: 169.7,  // sc*q - 8m with sc in 1..63, q in 0..15, m ≈ 15sc/16
	tensor.Q6_K: 1365.0, // int8 sc times q-32, q in 0..63
}

// randomBlocks draws n values of block type t directly as stored blocks:
// random bytes for the quants and sub-block scales, then fp16 scales d
// chosen (each block within ±50% of a common one) so the values have
// about standard deviation sd around zero. Drawing blocks instead of
// quantizing drawn floats (ggml's reference quantizers take ~100 ns a
// value) writes any size at once, and every bit pattern a decoder must
// handle occurs.
func randomBlocks(seed uint64, t tensor.Type, n int, sd float64) ([]byte, error) {
	spread, ok := blockSpread[t]
	if !ok || n%t.BlockSize() != 0 {
		return nil, fmt.Errorf("cannot draw %d values of %v", n, t)
	}
	size := t.TypeSize()
	b := make([]byte, n/t.BlockSize()*size)
	s, u := fillRandom(b, seed), uint64(0)
	d := sd / spread
	half := func(p []byte, v float64) { binary.LittleEndian.PutUint16(p, tensor.FloatToHalf(float32(v))) }
	for off := 0; off < len(b); off += size {
		blk := b[off : off+size]
		s, u = splitMix64(s)
		db := d * (0.5 + float64(u>>11)/(1<<53))
		switch t {
		case tensor.Q8_0, tensor.Q4_0, tensor.Q5_0:
			half(blk, db)
		case tensor.Q6_K:
			half(blk[208:], db)
		case tensor.Q4_K:
			// dmin = 8d and m ≈ 15sc/16 centre each sub-block: d*sc*7.5
			// is its mean before the min is taken off.
			half(blk, db)
			half(blk[2:], 8*db)
			s, u = splitMix64(s)
			packScaleMinK4(blk[4:16], u)
		}
	}
	return b, nil
}

// packScaleMinK4 fills the 12-byte 6-bit (scale, min) packing of a Q4_K
// block with scales 1..63 drawn from the bytes of r and mins of about 15/16
// of each scale.
func packScaleMinK4(s []byte, r uint64) {
	clear(s)
	for j := 0; j < 8; j++ {
		sc := 1 + uint8(r>>(8*j))%63
		m := uint8(math.Round(float64(sc) * 15 / 16))
		if j < 4 {
			s[j] = sc
			s[j+4] = m
		} else {
			s[j+4] = sc&0xf | m<<4
			s[j-4] |= (sc >> 4) << 6
			s[j] |= (m >> 4) << 6
		}
	}
}
