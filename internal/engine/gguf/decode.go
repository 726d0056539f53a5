package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrTruncated reports a file that ends before its header says it should.
var ErrTruncated = errors.New("truncated GGUF file")

// maxNesting bounds arrays of arrays so a hostile file cannot recurse the
// decoder into a stack overflow.
const maxNesting = 8

// reader decodes little-endian GGUF primitives from a byte slice. Every
// read checks the remaining length first; a count read from the file is
// compared with the bytes left before anything is allocated for it.
type reader struct {
	data []byte
	off  int
}

func (r *reader) remaining() int { return len(r.data) - r.off }

func (r *reader) need(n int) error {
	if n < 0 || n > r.remaining() {
		return fmt.Errorf("%w: need %d bytes at offset %d, %d left", ErrTruncated, n, r.off, r.remaining())
	}
	return nil
}

func (r *reader) bytes(n int) ([]byte, error) {
	if err := r.need(n); err != nil {
		return nil, err
	}
	b := r.data[r.off : r.off+n]
	r.off += n
	return b, nil
}

func (r *reader) u8() (uint8, error) {
	b, err := r.bytes(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (r *reader) u16() (uint16, error) {
	b, err := r.bytes(2)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b), nil
}

func (r *reader) u32() (uint32, error) {
	b, err := r.bytes(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (r *reader) u64() (uint64, error) {
	b, err := r.bytes(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// count reads a uint64 element count and checks that count elements of at
// least minSize bytes each can fit in what is left of the file.
func (r *reader) count(what string, minSize int) (int, error) {
	n, err := r.u64()
	if err != nil {
		return 0, fmt.Errorf("%s count: %w", what, err)
	}
	if minSize < 1 {
		minSize = 1
	}
	if n > uint64(r.remaining()/minSize) {
		return 0, fmt.Errorf("%w: %s count %d exceeds the %d bytes left", ErrCorrupt, what, n, r.remaining())
	}
	return int(n), nil
}

func (r *reader) str() (string, error) {
	n, err := r.count("string length", 1)
	if err != nil {
		return "", err
	}
	b, err := r.bytes(n)
	if err != nil {
		return "", err
	}
	return string(b), nil // copies, so values outlive the mapping
}

func (r *reader) value(t ValueType, depth int) (any, error) {
	switch t {
	case TypeUint8:
		return r.u8()
	case TypeInt8:
		v, err := r.u8()
		return int8(v), err
	case TypeUint16:
		return r.u16()
	case TypeInt16:
		v, err := r.u16()
		return int16(v), err
	case TypeUint32:
		return r.u32()
	case TypeInt32:
		v, err := r.u32()
		return int32(v), err
	case TypeFloat32:
		v, err := r.u32()
		return math.Float32frombits(v), err
	case TypeBool:
		v, err := r.u8()
		if err != nil {
			return nil, err
		}
		if v > 1 {
			return nil, fmt.Errorf("%w: bool value %d", ErrCorrupt, v)
		}
		return v == 1, nil
	case TypeString:
		return r.str()
	case TypeArray:
		return r.array(depth + 1)
	case TypeUint64:
		return r.u64()
	case TypeInt64:
		v, err := r.u64()
		return int64(v), err
	case TypeFloat64:
		v, err := r.u64()
		return math.Float64frombits(v), err
	}
	return nil, fmt.Errorf("%w: unknown value type %d", ErrCorrupt, uint32(t))
}

// array decodes an array into a typed slice ([]int32, []string, ...), or
// into []any holding the inner arrays for an array of arrays.
func (r *reader) array(depth int) (any, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("%w: arrays nested deeper than %d", ErrCorrupt, maxNesting)
	}
	et, err := r.u32()
	if err != nil {
		return nil, err
	}
	t := ValueType(et)
	if !t.valid() {
		return nil, fmt.Errorf("%w: unknown array element type %d", ErrCorrupt, et)
	}
	n, err := r.count("array "+t.String(), t.minSize())
	if err != nil {
		return nil, err
	}
	if fs := t.fixedSize(); fs > 0 {
		b, _ := r.bytes(n * fs) // count() already checked the length
		return decodeFixed(t, b, n), nil
	}
	switch t {
	case TypeString:
		out := make([]string, n)
		for i := range out {
			if out[i], err = r.str(); err != nil {
				return nil, fmt.Errorf("array element %d: %w", i, err)
			}
		}
		return out, nil
	default: // TypeArray
		out := make([]any, n)
		for i := range out {
			if out[i], err = r.array(depth); err != nil {
				return nil, fmt.Errorf("array element %d: %w", i, err)
			}
		}
		return out, nil
	}
}

func decodeFixed(t ValueType, b []byte, n int) any {
	le := binary.LittleEndian
	switch t {
	case TypeUint8:
		return append([]uint8(nil), b...)
	case TypeInt8:
		out := make([]int8, n)
		for i := range out {
			out[i] = int8(b[i])
		}
		return out
	case TypeBool:
		out := make([]bool, n)
		for i := range out {
			out[i] = b[i] != 0
		}
		return out
	case TypeUint16:
		out := make([]uint16, n)
		for i := range out {
			out[i] = le.Uint16(b[2*i:])
		}
		return out
	case TypeInt16:
		out := make([]int16, n)
		for i := range out {
			out[i] = int16(le.Uint16(b[2*i:]))
		}
		return out
	case TypeUint32:
		out := make([]uint32, n)
		for i := range out {
			out[i] = le.Uint32(b[4*i:])
		}
		return out
	case TypeInt32:
		out := make([]int32, n)
		for i := range out {
			out[i] = int32(le.Uint32(b[4*i:]))
		}
		return out
	case TypeFloat32:
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
		return out
	case TypeUint64:
		out := make([]uint64, n)
		for i := range out {
			out[i] = le.Uint64(b[8*i:])
		}
		return out
	case TypeInt64:
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(le.Uint64(b[8*i:]))
		}
		return out
	default: // TypeFloat64
		out := make([]float64, n)
		for i := range out {
			out[i] = math.Float64frombits(le.Uint64(b[8*i:]))
		}
		return out
	}
}
