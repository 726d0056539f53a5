// Package synth writes random-weight GGUF models of real architectures'
// shapes. Write is for measuring speed and for the llama.cpp goldens: the
// same file can be run by Parley's engine and by llama.cpp, so comparisons
// are like for like. Its per-tensor types follow llama-quantize's choices,
// so a file's size and speed match what llama.cpp itself would produce, and
// Quantize rewrites an F32 file exactly as llama-quantize does. WriteNet is
// for the engine's unit tests: one weight type for every matrix, weights
// quantized from drawn floats.
package synth

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/tensor"
)

// Shape is a network's architecture and dimensions.
type Shape struct {
	Name string
	// Arch is general.architecture: "llama" (or ""), "qwen2" (biases on
	// Q, K and V) or "qwen3" (RMSNorm over each Q and K head).
	Arch                              string
	Embd, Layers, Heads, HeadsKV, FFN int
	// HeadDim, when set, decouples the head width from Embd/Heads (qwen3's
	// attention.key_length).
	HeadDim              int
	Vocab, ContextLength int
	RoPEBase             float32
	RMSEps               float32
	// Tied omits output.weight: the output projection reuses token_embd.
	Tied bool
	// Llama3 is Llama 3.1's rope scaling, written as llama.cpp's converter
	// does: per-pair frequency divisors in rope_freqs.weight.
	Llama3 *Llama3Scaling
}

// Llama3Scaling is a "llama3" rope_scaling block of a Hugging Face config.
type Llama3Scaling struct {
	Factor, LowFreqFactor, HighFreqFactor float64
	OriginalContext                       int
}

func (s Shape) arch() string {
	if s.Arch == "" {
		return "llama"
	}
	return s.Arch
}

func (s Shape) headDim() int {
	if s.HeadDim != 0 {
		return s.HeadDim
	}
	return s.Embd / max(s.Heads, 1)
}

