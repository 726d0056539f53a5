// Package kvcache holds the attention keys and values of one sequence, per
// layer, in float32, so each new token attends to the past without
// recomputing it. Storage grows on demand up to a fixed capacity (the
// context window), so a model with a 128k-token window does not reserve
// gigabytes for a short chat.
package kvcache

import "fmt"

// Cache is the key/value store of one sequence. Position i of layer l holds
// the key and value vectors (Dim floats each, all KV heads side by side) of
// the sequence's i-th token. It is not safe for concurrent use.
type Cache struct {
	layers, dim, capacity int
	n                     int // committed positions
	k, v                  [][]float32
}

// New returns an empty cache for layers layers of dim-wide K and V vectors,
// holding at most capacity positions.
func New(layers, dim, capacity int) (*Cache, error) {
	if layers <= 0 || dim <= 0 || capacity <= 0 {
		return nil, fmt.Errorf("kvcache: invalid shape %d layers x %d dims x %d positions", layers, dim, capacity)
	}
	return &Cache{layers: layers, dim: dim, capacity: capacity, k: make([][]float32, layers), v: make([][]float32, layers)}, nil
}

// Len is the number of positions committed so far.
func (c *Cache) Len() int { return c.n }

// Cap is the maximum number of positions (the context window).
func (c *Cache) Cap() int { return c.capacity }

// Dim is the width of one key (or value) vector.
func (c *Cache) Dim() int { return c.dim }

// Reserve makes room for positions [Len, Len+n), failing if that exceeds
// the capacity. Call it before Put-ing a batch.
func (c *Cache) Reserve(n int) error {
	need := c.n + n
	if n < 0 || need > c.capacity {
		return fmt.Errorf("kvcache: %d positions do not fit: %d used of %d", n, c.n, c.capacity)
	}
	for l := range c.k {
		c.k[l] = grow(c.k[l], need*c.dim, c.capacity*c.dim)
		c.v[l] = grow(c.v[l], need*c.dim, c.capacity*c.dim)
	}
	return nil
}

// grow returns s with length at least n, doubling the allocation so a long
// generation reallocates only log(n) times, never beyond limit.
func grow(s []float32, n, limit int) []float32 {
	if n <= len(s) {
		return s
	}
	if n <= cap(s) {
		return s[:n]
	}
	c := min(max(2*cap(s), n, 1024), limit)
	out := make([]float32, n, c)
	copy(out, s)
	return out
}

// Put stores the key and value of position pos (Len <= pos < Len+reserved)
// in layer.
func (c *Cache) Put(layer, pos int, k, v []float32) {
	copy(c.k[layer][pos*c.dim:(pos+1)*c.dim], k[:c.dim])
	copy(c.v[layer][pos*c.dim:(pos+1)*c.dim], v[:c.dim])
}

// Keys returns layer's keys for positions [0, n): n*Dim floats, position
// major. n may include reserved, not yet committed positions.
func (c *Cache) Keys(layer, n int) []float32 { return c.k[layer][:n*c.dim] }

// Values is Keys for the values.
func (c *Cache) Values(layer, n int) []float32 { return c.v[layer][:n*c.dim] }

// Commit marks n reserved positions as filled.
func (c *Cache) Commit(n int) {
	if c.n+n > len(c.k[0])/c.dim {
		panic(fmt.Sprintf("kvcache: commit of %d positions beyond the %d reserved", n, len(c.k[0])/c.dim-c.n))
	}
	c.n += n
}

// Truncate forgets every position from n on, so a sequence can be rewound
// to a shared prefix and continued differently.
func (c *Cache) Truncate(n int) {
	if n < 0 || n > c.n {
		panic(fmt.Sprintf("kvcache: truncate to %d of %d positions", n, c.n))
	}
	c.n = n
	for l := range c.k {
		c.k[l] = c.k[l][:n*c.dim]
		c.v[l] = c.v[l][:n*c.dim]
	}
}
