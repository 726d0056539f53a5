package tensor

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// The reference decoders below are written element by element from the
// documented block layouts (ggml-common.h), independently of the block loops
// in quant_*.go: for each output index they locate its bits directly.

func refBit(b []byte, i int) int { return int(b[i/8]>>(i%8)) & 1 }

// refNibble is element i of a 32-element nibble array: low nibbles hold
// elements 0..15, high nibbles 16..31.
func refNibble(qs []byte, i int) int {
	if i < 16 {
		return int(qs[i] & 15)
	}
	return int(qs[i-16] >> 4)
}

func refLegacy(t Type, blk []byte, i int) float32 {
	d := HalfToFloat(binary.LittleEndian.Uint16(blk))
	m := HalfToFloat(binary.LittleEndian.Uint16(blk[2:]))
	switch t {
	case Q4_0:
		return float32(refNibble(blk[2:], i)-8) * d
	case Q4_1:
		return float32(float32(refNibble(blk[4:], i))*d) + m
	case Q5_0:
		return float32(refNibble(blk[6:], i)+16*refBit(blk[2:6], i)-16) * d
	case Q5_1:
		return float32(float32(refNibble(blk[8:], i)+16*refBit(blk[4:8], i))*d) + m
	case Q8_0:
		return float32(int8(blk[2+i])) * d
	}
	panic(t)
}

// refK4Scale is ggml's get_scale_min_k4: 8 pairs of 6-bit (scale, min).
func refK4Scale(s []byte, j int) (float32, float32) {
	var sc, m byte
	if j < 4 {
		sc, m = s[j]&63, s[j+4]&63
	} else {
		sc = (s[j+4] & 0x0f) | ((s[j-4] >> 6) << 4)
		m = (s[j+4] >> 4) | ((s[j] >> 6) << 4)
	}
	return float32(sc), float32(m)
}

func refK(t Type, blk []byte, i int) float32 {
	// Element i lives in 64-element chunk c; within it the first 32 use low
	// nibbles of qs[32c+l], the second 32 the high nibbles.
	c, l, hiHalf := i/64, i%32, (i%64)/32
	switch t {
	case Q4_K, Q5_K:
		d := HalfToFloat(binary.LittleEndian.Uint16(blk))
		dmin := HalfToFloat(binary.LittleEndian.Uint16(blk[2:]))
		sc, m := refK4Scale(blk[4:16], i/32)
		qs := blk[16:]
		if t == Q5_K {
			qs = blk[48:]
		}
		q := int(qs[32*c+l]>>(4*hiHalf)) & 15
		if t == Q5_K {
			q += 16 * int(blk[16+l]>>(i/32)&1)
		}
		return float32(d*sc*float32(q)) - dmin*m
	case Q6_K:
		// 128-element halves; in half h, ql[64h..] and qh[32h..]; element
		// 32k+l of the half takes ql nibble (k>=2 high) of byte l+32*(k%2)
		// and bits 2k..2k+1 of qh[l].
		h, r := i/128, i%128
		k, l := r/32, r%32
		ql := blk[64*h : 64*h+64]
		qh := blk[128+32*h:]
		lo := int(ql[l+32*(k%2)]>>(4*(k/2))) & 15
		hi := int(qh[l]>>(2*k)) & 3
		sc := float32(int8(blk[192+i/16]))
		d := HalfToFloat(binary.LittleEndian.Uint16(blk[208:]))
		return d * sc * float32(lo|hi<<4-32)
	}
	panic(t)
}

// randomBlocks fills n blocks of t with random bytes, then overwrites the
// fp16 scale fields with finite values of a realistic magnitude (random
// bytes would make them NaN/Inf 3% of the time, hiding the formula).
func randomBlocks(r *rand.Rand, t Type, n int) []byte {
	b := make([]byte, n*t.TypeSize())
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	scale := func(p []byte) {
		binary.LittleEndian.PutUint16(p, FloatToHalf(float32(r.NormFloat64()*0.01)))
	}
	for k := 0; k < n; k++ {
		blk := b[k*t.TypeSize() : (k+1)*t.TypeSize()]
		switch t {
		case Q4_0, Q5_0, Q8_0:
			scale(blk)
		case Q4_1, Q5_1, Q4_K, Q5_K:
			scale(blk)
			scale(blk[2:])
		case Q6_K:
			scale(blk[208:])
		}
	}
	return b
}

