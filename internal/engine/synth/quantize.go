package synth

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/tensor"
)

// quantType is the type llama-quantize (llama_tensor_get_type, no
// importance matrix, default options) gives the 2-D weight name of cols
// columns when the file's main type is main, for the types Types lists:
//   - the output projection (token_embd when there is no output.weight) is
//     Q8_0 if its rows do not split into main's blocks, else Q6_K unless
//     main is Q8_0;
//   - Q4_K_M gives attn_v and ffn_down of some layers Q6_K: the first and
//     last eighth, and every third in between;
//   - a K-quant whose rows do not split into 256-blocks falls back
//     (Q4_K→Q5_0, Q5_K→Q5_1, Q6_K→Q8_0), and a type whose blocks still do
//     not fit becomes F16 (llama-quantize stops there; we write F16).
func quantType(main tensor.Type, name string, cols, layers int, hasOutput bool) tensor.Type {
	if main.BlockSize() == 1 {
		return main
	}
	t := main
	layer, base := splitLayer(name)
	switch {
	case name == "output.weight" || (!hasOutput && name == "token_embd.weight"):
		if cols%main.BlockSize() != 0 {
			t = tensor.Q8_0
		} else if main != tensor.Q8_0 {
			t = tensor.Q6_K
		}
	case main == tensor.Q4_K && (base == "attn_v.weight" || base == "ffn_down.weight"):
		if layer < layers/8 || layer >= 7*layers/8 || (layer-layers/8)%3 == 2 {
			t = tensor.Q6_K
		}
	}
	if cols%t.BlockSize() != 0 {
		switch t {
		case tensor.Q4_K:
			t = tensor.Q5_0
		case tensor.Q5_K:
			t = tensor.Q5_1
		case tensor.Q6_K:
			t = tensor.Q8_0
		}
	}
	if cols%t.BlockSize() != 0 {
		t = tensor.F16
	}
	return t
}

// splitLayer splits "blk.N.rest" into N and rest; -1 and name otherwise.
func splitLayer(name string) (int, string) {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return -1, name
	}
	num, base, ok := strings.Cut(rest, ".")
	n, err := strconv.Atoi(num)
	if !ok || err != nil {
		return -1, name
	}
	return n, base
}

// quantizable is llama-quantize's test for a tensor it converts: a weight
// of two or more dimensions that is not a norm.
func quantizable(ti gguf.TensorInfo) bool {
	return strings.HasSuffix(ti.Name, "weight") && len(ti.Dims) >= 2 && ti.Dims[1] > 1 &&
		!strings.Contains(ti.Name, "_norm.weight")
}

// Quantize converts the model in f (float weights) to main type t the way
// llama-quantize does without an importance matrix: each tensor's type by
// its rules (see quantType), the data by ggml's reference quantizers
// (tensor.Quantize, byte-identical), the metadata copied with
// general.file_type updated. Other tensors are copied unchanged.
func Quantize(f *gguf.File, t tensor.Type) ([]gguf.KV, []gguf.TensorData, error) {
	ft, ok := ftype[t]
	if !ok {
		return nil, nil, fmt.Errorf("synth: type %v not supported (use one of %v)", t, Types)
	}
	layers, _ := f.Uint(f.Architecture() + ".block_count")
	_, hasOutput := f.Tensor("output.weight")
	var meta []gguf.KV
	for _, k := range f.Keys() {
		v, _ := f.Value(k)
		switch k {
		case "general.file_type":
			v = ft
		case "general.quantization_version":
			v = uint32(2)
		}
		meta = append(meta, gguf.KV{Key: k, Value: v})
	}
	var ts []gguf.TensorData
	for _, ti := range f.Tensors {
		src := tensor.Type(ti.Type)
		td := gguf.TensorData{Name: ti.Name, Dims: ti.Dims, Type: ti.Type, Data: f.TensorData(ti)}
		if quantizable(ti) {
			cols := int(ti.Dims[0])
			if dst := quantType(t, ti.Name, cols, int(layers), hasOutput); dst != src {
				x := make([]float32, ti.Elements())
				if err := tensor.Dequantize(src, td.Data, x); err != nil {
					return nil, nil, fmt.Errorf("synth: %s: %w", ti.Name, err)
				}
				td.Type, td.Data = uint32(dst), make([]byte, len(x)/cols*dst.RowSize(cols))
				if err := tensor.Quantize(dst, x, td.Data); err != nil {
					return nil, nil, fmt.Errorf("synth: %s as %v: %w", ti.Name, dst, err)
				}
			}
		}
		ts = append(ts, td)
	}
	return meta, ts, nil
}
