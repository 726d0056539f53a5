package gguf

import "fmt"

// ValueType is the type tag of a metadata value in a GGUF file.
type ValueType uint32

// Metadata value types, with the numbering of the GGUF specification.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{
	"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
	"bool", "string", "array", "uint64", "int64", "float64",
}

func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("valuetype(%d)", uint32(t))
}

// fixedSize is the encoded size of a scalar of type t; 0 for string and
// array, whose size depends on their content.
func (t ValueType) fixedSize() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// minSize is the smallest possible encoding of one value of type t. It
// bounds counts read from the file before anything is allocated.
func (t ValueType) minSize() int {
	switch t {
	case TypeString:
		return 8 // the length prefix
	case TypeArray:
		return 12 // element type + count
	}
	return t.fixedSize()
}

func (t ValueType) valid() bool { return t <= TypeFloat64 }

// ggmlType describes how a tensor type lays out its elements: blockSize
// elements are stored in typeSize bytes.
type ggmlType struct {
	name      string
	blockSize int
	typeSize  int
}

// ggmlTypes is indexed by ggml's type id. Ids ggml retired (4, 5, 31-33)
// are left empty so files using them are rejected. Same numbering as
// internal/engine/tensor.Type, which this package does not import so the
// reader stays dependency-free.
var ggmlTypes = [...]ggmlType{
	0:  {"F32", 1, 4},
	1:  {"F16", 1, 2},
	2:  {"Q4_0", 32, 18},
	3:  {"Q4_1", 32, 20},
	6:  {"Q5_0", 32, 22},
	7:  {"Q5_1", 32, 24},
	8:  {"Q8_0", 32, 34},
	9:  {"Q8_1", 32, 36},
	10: {"Q2_K", 256, 84},
	11: {"Q3_K", 256, 110},
	12: {"Q4_K", 256, 144},
	13: {"Q5_K", 256, 176},
	14: {"Q6_K", 256, 210},
	15: {"Q8_K", 256, 292},
	16: {"IQ2_XXS", 256, 66},
	17: {"IQ2_XS", 256, 74},
	18: {"IQ3_XXS", 256, 98},
	19: {"IQ1_S", 256, 50},
	20: {"IQ4_NL", 32, 18},
	21: {"IQ3_S", 256, 110},
	22: {"IQ2_S", 256, 82},
	23: {"IQ4_XS", 256, 136},
	24: {"I8", 1, 1},
	25: {"I16", 1, 2},
	26: {"I32", 1, 4},
	27: {"I64", 1, 8},
	28: {"F64", 1, 8},
	29: {"IQ1_M", 256, 56},
	30: {"BF16", 1, 2},
	34: {"TQ1_0", 256, 54},
	35: {"TQ2_0", 256, 66},
	39: {"MXFP4", 32, 17},
}

func lookupType(t uint32) (ggmlType, bool) {
	if int(t) >= len(ggmlTypes) || ggmlTypes[t].blockSize == 0 {
		return ggmlType{}, false
	}
	return ggmlTypes[t], true
}

// TypeLayout reports ggml's storage layout for tensor type id t: blockSize
// elements take typeSize bytes. ok is false for ids this reader does not
// know.
func TypeLayout(t uint32) (blockSize, typeSize int, ok bool) {
	g, ok := lookupType(t)
	return g.blockSize, g.typeSize, ok
}

// TypeName is ggml's name of tensor type id t ("F32", "Q4_K", ...).
func TypeName(t uint32) string {
	if g, ok := lookupType(t); ok {
		return g.name
	}
	return fmt.Sprintf("type(%d)", t)
}