var quantTypes = []Type{Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K}

func TestDequantizeMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, typ := range quantTypes {
		t.Run(typ.String(), func(t *testing.T) {
			const nblk = 64
			src := randomBlocks(r, typ, nblk)
			bs := typ.BlockSize()
			dst := make([]float32, nblk*bs)
			if err := Dequantize(typ, src, dst); err != nil {
				t.Fatal(err)
			}
			for i, got := range dst {
				blk := src[(i/bs)*typ.TypeSize():]
				var want float32
				if bs == 32 {
					want = refLegacy(typ, blk, i%bs)
				} else {
					want = refK(typ, blk, i%bs)
				}
				if math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("element %d: got %v, want %v", i, got, want)
				}
			}
		})
	}
}

func TestDequantizeFloatTypes(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	src := make([]byte, 512)
	for i := range src {
		src[i] = byte(r.Uint32())
	}
	for _, typ := range []Type{F32, F16, BF16} {
		n := len(src) / typ.TypeSize()
		dst := make([]float32, n)
		if err := Dequantize(typ, src, dst); err != nil {
			t.Fatal(err)
		}
		for i, got := range dst {
			var want float32
			switch typ {
			case F32:
				want = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
			case F16:
				want = float32(refHalf(binary.LittleEndian.Uint16(src[2*i:])))
			case BF16:
				want = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
			}
			if got != want && !(got != got && want != want) {
				t.Fatalf("%v[%d]: got %v want %v", typ, i, got, want)
			}
		}
	}
}

func TestDequantizeErrors(t *testing.T) {
	tests := []struct {
		name string
		typ  Type
		src  int
		dst  int
	}{
		{"not a block multiple", Q4_0, 18, 31},
		{"short source", Q4_K, 143, 256},
		{"unsupported", Q2_K, 84, 256},
		{"unknown", Type(99), 100, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Dequantize(tt.typ, make([]byte, tt.src), make([]float32, tt.dst)); err == nil {
				t.Fatal("no error")
			}
		})
	}
	if err := Quantize(Q2_K, make([]float32, 256), make([]byte, 84)); err == nil {
		t.Fatal("quantize to Q2_K: no error")
	}
}

// TestQuantizeRoundTrip bounds the relative RMS error of Quantize followed by
// Dequantize on Gaussian data with a few outliers, per type.
func TestQuantizeRoundTrip(t *testing.T) {
	bounds := map[Type]float64{
		F32: 0, F16: 0.0005, BF16: 0.004,
		Q8_0: 0.008, Q4_0: 0.13, Q4_1: 0.1, Q5_0: 0.065, Q5_1: 0.05,
		Q4_K: 0.095, Q5_K: 0.05, Q6_K: 0.026,
	}
	r := rand.New(rand.NewPCG(7, 8))
	const n = 256 * 64
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
		if r.IntN(200) == 0 {
			x[i] *= 6
		}
	}
	for _, typ := range []Type{F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K} {
		t.Run(typ.String(), func(t *testing.T) {
			buf := make([]byte, typ.RowSize(n))
			if err := Quantize(typ, x, buf); err != nil {
				t.Fatal(err)
			}
			y := make([]float32, n)
			if err := Dequantize(typ, buf, y); err != nil {
				t.Fatal(err)
			}
			var se, sx float64
			for i := range x {
				d := float64(y[i] - x[i])
				se += d * d
				sx += float64(x[i]) * float64(x[i])
			}
			rel := math.Sqrt(se / sx)
			t.Logf("relative RMS error %.5f", rel)
			if rel > bounds[typ] {
				t.Fatalf("relative RMS error %.5f exceeds %.5f", rel, bounds[typ])
			}
		})
	}
}

