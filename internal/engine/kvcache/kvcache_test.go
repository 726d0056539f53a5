package kvcache

import (
	"math"
	"testing"

	"github.com/parley-chat/parley/internal/engine/tensor"
)

func TestCacheReservePutCommitTruncate(t *testing.T) {
	c, err := New(2, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Reserve(2); err != nil {
		t.Fatal(err)
	}
	for l := 0; l < 2; l++ {
		for p := 0; p < 2; p++ {
			x := float32(10*l + p)
			c.Put(l, p, []float32{x, x, x}, []float32{-x, -x, -x})
		}
	}
	c.Commit(2)
	if c.Len() != 2 {
		t.Fatalf("Len %d", c.Len())
	}
	if err := c.Reserve(4); err == nil {
		t.Fatal("Reserve beyond capacity succeeded")
	}
	if err := c.Reserve(3); err != nil {
		t.Fatal(err)
	}
	c.Put(1, 2, []float32{7, 7, 7}, []float32{8, 8, 8})
	c.Commit(1)
	k := c.Keys(1, 3)
	want := []float32{10, 10, 10, 11, 11, 11, 7, 7, 7}
	for i := range want {
		if k[i] != want[i] {
			t.Fatalf("keys %v, want %v", k, want)
		}
	}
	if v := c.Values(0, 2); v[3] != -1 {
		t.Errorf("values %v", v)
	}
	c.Truncate(1)
	if c.Len() != 1 {
		t.Fatalf("Len after truncate %d", c.Len())
	}
	if err := c.Reserve(4); err != nil {
		t.Fatalf("Reserve after truncate: %v", err)
	}
	if k := c.Keys(1, 1); k[0] != 10 {
		t.Errorf("kept key %v", k)
	}
}

func TestNewRejectsBadShapes(t *testing.T) {
	for _, s := range [][3]int{{0, 1, 1}, {1, 0, 1}, {1, 1, 0}, {-1, 4, 4}} {
		if _, err := New(s[0], s[1], s[2]); err == nil {
			t.Errorf("New%v succeeded", s)
		}
	}
}

func TestCommitBeyondReservePanics(t *testing.T) {
	c, _ := New(1, 1, 4)
	_ = c.Reserve(1)
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	c.Commit(2)
}

// TestQ8Cache: a Q8_0 cache gives back what was put to within its
// quantization (a step of max|x|/127 per block of 32), truncates like the
// float cache, and refuses widths that are not whole blocks.
func TestQ8Cache(t *testing.T) {
	const dim = 64
	c, err := NewTyped(2, dim, 8, tensor.Q8_0)
	if err != nil {
		t.Fatal(err)
	}
	want := make([][]float32, 3)
	if err := c.Reserve(3); err != nil {
		t.Fatal(err)
	}
	for pos := range want {
		want[pos] = make([]float32, dim)
		for i := range want[pos] {
			want[pos][i] = float32(math.Sin(float64(pos*dim+i))) * 2
		}
		c.Put(1, pos, want[pos], want[pos])
	}
	c.Commit(3)
	c.Truncate(2)
	if c.Len() != 2 {
		t.Fatalf("Len %d after truncating to 2", c.Len())
	}
	keys, vals := c.Keys(1, 2), c.Values(1, 2)
	if len(keys) != 2*dim || len(vals) != 2*dim {
		t.Fatalf("%d keys, %d values", len(keys), len(vals))
	}
	for i := range keys {
		if d := math.Abs(float64(keys[i] - want[i/dim][i%dim])); d > 2.0/127 || keys[i] != vals[i] {
			t.Fatalf("key %d: %g (value %g), put %g", i, keys[i], vals[i], want[i/dim][i%dim])
		}
	}
	if _, err := NewTyped(1, 48, 8, tensor.Q8_0); err == nil {
		t.Error("a Q8_0 cache of 48-wide vectors accepted")
	}
	if BytesPerPosition(2, dim, tensor.Q8_0) != 2*2*68 || BytesPerPosition(2, dim, tensor.F32) != 2*2*256 {
		t.Error("BytesPerPosition")
	}
}

// TestF16Cache: an F16 cache keeps each value rounded to fp16, gives the
// same through Keys/Values (widened) and Half (as stored), grows and
// truncates like the float cache, and takes any width.
func TestF16Cache(t *testing.T) {
	const dim = 20
	c, err := NewTyped(2, dim, 3000, tensor.F16)
	if err != nil {
		t.Fatal(err)
	}
	want := make([][]float32, 1500) // past the first allocation: it grows
	for pos := range want {
		if err := c.Reserve(1); err != nil {
			t.Fatal(err)
		}
		want[pos] = make([]float32, dim)
		for i := range want[pos] {
			want[pos][i] = float32(math.Sin(float64(pos*dim+i))) * 3
		}
		c.Put(0, pos, want[pos], want[pos])
		c.Commit(1)
	}
	c.Truncate(1400)
	keys, vals := c.Keys(0, 1400), c.Values(0, 1400)
	hk, hv, ok := c.Half(0, 1400)
	if !ok || len(hk) != 1400*dim || len(hv) != 1400*dim || len(keys) != 1400*dim {
		t.Fatalf("Half: %v, %d keys, %d values; Keys %d", ok, len(hk), len(hv), len(keys))
	}
	for i := range keys {
		w := tensor.HalfToFloat(tensor.FloatToHalf(want[i/dim][i%dim]))
		if keys[i] != w || vals[i] != w || tensor.HalfToFloat(hk[i]) != w || tensor.HalfToFloat(hv[i]) != w {
			t.Fatalf("[%d]: keys %g, values %g, half %g/%g; want %g", i, keys[i], vals[i],
				tensor.HalfToFloat(hk[i]), tensor.HalfToFloat(hv[i]), w)
		}
	}
	if BytesPerPosition(2, dim, tensor.F16) != 2*2*2*dim {
		t.Error("BytesPerPosition")
	}
	if _, _, ok := (&Cache{typ: tensor.F32}).Half(0, 0); ok {
		t.Error("an F32 cache answered Half")
	}
}

// TestParseType: the flag names of the storage types, in any case, and
// nothing else.
func TestParseType(t *testing.T) {
	for s, want := range map[string]tensor.Type{"f32": tensor.F32, "F16": tensor.F16, "q8_0": tensor.Q8_0} {
		if got, err := ParseType(s); err != nil || got != want || !Supports(got) {
			t.Errorf("ParseType(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"q4_0", "bf16", ""} {
		if _, err := ParseType(s); err == nil {
			t.Errorf("ParseType(%q) accepted", s)
		}
	}
	if Supports(tensor.Q4_0) {
		t.Error("Supports(Q4_0)")
	}
}
