package model

import (
	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/tensor"
)

// Description is what llama.cpp's tools print about a model file.
type Description struct {
	// Name is the architecture and the weight type: "llama Q8_0".
	Name string
	// Size is the tensors' bytes, Params their elements.
	Size, Params int64
}

// Describe names the model in f as llama-bench does: the weight type is
// general.file_type, or else the type holding most bytes.
func Describe(f *gguf.File) Description {
	var d Description
	byType := map[tensor.Type]int64{}
	for _, t := range f.Tensors {
		n := int64(len(f.TensorData(t)))
		d.Size += n
		d.Params += int64(t.Elements())
		byType[tensor.Type(t.Type)] += n
	}
	name := ""
	if ft, ok := f.Uint("general.file_type"); ok {
		name = fileTypeNames[ft]
	}
	if name == "" {
		var best tensor.Type
		for t, n := range byType {
			if n > byType[best] || (n == byType[best] && t < best) {
				best = t
			}
		}
		name = best.String()
	}
	d.Name = f.Architecture() + " " + name
	return d
}

// fileTypeNames are llama.cpp's names of general.file_type values.
var fileTypeNames = map[uint64]string{
	0: "all F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
	10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
	16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 32: "BF16",
}
