// Package synth writes random-weight GGUF models of real architectures'
// shapes. Write is for measuring speed: the same file can be run by
// Parley's engine and by llama.cpp (llama-bench), so the comparison is like
// for like. Its weights follow how the reference models were made (normal,
// std 0.02; norms 1.0) and the per-tensor types follow llama-quantize's
// choices, so a file's size and speed match what llama.cpp itself would
// produce. WriteNet is for the engine's tests: any architecture it runs
// (llama, qwen2, qwen3), one weight type, activations kept at unit scale.
package synth

import (
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/tensor"
)

// Shape is a llama-architecture network's dimensions.
type Shape struct {
	Name                              string
	Embd, Layers, Heads, HeadsKV, FFN int
	Vocab, ContextLength              int
	RoPEBase                          float32
	RMSEps                            float32
	// Tied omits output.weight: the output projection reuses token_embd.
	Tied bool
}

// shapes are the named shapes; see Shapes.
var shapes = []Shape{
	{Name: "smollm2-135m", Embd: 576, Layers: 30, Heads: 9, HeadsKV: 3, FFN: 1536, Vocab: 49152,
		ContextLength: 8192, RoPEBase: 100000, RMSEps: 1e-5, Tied: true},
	{Name: "smollm2-360m", Embd: 960, Layers: 32, Heads: 15, HeadsKV: 5, FFN: 2560, Vocab: 49152,
		ContextLength: 8192, RoPEBase: 100000, RMSEps: 1e-5, Tied: true},
	// stories260K's dimensions (karpathy/tinyllamas), for fast tests.
	{Name: "stories260k", Embd: 64, Layers: 5, Heads: 8, HeadsKV: 4, FFN: 172, Vocab: 512,
		ContextLength: 2048, RoPEBase: 10000, RMSEps: 1e-5},
}

// Shapes lists the named shapes.
func Shapes() []Shape { return append([]Shape(nil), shapes...) }

