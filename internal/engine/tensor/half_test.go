package tensor

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// refHalf decodes binary16 by the textbook formula in float64.
func refHalf(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e := int(h>>10) & 0x1f
	m := float64(h & 0x3ff)
	switch e {
	case 0:
		return sign * math.Ldexp(m, -24)
	case 31:
		if m == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * math.Ldexp(1+m/1024, e-15)
}

func TestHalfToFloatAll(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got, want := HalfToFloat(h), refHalf(h)
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) {
				t.Fatalf("%#04x: got %v, want NaN", h, got)
			}
			// The payload must survive so NaN boxing round-trips.
			if FloatToHalf(got) != h|0x200 {
				t.Fatalf("%#04x: NaN round trip gave %#04x", h, FloatToHalf(got))
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
			t.Fatalf("%#04x: got %v, want %v", h, got, want)
		}
		if back := FloatToHalf(got); back != h {
			t.Fatalf("%#04x: round trip gave %#04x", h, back)
		}
	}
}

// TestFloatToHalfRounding compares against a brute-force nearest search over
// all finite halves with ties to the even encoding.
func TestFloatToHalfRounding(t *testing.T) {
	type hv struct {
		v float64
		h uint16
	}
	var pos []hv
	for i := 0; i < 0x7c00; i++ {
		pos = append(pos, hv{refHalf(uint16(i)), uint16(i)})
	}
	sort.Slice(pos, func(a, b int) bool { return pos[a].v < pos[b].v })
	maxHalf := pos[len(pos)-1].v
	ref := func(f float32) uint16 {
		a := math.Abs(float64(f))
		var sign uint16
		if math.Signbit(float64(f)) {
			sign = 0x8000
		}
		// Values at or past max+half-ulp round to infinity.
		if a >= maxHalf+math.Ldexp(1, 4) {
			return sign | 0x7c00
		}
		k := sort.Search(len(pos), func(i int) bool { return pos[i].v >= a })
		if k == len(pos) {
			return sign | pos[k-1].h
		}
		if k == 0 || pos[k].v == a {
			return sign | pos[k].h
		}
		lo, hi := pos[k-1], pos[k]
		switch dl, dh := a-lo.v, hi.v-a; {
		case dl < dh:
			return sign | lo.h
		case dh < dl:
			return sign | hi.h
		case lo.h&1 == 0:
			return sign | lo.h
		default:
			return sign | hi.h
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	check := func(f float32) {
		if got, want := FloatToHalf(f), ref(f); got != want {
			t.Fatalf("FloatToHalf(%v [%#08x]) = %#04x, want %#04x", f, math.Float32bits(f), got, want)
		}
	}
	for i := 0; i < 200000; i++ {
		// Exponents spanning subnormal halves to overflow.
		e := r.IntN(50) - 30
		check(float32(math.Ldexp(r.Float64()*2-1, e)))
		check(math.Float32frombits(r.Uint32() &^ 0x40000000)) // |f| < 2, dense tiny values
	}
	// Exact midpoints between neighbouring halves, to test ties-to-even.
	for i := 0; i+1 < len(pos); i++ {
		mid := float32((pos[i].v + pos[i+1].v) / 2)
		if float64(mid) == (pos[i].v+pos[i+1].v)/2 {
			check(mid)
			check(-mid)
		}
	}
	for _, f := range []float32{0, float32(math.Copysign(0, -1)), 65504, 65519.99, 65520, 1e10, float32(math.Inf(1)), float32(math.Inf(-1)), 5.96e-8, 2.98e-8, 2.99e-8} {
		check(f)
	}
	if h := FloatToHalf(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Fatalf("NaN -> %#04x", h)
	}
}

func TestBF16(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := BF16ToFloat(h)
		if want := math.Float32frombits(uint32(h) << 16); math.Float32bits(f) != math.Float32bits(want) {
			t.Fatalf("%#04x", h)
		}
		if back := FloatToBF16(f); back != h && !(math.IsNaN(float64(f)) && back == h|64) {
			t.Fatalf("bf16 %#04x round trip %#04x", h, back)
		}
	}
	// Ties to even: 1 + 2^-8 lies halfway between bf16 1 and 1+2^-7.
	if got := FloatToBF16(1 + 1.0/256); got != 0x3f80 {
		t.Fatalf("tie rounded to %#04x", got)
	}
	if got := FloatToBF16(1 + 3.0/256); got != 0x3f82 {
		t.Fatalf("tie rounded to %#04x", got)
	}
}
