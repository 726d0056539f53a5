package kvcache

import "testing"

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