// LookupShape finds a named shape (case-insensitive).
func LookupShape(name string) (Shape, error) {
	var names []string
	for _, s := range shapes {
		if strings.EqualFold(s.Name, name) {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return Shape{}, fmt.Errorf("synth: unknown shape %q (known: %s)", name, strings.Join(names, ", "))
}

// Types are the element types a synthetic model can be written in. Q4_K
// means llama-quantize's Q4_K_M mix.
var Types = []tensor.Type{tensor.F32, tensor.F16, tensor.Q8_0, tensor.Q4_0, tensor.Q4_K}

// Options say what to write.
type Options struct {
	Shape Shape
	// Type is the main type of the 2-D weights (llama-quantize's ftype).
	Type tensor.Type
	Seed uint64
	// Std is the weights' standard deviation; 0 means 0.02.
	Std float64
}

// ftype is llama.cpp's general.file_type for a main type.
var ftype = map[tensor.Type]uint32{
	tensor.F32: 0, tensor.F16: 1, tensor.Q4_0: 2, tensor.Q8_0: 7, tensor.Q4_K: 15, // Q4_K_M
}

// tensorType is the type llama-quantize gives a 2-D weight: the output
// projection (token_embd when tied) of a 4-bit model is Q6_K, and any
// K-quant whose rows do not split into 256-blocks falls back (Q4_K→Q5_0,
// Q6_K→Q8_0), then anything not splitting into its blocks goes to F16.
func tensorType(main tensor.Type, output bool, cols int) tensor.Type {
	t := main
	if output && (main == tensor.Q4_0 || main == tensor.Q4_K) {
		t = tensor.Q6_K
	}
	if cols%t.BlockSize() != 0 {
		switch t {
		case tensor.Q4_K:
			t = tensor.Q5_0
		case tensor.Q6_K:
			t = tensor.Q8_0
		}
	}
	if cols%t.BlockSize() != 0 {
		t = tensor.F16
	}
	return t
}

// layerType is the main type of layer i's tensor: Q4_K_M gives
// attn_v and ffn_down of some layers (the first and last eighth, every
// third in between) Q6_K, as llama-quantize does.
func layerType(main tensor.Type, name string, i, layers int) tensor.Type {
	if main == tensor.Q4_K && (name == "attn_v.weight" || name == "ffn_down.weight") {
		if i < layers/8 || i >= 7*layers/8 || (i-layers/8)%3 == 2 {
			return tensor.Q6_K
		}
	}
	return main
}

// Write writes the model described by o to w as GGUF.
func Write(w io.Writer, o Options) error {
	s := o.Shape
	if s.Heads == 0 || s.HeadsKV == 0 || s.Embd%s.Heads != 0 || s.Heads%s.HeadsKV != 0 {
		return fmt.Errorf("synth: %d heads (%d KV) do not divide %d dims", s.Heads, s.HeadsKV, s.Embd)
	}
	ft, ok := ftype[o.Type]
	if !ok {
		return fmt.Errorf("synth: type %v not supported (use one of %v)", o.Type, Types)
	}
	std := o.Std
	if std == 0 {
		std = 0.02
	}
	headDim := s.Embd / s.Heads
	meta := []gguf.KV{
		{Key: "general.architecture", Value: "llama"},
		{Key: "general.name", Value: "synthetic " + s.Name + " (random weights)"},
		{Key: "general.file_type", Value: ft},
		{Key: "llama.context_length", Value: uint32(s.ContextLength)},
		{Key: "llama.embedding_length", Value: uint32(s.Embd)},
		{Key: "llama.block_count", Value: uint32(s.Layers)},
		{Key: "llama.feed_forward_length", Value: uint32(s.FFN)},
		{Key: "llama.attention.head_count", Value: uint32(s.Heads)},
		{Key: "llama.attention.head_count_kv", Value: uint32(s.HeadsKV)},
		{Key: "llama.attention.layer_norm_rms_epsilon", Value: s.RMSEps},
		{Key: "llama.rope.dimension_count", Value: uint32(headDim)},
		{Key: "llama.rope.freq_base", Value: s.RoPEBase},
		{Key: "llama.vocab_size", Value: uint32(s.Vocab)},
	}
	voc, err := Vocab(s.Vocab)
	if err != nil {
		return err
	}
	meta = append(meta, voc...)

	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	var ts []gguf.TensorData
	matrix := func(name string, main tensor.Type, rows, cols int, output bool) error {
		x := make([]float32, rows*cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * std)
		}
		t := tensorType(main, output, cols)
		data := make([]byte, rows*t.RowSize(cols))
		if err := tensor.Quantize(t, x, data); err != nil {
			return fmt.Errorf("synth: %s as %v: %w", name, t, err)
		}
		ts = append(ts, gguf.TensorData{Name: name, Dims: []uint64{uint64(cols), uint64(rows)}, Type: uint32(t), Data: data})
		return nil
	}
	ones := func(name string, n int) {
		x := make([]float32, n)
		for i := range x {
			x[i] = 1
		}
		data := make([]byte, 4*n)
		tensor.Quantize(tensor.F32, x, data)
		ts = append(ts, gguf.TensorData{Name: name, Dims: []uint64{uint64(n)}, Type: uint32(tensor.F32), Data: data})
	}
	qDim, kvDim := s.Heads*headDim, s.HeadsKV*headDim
	if err := matrix("token_embd.weight", o.Type, s.Vocab, s.Embd, s.Tied); err != nil {
		return err
	}
	ones("output_norm.weight", s.Embd)
	if !s.Tied {
		if err := matrix("output.weight", o.Type, s.Vocab, s.Embd, true); err != nil {
			return err
		}
	}
	for i := range s.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		ones(p+"attn_norm.weight", s.Embd)
		ones(p+"ffn_norm.weight", s.Embd)
		for _, m := range []struct {
			name       string
			rows, cols int
		}{
			{"attn_q.weight", qDim, s.Embd}, {"attn_k.weight", kvDim, s.Embd}, {"attn_v.weight", kvDim, s.Embd},
			{"attn_output.weight", s.Embd, qDim},
			{"ffn_gate.weight", s.FFN, s.Embd}, {"ffn_up.weight", s.FFN, s.Embd}, {"ffn_down.weight", s.Embd, s.FFN},
		} {
			if err := matrix(p+m.name, layerType(o.Type, m.name, i, s.Layers), m.rows, m.cols, false); err != nil {
				return err
			}
		}
	}
	return gguf.Write(w, meta, ts)
}

