package gguf

import "math"

// Value returns the decoded value of key: a Go scalar of the stored type
// (uint8 ... float64, bool, string), a typed slice for an array
// ([]int32, []string, ...), or []any of inner arrays for nested arrays.
func (f *File) Value(key string) (any, bool) {
	v, ok := f.values[key]
	return v, ok
}

// String returns a string value.
func (f *File) String(key string) (string, bool) {
	s, ok := f.values[key].(string)
	return s, ok
}

// Architecture is general.architecture ("llama", "qwen2", ...), or "".
func (f *File) Architecture() string {
	s, _ := f.String("general.architecture")
	return s
}

// Uint returns an integer value of any width or signedness, provided it is
// not negative.
func (f *File) Uint(key string) (uint64, bool) {
	switch v := f.values[key].(type) {
	case uint8:
		return uint64(v), true
	case uint16:
		return uint64(v), true
	case uint32:
		return uint64(v), true
	case uint64:
		return v, true
	}
	if i, ok := f.Int(key); ok && i >= 0 {
		return uint64(i), true
	}
	return 0, false
}

// Int returns an integer value of any width or signedness that fits in an
// int64.
func (f *File) Int(key string) (int64, bool) {
	switch v := f.values[key].(type) {
	case int8:
		return int64(v), true
	case int16:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case uint8:
		return int64(v), true
	case uint16:
		return int64(v), true
	case uint32:
		return int64(v), true
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v), true
		}
	}
	return 0, false
}

// Float returns a float32 or float64 value; integer values are converted
// too, since writers are not consistent about the type of e.g. rope bases.
func (f *File) Float(key string) (float64, bool) {
	switch v := f.values[key].(type) {
	case float32:
		return float64(v), true
	case float64:
		return v, true
	}
	if i, ok := f.Int(key); ok {
		return float64(i), true
	}
	return 0, false
}

// Bool returns a bool value.
func (f *File) Bool(key string) (bool, bool) {
	b, ok := f.values[key].(bool)
	return b, ok
}

// Strings returns an array of strings. The slice is shared; do not modify it.
func (f *File) Strings(key string) ([]string, bool) {
	s, ok := f.values[key].([]string)
	return s, ok
}

// Float32s returns an array of float32 (a float64 array is converted). The
// slice may be shared; do not modify it.
func (f *File) Float32s(key string) ([]float32, bool) {
	switch v := f.values[key].(type) {
	case []float32:
		return v, true
	case []float64:
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out, true
	}
	return nil, false
}

// Int32s returns an array of integers as int32; other integer arrays are
// converted when every element fits. The slice may be shared; do not
// modify it.
func (f *File) Int32s(key string) ([]int32, bool) {
	switch v := f.values[key].(type) {
	case []int32:
		return v, true
	case []int8:
		return convertInts(v)
	case []uint8:
		return convertInts(v)
	case []int16:
		return convertInts(v)
	case []uint16:
		return convertInts(v)
	case []uint32:
		return convertInts(v)
	case []int64:
		return convertInts(v)
	case []uint64:
		return convertInts(v)
	}
	return nil, false
}

func convertInts[T int8 | uint8 | int16 | uint16 | uint32 | int64 | uint64](v []T) ([]int32, bool) {
	out := make([]int32, len(v))
	for i, x := range v {
		if int64(x) < math.MinInt32 || int64(x) > math.MaxInt32 || (x > 0 && uint64(x) > math.MaxInt32) {
			return nil, false
		}
		out[i] = int32(x)
	}
	return out, true
}
