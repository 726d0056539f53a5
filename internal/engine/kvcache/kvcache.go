// Package kvcache holds the attention keys and values of one sequence, per
// layer, in float32, float16 (half the memory, and half the bytes a decode
// step reads, as llama.cpp keeps them) or (about 3.8 times as many tokens
// in the same memory) Q8_0 blocks, so each new token attends to the past
// without recomputing it. Storage grows on demand up to a fixed capacity (the
// context window), so a model with a 128k-token window does not reserve
// gigabytes for a short chat.
package kvcache

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unsafe"

	"github.com/parley-chat/parley/internal/engine/tensor"
)

// Cache is the key/value store of one sequence. Position i of layer l holds
// the key and value vectors (Dim floats each, all KV heads side by side) of
// the sequence's i-th token. Put may run concurrently for distinct
// positions; nothing else may.
type Cache struct {
	layers, dim, capacity int
	n                     int // committed positions
	k, v                  [][]float32
	// F16 and Q8_0 storage: rowBytes per position, and one layer's keys
	// and values widened for Keys and Values.
	typ      tensor.Type
	rowBytes int
	kq, vq   [][]byte
	kf, vf   []float32
}

// New returns an empty float32 cache for layers layers of dim-wide K and V
// vectors, holding at most capacity positions.
func New(layers, dim, capacity int) (*Cache, error) {
	return NewTyped(layers, dim, capacity, tensor.F32)
}

// NewTyped is New with the storage type: F32, F16 (which Half reads as it
// is), or Q8_0 (dim a multiple of 32); Keys and Values widen the last two a
// layer at a time.
func NewTyped(layers, dim, capacity int, typ tensor.Type) (*Cache, error) {
	if layers <= 0 || dim <= 0 || capacity <= 0 {
		return nil, fmt.Errorf("kvcache: invalid shape %d layers x %d dims x %d positions", layers, dim, capacity)
	}
	c := &Cache{layers: layers, dim: dim, capacity: capacity, typ: typ}
	switch typ {
	case tensor.F32:
		c.k, c.v = make([][]float32, layers), make([][]float32, layers)
		return c, nil
	case tensor.F16:
	case tensor.Q8_0:
		if dim%tensor.Q8_0.BlockSize() != 0 {
			return nil, fmt.Errorf("kvcache: a Q8_0 cache needs key and value widths that are a multiple of %d, not %d", tensor.Q8_0.BlockSize(), dim)
		}
	default:
		return nil, fmt.Errorf("kvcache: %v caches are not supported (f32, f16 or q8_0)", typ)
	}
	c.rowBytes = typ.RowSize(dim)
	c.kq, c.vq = make([][]byte, layers), make([][]byte, layers)
	return c, nil
}

// DefaultType names the storage the model service and `parley bench` use
// unless told: fp16, as llama.cpp keeps its caches, half the memory of f32
// and of what a long chat's steps read.
const DefaultType = "f16"

// types are the storage types a cache supports, by the names flags use.
var types = map[string]tensor.Type{"f32": tensor.F32, "f16": tensor.F16, "q8_0": tensor.Q8_0}

// ParseType returns the storage type named s (f16, f32 or q8_0, any case).
func ParseType(s string) (tensor.Type, error) {
	if t, ok := types[strings.ToLower(s)]; ok {
		return t, nil
	}
	return 0, fmt.Errorf("%q is not a KV cache type (f16, f32 or q8_0)", s)
}

// Supports reports whether a cache can be stored as t.
func Supports(t tensor.Type) bool {
	for _, u := range types {
		if u == t {
			return true
		}
	}
	return false
}

// packed: F16 and Q8_0 caches store bytes, widened by Keys and Values.
func (c *Cache) packed() bool { return c.typ != tensor.F32 }