// shapes are the named shapes; see Shapes. The full-size ones are the
// catalogue's models (and Qwen3 0.6B); each "-mini" keeps its model's
// architecture, head layout and what llama-quantize makes of its widths
// (whether rows split into 256-element K-quant blocks) at a size tests run
// in moments.
var shapes = []Shape{
	{Name: "qwen2.5-0.5b", Arch: "qwen2", Embd: 896, Layers: 24, Heads: 14, HeadsKV: 2, FFN: 4864, Vocab: 151936,
		ContextLength: 32768, RoPEBase: 1e6, RMSEps: 1e-6, Tied: true},
	{Name: "qwen2.5-1.5b", Arch: "qwen2", Embd: 1536, Layers: 28, Heads: 12, HeadsKV: 2, FFN: 8960, Vocab: 151936,
		ContextLength: 32768, RoPEBase: 1e6, RMSEps: 1e-6, Tied: true},
	{Name: "qwen3-0.6b", Arch: "qwen3", Embd: 1024, Layers: 28, Heads: 16, HeadsKV: 8, HeadDim: 128, FFN: 3072, Vocab: 151936,
		ContextLength: 40960, RoPEBase: 1e6, RMSEps: 1e-6, Tied: true},
	{Name: "llama3.2-1b", Embd: 2048, Layers: 16, Heads: 32, HeadsKV: 8, FFN: 8192, Vocab: 128256,
		ContextLength: 131072, RoPEBase: 500000, RMSEps: 1e-5, Tied: true,
		Llama3: &Llama3Scaling{Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalContext: 8192}},
	{Name: "tinyllama-1.1b", Embd: 2048, Layers: 22, Heads: 32, HeadsKV: 4, FFN: 5632, Vocab: 32000,
		ContextLength: 2048, RoPEBase: 10000, RMSEps: 1e-5},
	{Name: "smollm2-135m", Embd: 576, Layers: 30, Heads: 9, HeadsKV: 3, FFN: 1536, Vocab: 49152,
		ContextLength: 8192, RoPEBase: 100000, RMSEps: 1e-5, Tied: true},
	{Name: "smollm2-360m", Embd: 960, Layers: 32, Heads: 15, HeadsKV: 5, FFN: 2560, Vocab: 49152,
		ContextLength: 8192, RoPEBase: 100000, RMSEps: 1e-5, Tied: true},

	// 896 and 576 do not split into 256-blocks (llama-quantize falls back to
	// Q5_0/Q8_0), 4864 and 1536 do: so with 192 and 512.
	{Name: "qwen2.5-mini", Arch: "qwen2", Embd: 192, Layers: 4, Heads: 3, HeadsKV: 1, FFN: 512, Vocab: 151936,
		ContextLength: 32768, RoPEBase: 1e6, RMSEps: 1e-6, Tied: true},
	{Name: "qwen3-mini", Arch: "qwen3", Embd: 256, Layers: 4, Heads: 4, HeadsKV: 2, HeadDim: 128, FFN: 768, Vocab: 151936,
		ContextLength: 40960, RoPEBase: 1e6, RMSEps: 1e-6, Tied: true},
	// Llama 3.2's scaling with the original context shrunk to 64, so the
	// interpolated band falls within the positions a test reaches.
	{Name: "llama3.2-mini", Embd: 256, Layers: 4, Heads: 4, HeadsKV: 1, FFN: 768, Vocab: 128256,
		ContextLength: 131072, RoPEBase: 500000, RMSEps: 1e-5, Tied: true,
		Llama3: &Llama3Scaling{Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalContext: 64}},
	{Name: "tinyllama-mini", Embd: 256, Layers: 4, Heads: 8, HeadsKV: 1, FFN: 768, Vocab: 32000,
		ContextLength: 2048, RoPEBase: 10000, RMSEps: 1e-5},
	{Name: "smollm2-mini", Embd: 192, Layers: 4, Heads: 3, HeadsKV: 1, FFN: 512, Vocab: 49152,
		ContextLength: 8192, RoPEBase: 100000, RMSEps: 1e-5, Tied: true},
	// The smallest llama on which llama-quantize's Q4_K_M uses all its
	// types: 256-wide rows (Q4_K), a 288-wide ffn_down (falls back to
	// Q5_0/Q8_0), two layers (attn_v/ffn_down Q4_K, then Q6_K), output Q6_K.
	{Name: "tiny-kquant", Embd: 256, Layers: 2, Heads: 2, HeadsKV: 1, FFN: 288, Vocab: 512,
		ContextLength: 512, RoPEBase: 10000, RMSEps: 1e-5},
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
var Types = []tensor.Type{tensor.F32, tensor.F16, tensor.Q8_0, tensor.Q4_0, tensor.Q4_K, tensor.Q6_K}

// Options say what to write.
type Options struct {
	Shape Shape
	// Type is the main type of the 2-D weights (llama-quantize's ftype).
	Type tensor.Type
	Seed uint64
	// Vocab is the tokenizer.* metadata to write, e.g. a real vocabulary
	// from VocabFrom; its token count overrides Shape.Vocab. Nil writes a
	// synthetic vocabulary of Shape.Vocab tokens (see Vocab).
	Vocab []gguf.KV
}

// ftype is llama.cpp's general.file_type for a main type.
var ftype = map[tensor.Type]uint32{
	tensor.F32: 0, tensor.F16: 1, tensor.Q4_0: 2, tensor.Q8_0: 7, tensor.Q4_K: 15 /* Q4_K_M */, tensor.Q6_K: 18,
}

// piece is one tensor of a model: a 2-D weight (rows of cols, its type by
// llama-quantize's rules) or a vector of cols F32 values drawn around mean.
type piece struct {
	name       string
	typ        tensor.Type
	rows, cols int
	mean, sd   float64
	ropeFreqs  bool // the llama3 rope factors, not drawn
}

// pieces lists the tensors of shape s with a vocabulary of nVocab tokens.
func pieces(s Shape, main tensor.Type, nVocab int) []piece {
	hd := s.headDim()
	qDim, kvDim := s.Heads*hd, s.HeadsKV*hd
	var ps []piece
	// Weights at 1/sqrt(fan-in) keep activations near unit scale, so
	// attention is far from uniform and the logits are well separated.
	// Calmer than that, as in trained models, are the residual projections
	// (GPT-2's 1/sqrt(2*layers)) and the SwiGLU gate: a network at unit
	// scale everywhere amplifies the rounding of 8-bit activations (which
	// every engine does its own way) to several percent of its logits.
	branch := 1 / math.Sqrt(float64(2*max(s.Layers, 1)))
	matrix := func(name string, rows, cols int, k float64) {
		t := quantType(main, name, cols, s.Layers, !s.Tied)
		ps = append(ps, piece{name: name, typ: t, rows: rows, cols: cols, sd: k / math.Sqrt(float64(cols))})
	}
	vector := func(name string, n int, mean, sd float64) {
		ps = append(ps, piece{name: name, typ: tensor.F32, rows: 1, cols: n, mean: mean, sd: sd})
	}
	matrix("token_embd.weight", nVocab, s.Embd, 1)
	vector("output_norm.weight", s.Embd, 1, 0.1)
	if !s.Tied {
		matrix("output.weight", nVocab, s.Embd, 1)
	}
	if s.Llama3 != nil {
		ps = append(ps, piece{name: "rope_freqs.weight", typ: tensor.F32, rows: 1, cols: hd / 2, ropeFreqs: true})
	}
	for i := range s.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		vector(p+"attn_norm.weight", s.Embd, 1, 0.1)
		matrix(p+"attn_q.weight", qDim, s.Embd, 1)
		matrix(p+"attn_k.weight", kvDim, s.Embd, 1)
		matrix(p+"attn_v.weight", kvDim, s.Embd, 1)
		matrix(p+"attn_output.weight", s.Embd, qDim, branch)
		switch s.arch() {
		case "qwen2":
			vector(p+"attn_q.bias", qDim, 0, 0.5)
			vector(p+"attn_k.bias", kvDim, 0, 0.5)
			vector(p+"attn_v.bias", kvDim, 0, 0.5)
		case "qwen3":
			vector(p+"attn_q_norm.weight", hd, 1, 0.1)
			vector(p+"attn_k_norm.weight", hd, 1, 0.1)
		}
		vector(p+"ffn_norm.weight", s.Embd, 1, 0.1)
		matrix(p+"ffn_gate.weight", s.FFN, s.Embd, 0.3)
		matrix(p+"ffn_up.weight", s.FFN, s.Embd, 1)
		matrix(p+"ffn_down.weight", s.Embd, s.FFN, branch)
	}
	return ps
}

