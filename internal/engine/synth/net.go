package synth

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/tensor"
)

// Net describes a random-weight network of any architecture the engine
// runs, for its tests and benchmarks: real shapes, meaningless weights at
// unit scale. Unlike Write's llama.cpp-like files, every 2-D weight has one
// type, quantized from drawn floats, and there is no tokenizer.
type Net struct {
	Arch                              string // "llama" or "qwen2"
	Embd, Layers, Heads, HeadsKV, FFN int
	Vocab, ContextLength              int
	// HeadDim, when set, decouples the head width from Embd/Heads (qwen3
	// writes attention.key_length).
	HeadDim int
	// Type is the element type of the 2-D weights (norms stay F32).
	Type tensor.Type
	// Tied omits output.weight, so the output reuses token_embd.weight.
	Tied bool
	// RoPEFactors, when set, is written as rope_freqs.weight (llama3 scaling).
	RoPEFactors []float32
	RoPEBase    float32 // 0 means 10000
	Seed        uint64
	// Meta is appended to the generated metadata.
	Meta []gguf.KV
}

// WriteNet writes s as a GGUF file. Weights are drawn so activations stay
// around unit scale through the layers.
func WriteNet(w io.Writer, s Net) error {
	headDim := s.HeadDim
	if headDim == 0 {
		if s.Heads == 0 || s.Embd%s.Heads != 0 {
			return fmt.Errorf("synth: %d heads do not divide %d dims", s.Heads, s.Embd)
		}
		headDim = s.Embd / s.Heads
	}
	if s.Heads == 0 || s.HeadsKV == 0 {
		return fmt.Errorf("synth: no heads")
	}
	base := s.RoPEBase
	if base == 0 {
		base = 10000
	}
	a := s.Arch
	shape := Shape{Arch: a, Embd: s.Embd, Layers: s.Layers, Heads: s.Heads, HeadsKV: s.HeadsKV, FFN: s.FFN,
		HeadDim: s.HeadDim, ContextLength: s.ContextLength, RoPEBase: base, RMSEps: 1e-6}
	meta := append([]gguf.KV{
		{Key: "general.architecture", Value: a},
		{Key: "general.name", Value: "synthetic-" + a},
	}, hparams(shape)...)
	meta = append(meta, headWidth(shape)...)
	meta = append(meta, s.Meta...)
	rng := rand.New(rand.NewPCG(s.Seed, 1))
	var ts []gguf.TensorData
	var err error
	matrix := func(name string, rows, cols int) {
		if err != nil {
			return
		}
		x := make([]float32, rows*cols)
		sd := 1 / math.Sqrt(float64(cols))
		for i := range x {
			x[i] = float32(rng.NormFloat64() * sd)
		}
		data := make([]byte, rows*s.Type.RowSize(cols))
		if qerr := tensor.Quantize(s.Type, x, data); qerr != nil {
			err = fmt.Errorf("synth: %s: %w", name, qerr)
			return
		}
		ts = append(ts, gguf.TensorData{Name: name, Dims: []uint64{uint64(cols), uint64(rows)}, Type: uint32(s.Type), Data: data})
	}
	vector := func(name string, n int, mean, sd float64) {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(mean + rng.NormFloat64()*sd)
		}
		ts = append(ts, gguf.TensorData{Name: name, Dims: []uint64{uint64(n)}, Type: uint32(tensor.F32), Data: f32le(x)})
	}
	qDim, kvDim := s.Heads*headDim, s.HeadsKV*headDim
	// Embeddings at unit scale, like trained ones after the first norm.
	matrix("token_embd.weight", s.Vocab, s.Embd)
	vector("output_norm.weight", s.Embd, 1, 0.1)
	if !s.Tied {
		matrix("output.weight", s.Vocab, s.Embd)
	}
	if s.RoPEFactors != nil {
		ts = append(ts, gguf.TensorData{Name: "rope_freqs.weight", Dims: []uint64{uint64(len(s.RoPEFactors))}, Type: uint32(tensor.F32), Data: f32le(s.RoPEFactors)})
	}
	for i := range s.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		vector(p+"attn_norm.weight", s.Embd, 1, 0.1)
		matrix(p+"attn_q.weight", qDim, s.Embd)
		matrix(p+"attn_k.weight", kvDim, s.Embd)
		matrix(p+"attn_v.weight", kvDim, s.Embd)
		matrix(p+"attn_output.weight", s.Embd, qDim)
		if a == "qwen2" {
			vector(p+"attn_q.bias", qDim, 0, 0.5)
			vector(p+"attn_k.bias", kvDim, 0, 0.5)
			vector(p+"attn_v.bias", kvDim, 0, 0.5)
		}
		if a == "qwen3" {
			vector(p+"attn_q_norm.weight", headDim, 1, 0.1)
			vector(p+"attn_k_norm.weight", headDim, 1, 0.1)
		}
		vector(p+"ffn_norm.weight", s.Embd, 1, 0.1)
		matrix(p+"ffn_gate.weight", s.FFN, s.Embd)
		matrix(p+"ffn_up.weight", s.FFN, s.Embd)
		matrix(p+"ffn_down.weight", s.Embd, s.FFN)
	}
	if err != nil {
		return err
	}
	return gguf.Write(w, meta, ts)
}

func f32le(x []float32) []byte {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		u := math.Float32bits(v)
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	return b
}
