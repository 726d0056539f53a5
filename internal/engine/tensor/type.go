package tensor

import (
	"fmt"
	"strings"
)

// Type is a GGML tensor element type id, as stored in GGUF files.
type Type uint32

// GGML type ids. The numbering is fixed by the GGUF format; gaps are ids that
// ggml removed (repacked formats) and must not be reused.
const (
	F32     Type = 0
	F16     Type = 1
	Q4_0    Type = 2
	Q4_1    Type = 3
	Q5_0    Type = 6
	Q5_1    Type = 7
	Q8_0    Type = 8
	Q8_1    Type = 9
	Q2_K    Type = 10
	Q3_K    Type = 11
	Q4_K    Type = 12
	Q5_K    Type = 13
	Q6_K    Type = 14
	Q8_K    Type = 15
	IQ2_XXS Type = 16
	IQ2_XS  Type = 17
	IQ3_XXS Type = 18
	IQ1_S   Type = 19
	IQ4_NL  Type = 20
	IQ3_S   Type = 21
	IQ2_S   Type = 22
	IQ4_XS  Type = 23
	I8      Type = 24
	I16     Type = 25
	I32     Type = 26
	I64     Type = 27
	F64     Type = 28
	IQ1_M   Type = 29
	BF16    Type = 30
	TQ1_0   Type = 34
	TQ2_0   Type = 35
	MXFP4   Type = 39
)

// qk is the super-block size of the K-quant family.
const qk = 256

type typeInfo struct {
	name      string
	blockSize int
	typeSize  int
	supported bool // Dequantize and MatVec work for it
}

// typeTable is indexed by Type; zero entries are unknown ids.
var typeTable = [...]typeInfo{
	F32:     {"F32", 1, 4, true},
	F16:     {"F16", 1, 2, true},
	Q4_0:    {"Q4_0", 32, 18, true},
	Q4_1:    {"Q4_1", 32, 20, true},
	Q5_0:    {"Q5_0", 32, 22, true},
	Q5_1:    {"Q5_1", 32, 24, true},
	Q8_0:    {"Q8_0", 32, 34, true},
	Q8_1:    {"Q8_1", 32, 36, false},
	Q2_K:    {"Q2_K", qk, 84, false},
	Q3_K:    {"Q3_K", qk, 110, false},
	Q4_K:    {"Q4_K", qk, 144, true},
	Q5_K:    {"Q5_K", qk, 176, true},
	Q6_K:    {"Q6_K", qk, 210, true},
	Q8_K:    {"Q8_K", qk, 292, false},
	IQ2_XXS: {"IQ2_XXS", qk, 66, false},
	IQ2_XS:  {"IQ2_XS", qk, 74, false},
	IQ3_XXS: {"IQ3_XXS", qk, 98, false},
	IQ1_S:   {"IQ1_S", qk, 50, false},
	IQ4_NL:  {"IQ4_NL", 32, 18, false},
	IQ3_S:   {"IQ3_S", qk, 110, false},
	IQ2_S:   {"IQ2_S", qk, 82, false},
	IQ4_XS:  {"IQ4_XS", qk, 136, false},
	I8:      {"I8", 1, 1, false},
	I16:     {"I16", 1, 2, false},
	I32:     {"I32", 1, 4, false},
	I64:     {"I64", 1, 8, false},
	F64:     {"F64", 1, 8, false},
	IQ1_M:   {"IQ1_M", qk, 56, false},
	BF16:    {"BF16", 1, 2, true},
	TQ1_0:   {"TQ1_0", qk, 54, false},
	TQ2_0:   {"TQ2_0", qk, 66, false},
	MXFP4:   {"MXFP4", 32, 17, false},
}

func (t Type) info() typeInfo {
	if int(t) < len(typeTable) {
		return typeTable[t]
	}
	return typeInfo{}
}

// String returns the GGML name, e.g. "Q4_K", or "Type(N)" for unknown ids.
func (t Type) String() string {
	if n := t.info().name; n != "" {
		return n
	}
	return fmt.Sprintf("Type(%d)", uint32(t))
}

// Known reports whether t is a GGML type id this package knows the size of.
func (t Type) Known() bool { return t.info().name != "" }

// BlockSize is the number of elements per block (1 for plain float types);
// 0 for unknown ids.
func (t Type) BlockSize() int { return t.info().blockSize }

// TypeSize is the number of bytes per block; 0 for unknown ids.
func (t Type) TypeSize() int { return t.info().typeSize }

// RowSize is the number of bytes taken by n elements; n must be a multiple of
// BlockSize (it panics otherwise, as a caller bug).
func (t Type) RowSize(n int) int {
	bs := t.BlockSize()
	if bs == 0 {
		panic(fmt.Sprintf("tensor: RowSize of unknown type %v", t))
	}
	if n%bs != 0 {
		panic(fmt.Sprintf("tensor: %v row of %d elements is not a multiple of block size %d", t, n, bs))
	}
	return n / bs * t.TypeSize()
}

// Supported reports whether Dequantize, Matrix.Row and the MatVec kernels
// handle t.
func (t Type) Supported() bool { return t.info().supported }

// ParseType parses a GGML type name, case-insensitively ("q8_0", "Q4_K", "f16").
func ParseType(s string) (Type, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	for i, ti := range typeTable {
		if ti.name != "" && ti.name == u {
			return Type(i), nil
		}
	}
	return 0, fmt.Errorf("tensor: unknown type name %q", s)
}