// Write writes the model described by o to w as GGUF. Float types get
// bell-shaped weights (floatWeights); quantized types get their blocks
// drawn directly (randomBlocks), so even a 150k-token embedding is written
// in moments.
func Write(w io.Writer, o Options) error {
	s := o.Shape
	a := s.arch()
	if a != "llama" && a != "qwen2" && a != "qwen3" {
		return fmt.Errorf("synth: architecture %q not supported (llama, qwen2, qwen3)", a)
	}
	if s.Heads == 0 || s.HeadsKV == 0 || s.Heads%s.HeadsKV != 0 || (s.HeadDim == 0 && s.Embd%s.Heads != 0) {
		return fmt.Errorf("synth: %d heads (%d KV) do not divide %d dims", s.Heads, s.HeadsKV, s.Embd)
	}
	ft, ok := ftype[o.Type]
	if !ok {
		return fmt.Errorf("synth: type %v not supported (use one of %v)", o.Type, Types)
	}
	voc, nVocab, err := o.vocab()
	if err != nil {
		return err
	}
	meta := append([]gguf.KV{
		{Key: "general.architecture", Value: a},
		{Key: "general.name", Value: "synthetic " + s.Name + " (random weights)"},
		{Key: "general.file_type", Value: ft},
		{Key: "general.quantization_version", Value: uint32(2)},
	}, hparams(s)...)
	meta = append(meta, gguf.KV{Key: a + ".vocab_size", Value: uint32(nVocab)})
	meta = append(meta, headWidth(s)...)
	meta = append(meta, voc...)

	hd := s.headDim()
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	var ts []gguf.TensorData
	for _, p := range pieces(s, o.Type, nVocab) {
		var data []byte
		switch {
		case p.ropeFreqs:
			l := s.Llama3
			data = f32le(tensor.Llama3RoPEFactors(float64(s.RoPEBase), hd, l.Factor, l.LowFreqFactor, l.HighFreqFactor, l.OriginalContext))
		case p.typ.BlockSize() == 1:
			if data, err = floatWeights(rng.Uint64(), p.typ, p.rows*p.cols, p.mean, p.sd); err != nil {
				return fmt.Errorf("synth: %s: %w", p.name, err)
			}
		default:
			if data, err = randomBlocks(rng.Uint64(), p.typ, p.rows*p.cols, p.sd); err != nil {
				return fmt.Errorf("synth: %s: %w", p.name, err)
			}
		}
		dims := []uint64{uint64(p.cols), uint64(p.rows)}
		if p.rows == 1 {
			dims = dims[:1]
		}
		ts = append(ts, gguf.TensorData{Name: p.name, Dims: dims, Type: uint32(p.typ), Data: data})
	}
	return gguf.Write(w, meta, ts)
}