// BytesPerPosition is the memory one position takes in all layers, keys
// and values.
func BytesPerPosition(layers, dim int, typ tensor.Type) int64 {
	return int64(layers) * 2 * int64(typ.RowSize(dim))
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
	if c.packed() {
		for l := range c.kq {
			c.kq[l] = grow(c.kq[l], need*c.rowBytes, c.capacity*c.rowBytes)
			c.vq[l] = grow(c.vq[l], need*c.rowBytes, c.capacity*c.rowBytes)
		}
		return nil
	}
	for l := range c.k {
		c.k[l] = grow(c.k[l], need*c.dim, c.capacity*c.dim)
		c.v[l] = grow(c.v[l], need*c.dim, c.capacity*c.dim)
	}
	return nil
}

// grow returns s with length at least n, doubling the allocation so a long
// generation reallocates only log(n) times, never beyond limit.
func grow[T float32 | byte](s []T, n, limit int) []T {
	if n <= len(s) {
		return s
	}
	if n <= cap(s) {
		return s[:n]
	}
	c := min(max(2*cap(s), n, 1024), limit)
	out := make([]T, n, c)
	copy(out, s)
	return out
}

// Put stores the key and value of position pos (Len <= pos < Len+reserved)
// in layer.
func (c *Cache) Put(layer, pos int, k, v []float32) {
	if c.packed() {
		rb := c.rowBytes
		// The widths are whole blocks (NewTyped checked), so this cannot fail.
		_ = tensor.Quantize(c.typ, k[:c.dim], c.kq[layer][pos*rb:(pos+1)*rb])
		_ = tensor.Quantize(c.typ, v[:c.dim], c.vq[layer][pos*rb:(pos+1)*rb])
		return
	}
	copy(c.k[layer][pos*c.dim:(pos+1)*c.dim], k[:c.dim])
	copy(c.v[layer][pos*c.dim:(pos+1)*c.dim], v[:c.dim])
}

// Keys returns layer's keys for positions [0, n): n*Dim floats, position
// major. n may include reserved, not yet committed positions. For an F16 or
// Q8_0 cache the slice is scratch, valid until the next Keys.
func (c *Cache) Keys(layer, n int) []float32 {
	if c.packed() {
		c.kf = c.dequant(c.kf, c.kq[layer], n)
		return c.kf
	}
	return c.k[layer][:n*c.dim]
}

// Values is Keys for the values.
func (c *Cache) Values(layer, n int) []float32 {
	if c.packed() {
		c.vf = c.dequant(c.vf, c.vq[layer], n)
		return c.vf
	}
	return c.v[layer][:n*c.dim]
}

func (c *Cache) dequant(dst []float32, src []byte, n int) []float32 {
	if cap(dst) < n*c.dim {
		dst = make([]float32, n*c.dim, max(2*cap(dst), n*c.dim))
	}
	dst = dst[:n*c.dim]
	_ = tensor.Dequantize(c.typ, src[:n*c.rowBytes], dst)
	return dst
}

// Half returns layer's keys and values for positions [0, n) as they are
// stored, fp16 bits, Keys' layout, when the cache is F16 (ok false
// otherwise): a decode step reads them without widening a copy.
func (c *Cache) Half(layer, n int) (k, v []uint16, ok bool) {
	if c.typ != tensor.F16 || !littleEndian {
		return nil, nil, false
	}
	return halves(c.kq[layer][:n*c.rowBytes]), halves(c.vq[layer][:n*c.rowBytes]), true
}

// littleEndian: fp16 bytes (stored little-endian) are their values in
// memory, as on x86 and arm64; elsewhere Half reports false.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// halves views fp16 bytes as their values (Go allocates byte slices of
// this size aligned).
func halves(b []byte) []uint16 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), len(b)/2)
}

// Commit marks n reserved positions as filled.
func (c *Cache) Commit(n int) {
	if reserved := c.reserved(); c.n+n > reserved {
		panic(fmt.Sprintf("kvcache: commit of %d positions beyond the %d reserved", n, reserved-c.n))
	}
	c.n += n
}

func (c *Cache) reserved() int {
	if c.packed() {
		return len(c.kq[0]) / c.rowBytes
	}
	return len(c.k[0]) / c.dim
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
	for l := range c.kq {
		c.kq[l] = c.kq[l][:n*c.rowBytes]
		c.vq[l] = c.vq[l][:n*c.rowBytes]
	}
}
