package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// KV is one metadata entry for Write. Value is a Go scalar (uint8, int8,
// uint16, int16, uint32, int32, float32, bool, string, uint64, int64,
// float64), a slice of one of those (an array), or []any whose elements are
// arrays (an array of arrays). Plain int is not accepted: GGUF readers are
// strict about widths, so the caller must choose one.
type KV struct {
	Key   string
	Value any
}

// TensorData is one tensor for Write. Data must hold exactly the bytes of a
// tensor of Type (a ggml type id) with the given Dims.
type TensorData struct {
	Name string
	Dims []uint64
	Type uint32
	Data []byte
}

// Write encodes a GGUF version 3 file: meta in the given order, then the
// tensor directory, then the tensor data, each tensor aligned to (and the
// file padded to) general.alignment (32 unless meta sets it).
func Write(w io.Writer, meta []KV, tensors []TensorData) error {
	align := uint64(defaultAlignment)
	seen := map[string]bool{}
	for _, kv := range meta {
		if seen[kv.Key] {
			return fmt.Errorf("gguf: write: duplicate key %q", kv.Key)
		}
		seen[kv.Key] = true
		if kv.Key == "general.alignment" {
			a, ok := kv.Value.(uint32)
			if !ok || a == 0 || a&(a-1) != 0 {
				return fmt.Errorf("gguf: write: general.alignment must be a uint32 power of two, got %T %v", kv.Value, kv.Value)
			}
			align = uint64(a)
		}
	}
	offsets := make([]uint64, len(tensors))
	var off uint64
	names := map[string]bool{}
	for i, t := range tensors {
		if names[t.Name] {
			return fmt.Errorf("gguf: write: duplicate tensor %q", t.Name)
		}
		names[t.Name] = true
		if len(t.Dims) == 0 || len(t.Dims) > maxDims {
			return fmt.Errorf("gguf: write: tensor %q has %d dimensions", t.Name, len(t.Dims))
		}
		size, err := tensorSize(t.Type, t.Dims)
		if err != nil {
			return fmt.Errorf("gguf: write: tensor %q: %w", t.Name, err)
		}
		if uint64(len(t.Data)) != size {
			return fmt.Errorf("gguf: write: tensor %q has %d bytes of data, its shape needs %d", t.Name, len(t.Data), size)
		}
		off = alignUp(off, align)
		offsets[i] = off
		off += size
	}

	e := &encoder{w: bufio.NewWriterSize(w, 1<<16)}
	e.u32(magic)
	e.u32(3)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(meta)))
	for _, kv := range meta {
		e.str(kv.Key)
		t, err := typeOf(kv.Value)
		if err != nil {
			return fmt.Errorf("gguf: write: key %q: %w", kv.Key, err)
		}
		e.u32(uint32(t))
		if err := e.value(kv.Value, 0); err != nil {
			return fmt.Errorf("gguf: write: key %q: %w", kv.Key, err)
		}
	}
	for i, t := range tensors {
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(t.Type)
		e.u64(offsets[i])
	}
	e.pad(align)
	start := e.n
	for i, t := range tensors {
		e.zeros(start + offsets[i] - e.n)
		e.write(t.Data)
	}
	// The last tensor is padded too, as llama.cpp's writer does: its
	// reader loads the sum of the padded sizes.
	e.pad(align)
	if e.err != nil {
		return fmt.Errorf("gguf: write: %w", e.err)
	}
	if err := e.w.Flush(); err != nil {
		return fmt.Errorf("gguf: write: %w", err)
	}
	return nil
}

// typeOf maps a Go value to its GGUF value type.
func typeOf(v any) (ValueType, error) {
	switch v.(type) {
	case uint8:
		return TypeUint8, nil
	case int8:
		return TypeInt8, nil
	case uint16:
		return TypeUint16, nil
	case int16:
		return TypeInt16, nil
	case uint32:
		return TypeUint32, nil
	case int32:
		return TypeInt32, nil
	case float32:
		return TypeFloat32, nil
	case bool:
		return TypeBool, nil
	case string:
		return TypeString, nil
	case uint64:
		return TypeUint64, nil
	case int64:
		return TypeInt64, nil
	case float64:
		return TypeFloat64, nil
	case []uint8, []int8, []uint16, []int16, []uint32, []int32, []float32, []bool,
		[]string, []uint64, []int64, []float64, []any:
		return TypeArray, nil
	}
	return 0, fmt.Errorf("unsupported value type %T", v)
}

type encoder struct {
	w   *bufio.Writer
	n   uint64
	err error
	buf [8]byte
}

func (e *encoder) write(b []byte) {
	if e.err != nil {
		return
	}
	var n int
	n, e.err = e.w.Write(b)
	e.n += uint64(n)
}

func (e *encoder) u8(v uint8) { e.buf[0] = v; e.write(e.buf[:1]) }
func (e *encoder) u16(v uint16) {
	binary.LittleEndian.PutUint16(e.buf[:], v)
	e.write(e.buf[:2])
}
func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:], v)
	e.write(e.buf[:4])
}
func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:], v)
	e.write(e.buf[:8])
}
func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	if e.err == nil { // WriteString: no copy of s (a vocabulary has 100k strings)
		var n int
		n, e.err = e.w.WriteString(s)
		e.n += uint64(n)
	}
}

func (e *encoder) zeros(n uint64) {
	var z [64]byte
	for n > 0 {
		k := min(n, uint64(len(z)))
		e.write(z[:k])
		n -= k
	}
}

func (e *encoder) pad(align uint64) { e.zeros(alignUp(e.n, align) - e.n) }

func (e *encoder) value(v any, depth int) error {
	switch x := v.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		if x {
			e.u8(1)
		} else {
			e.u8(0)
		}
	case string:
		e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	case []any:
		if depth >= maxNesting {
			return fmt.Errorf("arrays nested deeper than %d", maxNesting)
		}
		e.u32(uint32(TypeArray))
		e.u64(uint64(len(x)))
		for i, inner := range x {
			if t, err := typeOf(inner); err != nil || t != TypeArray {
				return fmt.Errorf("element %d of an array of arrays is %T", i, inner)
			}
			if err := e.value(inner, depth+1); err != nil {
				return err
			}
		}
	default:
		return e.typedArray(v)
	}
	return nil
}

func (e *encoder) typedArray(v any) error {
	switch x := v.(type) {
	case []uint8:
		writeArray(e, TypeUint8, x)
	case []int8:
		writeArray(e, TypeInt8, x)
	case []uint16:
		writeArray(e, TypeUint16, x)
	case []int16:
		writeArray(e, TypeInt16, x)
	case []uint32:
		writeArray(e, TypeUint32, x)
	case []int32:
		writeArray(e, TypeInt32, x)
	case []float32:
		writeArray(e, TypeFloat32, x)
	case []bool:
		writeArray(e, TypeBool, x)
	case []string:
		writeArray(e, TypeString, x)
	case []uint64:
		writeArray(e, TypeUint64, x)
	case []int64:
		writeArray(e, TypeInt64, x)
	case []float64:
		writeArray(e, TypeFloat64, x)
	default:
		return fmt.Errorf("unsupported value type %T", v)
	}
	return nil
}

func writeArray[T any](e *encoder, t ValueType, xs []T) {
	e.u32(uint32(t))
	e.u64(uint64(len(xs)))
	for _, x := range xs {
		_ = e.value(x, 0) // scalars cannot fail
	}
}