// special are SmolLM2's leading control tokens (BOS <|im_start|>, EOS
// <|im_end|>).
var special = []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}

// Vocab returns the tokenizer.* metadata of a byte-level BPE vocabulary of
// n tokens in the style of SmolLM2's (pre-tokenizer "smollm"): control
// tokens, the 256 byte symbols, then merges of letters (with or without a
// leading space) into ever longer pieces. The merges are valid (both sides
// are tokens), so any text tokenizes, in Parley and in llama.cpp.
func Vocab(n int) ([]gguf.KV, error) {
	if n < len(special)+256+1 {
		return nil, fmt.Errorf("synth: a vocabulary needs at least %d tokens, got %d", len(special)+257, n)
	}
	tokens := append([]string(nil), special...)
	types := make([]int32, 0, n)
	for range special {
		types = append(types, 3) // control
	}
	byteSym := byteSymbols()
	for b := range 256 {
		tokens = append(tokens, byteSym[b])
		types = append(types, 1)
	}
	letters := make([]string, 26)
	for i := range letters {
		letters[i] = string(rune('a' + i))
	}
	space := byteSym[' ']
	var merges []string
	level := append([]string{space}, letters...)
	for len(tokens) < n {
		var next []string
		for _, left := range level {
			for _, c := range letters {
				if len(tokens) == n {
					break
				}
				tokens = append(tokens, left+c)
				types = append(types, 1)
				merges = append(merges, left+" "+c)
				next = append(next, left+c)
			}
		}
		level = next
	}
	return []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: "gpt2"},
		{Key: "tokenizer.ggml.pre", Value: "smollm"},
		{Key: "tokenizer.ggml.tokens", Value: tokens},
		{Key: "tokenizer.ggml.token_type", Value: types},
		{Key: "tokenizer.ggml.merges", Value: merges},
		{Key: "tokenizer.ggml.bos_token_id", Value: uint32(1)},
		{Key: "tokenizer.ggml.eos_token_id", Value: uint32(2)},
		{Key: "tokenizer.ggml.unknown_token_id", Value: uint32(0)},
		{Key: "tokenizer.ggml.padding_token_id", Value: uint32(2)},
		{Key: "tokenizer.ggml.add_bos_token", Value: false},
	}, nil
}

// byteSymbols is GPT-2's byte-to-unicode table: printable bytes stand for
// themselves, the rest are shifted to code points from 256 up.
func byteSymbols() [256]string {
	var printable []int
	for b := '!'; b <= '~'; b++ {
		printable = append(printable, int(b))
	}
	for b := 0xA1; b <= 0xAC; b++ {
		printable = append(printable, b)
	}
	for b := 0xAE; b <= 0xFF; b++ {
		printable = append(printable, b)
	}
	sort.Ints(printable)
	var out [256]string
	is := make(map[int]bool, len(printable))
	for _, b := range printable {
		is[b] = true
		out[b] = string(rune(b))
	}
	next := 256
	for b := range 256 {
		if !is[b] {
			out[b] = string(rune(next))
			next++
		}
	}
	return out
}

// Size is the size in bytes of the tensor data Write produces for o,
// without writing it: for a quick look before a long write.
func Size(o Options) int64 {
	s := o.Shape
	headDim := s.Embd / max(s.Heads, 1)
	qDim, kvDim := s.Heads*headDim, s.HeadsKV*headDim
	mat := func(main tensor.Type, rows, cols int, output bool) int64 {
		return int64(rows) * int64(tensorType(main, output, cols).RowSize(cols))
	}
	n := mat(o.Type, s.Vocab, s.Embd, s.Tied) + 4*int64(s.Embd)
	if !s.Tied {
		n += mat(o.Type, s.Vocab, s.Embd, true)
	}
	for i := range s.Layers {
		lt := func(name string) tensor.Type { return layerType(o.Type, name, i, s.Layers) }
		n += mat(o.Type, qDim, s.Embd, false) + mat(o.Type, kvDim, s.Embd, false) + mat(lt("attn_v.weight"), kvDim, s.Embd, false) +
			mat(o.Type, s.Embd, qDim, false) + 2*mat(o.Type, s.FFN, s.Embd, false) + mat(lt("ffn_down.weight"), s.Embd, s.FFN, false) +
			8*int64(s.Embd)
	}
	return n
}