// hparams are the {arch}.* hyper-parameters of s.
func hparams(s Shape) []gguf.KV {
	a := s.arch()
	return []gguf.KV{
		{Key: a + ".context_length", Value: uint32(s.ContextLength)},
		{Key: a + ".embedding_length", Value: uint32(s.Embd)},
		{Key: a + ".block_count", Value: uint32(s.Layers)},
		{Key: a + ".feed_forward_length", Value: uint32(s.FFN)},
		{Key: a + ".attention.head_count", Value: uint32(s.Heads)},
		{Key: a + ".attention.head_count_kv", Value: uint32(s.HeadsKV)},
		{Key: a + ".attention.layer_norm_rms_epsilon", Value: s.RMSEps},
		{Key: a + ".rope.dimension_count", Value: uint32(s.headDim())},
		{Key: a + ".rope.freq_base", Value: s.RoPEBase},
	}
}

// headWidth is the key and value width metadata of a shape whose heads are
// not Embd/Heads wide (none otherwise).
func headWidth(s Shape) []gguf.KV {
	if s.HeadDim == 0 {
		return nil
	}
	a := s.arch()
	return []gguf.KV{{Key: a + ".attention.key_length", Value: uint32(s.HeadDim)},
		{Key: a + ".attention.value_length", Value: uint32(s.HeadDim)}}
}

// vocab is the tokenizer metadata to write and its token count.
func (o Options) vocab() ([]gguf.KV, int, error) {
	if o.Vocab == nil {
		kv, err := Vocab(o.Shape.Vocab)
		return kv, o.Shape.Vocab, err
	}
	for _, kv := range o.Vocab {
		if kv.Key == "tokenizer.ggml.tokens" {
			if toks, ok := kv.Value.([]string); ok && len(toks) > 0 {
				return o.Vocab, len(toks), nil
			}
		}
	}
	return nil, 0, fmt.Errorf("synth: the vocabulary has no tokenizer.ggml.tokens")
}

// Size is the size in bytes of the tensor data Write produces for o,
// without writing it: for a quick look before a long write.
func Size(o Options) int64 {
	_, nVocab, err := o.vocab()
	if err != nil {
		nVocab = o.Shape.Vocab
	}
	var n int64
	for _, p := range pieces(o.Shape, o.Type, nVocab) {
		n += int64(p.rows) * int64(p.typ.RowSize(p.cols))
	}
	return n
}