// TestQuantizeEdgeBlocks: all-zero and constant blocks must round-trip
// without NaN, and an all-zero block exactly.
func TestQuantizeEdgeBlocks(t *testing.T) {
	for _, typ := range quantTypes {
		for _, c := range []float32{0, 1, -3.5} {
			x := make([]float32, 256)
			for i := range x {
				x[i] = c
			}
			buf := make([]byte, typ.RowSize(256))
			y := make([]float32, 256)
			if err := Quantize(typ, x, buf); err != nil {
				t.Fatal(err)
			}
			if err := Dequantize(typ, buf, y); err != nil {
				t.Fatal(err)
			}
			for i, v := range y {
				if v != v || math.Abs(float64(v-c)) > 0.02*math.Abs(float64(c))+1e-6 {
					t.Fatalf("%v const %v: y[%d] = %v", typ, c, i, v)
				}
			}
		}
	}
}

func TestTypeInfo(t *testing.T) {
	tests := []struct {
		typ       Type
		name      string
		bs, ts    int
		supported bool
	}{
		{F32, "F32", 1, 4, true}, {F16, "F16", 1, 2, true}, {BF16, "BF16", 1, 2, true},
		{Q4_0, "Q4_0", 32, 18, true}, {Q4_1, "Q4_1", 32, 20, true},
		{Q5_0, "Q5_0", 32, 22, true}, {Q5_1, "Q5_1", 32, 24, true},
		{Q8_0, "Q8_0", 32, 34, true}, {Q8_1, "Q8_1", 32, 36, false},
		{Q2_K, "Q2_K", 256, 84, false}, {Q3_K, "Q3_K", 256, 110, false},
		{Q4_K, "Q4_K", 256, 144, true}, {Q5_K, "Q5_K", 256, 176, true},
		{Q6_K, "Q6_K", 256, 210, true}, {Q8_K, "Q8_K", 256, 292, false},
		{IQ4_XS, "IQ4_XS", 256, 136, false},
	}
	for _, tt := range tests {
		if tt.typ.String() != tt.name || tt.typ.BlockSize() != tt.bs || tt.typ.TypeSize() != tt.ts || tt.typ.Supported() != tt.supported {
			t.Errorf("%d: got %s %d %d %v", tt.typ, tt.typ, tt.typ.BlockSize(), tt.typ.TypeSize(), tt.typ.Supported())
		}
		for _, s := range []string{tt.name, " " + tt.name, lower(tt.name)} {
			if p, err := ParseType(s); err != nil || p != tt.typ {
				t.Errorf("ParseType(%q) = %v, %v", s, p, err)
			}
		}
	}
	if _, err := ParseType("q9_9"); err == nil {
		t.Error("ParseType(q9_9): no error")
	}
	if got := Q4_K.RowSize(576 * 4); got != 9*144 {
		t.Errorf("RowSize = %d", got)
	}
	if s := Type(31).String(); s != "Type(31)" {
		t.Errorf("Type(31).String() = %q", s)
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// TestQuantizeF16MatchesFloatToHalf: the assembly narrowing (what an F16
// KV cache stores with) rounds as FloatToHalf does, subnormals, overflow
// and infinities included, on every tier.
func TestQuantizeF16MatchesFloatToHalf(t *testing.T) {
	r := rand.New(rand.NewPCG(67, 68))
	src := make([]float32, 1037)
	for i := range src {
		switch i % 5 {
		case 0:
			src[i] = float32(r.NormFloat64())
		case 1:
			src[i] = float32(r.NormFloat64() * 1e-6) // fp16 subnormals
		case 2:
			src[i] = float32(r.NormFloat64() * 7e4) // some overflow
		case 3:
			src[i] = math.Float32frombits(r.Uint32())
		default:
			src[i] = float32(r.NormFloat64() * 1e-8) // below the smallest subnormal
		}
	}
	src[4], src[9] = float32(math.Inf(1)), float32(math.Inf(-1))
	forEachISA(t, func(t *testing.T) {
		dst := make([]byte, 2*len(src))
		if err := Quantize(F16, src, dst); err != nil {
			t.Fatal(err)
		}
		for i, f := range src {
			got, want := binary.LittleEndian.Uint16(dst[2*i:]), FloatToHalf(f)
			if got != want && !(f != f && got&0x7c00 == 0x7c00 && got&0x3ff != 0) {
				t.Fatalf("[%d] %v: %#04x, FloatToHalf %#04x", i, f, got, want)
			}
		}
	})
}
