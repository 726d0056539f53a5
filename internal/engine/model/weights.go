package model

import (
	"fmt"
	"slices"

	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/tensor"
)

// layer holds one transformer block's weights. Matrices point into the
// mapped file; norms and biases are small and decoded to float32.
type layer struct {
	attnNorm       []float32
	wq, wk, wv, wo tensor.Matrix
	bq, bk, bv     []float32 // nil when absent
	qNorm, kNorm   []float32 // per-head Q/K norm weights (qwen3), or nil
	ffnNorm        []float32
	gate, up, down tensor.Matrix
}

type weights struct {
	embd    tensor.Matrix
	layers  []layer
	outNorm []float32
	output  tensor.Matrix // token_embd when the output is tied
	// ropeFactors are llama3-style per-pair frequency divisors, or nil.
	ropeFactors []float32
}

// binder looks tensors up by GGUF name and checks their shapes.
type binder struct {
	f *gguf.File
}

// matrix binds name as rows x cols (GGUF dims [cols, rows]).
func (b binder) matrix(name string, rows, cols int) (tensor.Matrix, error) {
	t, ok := b.f.Tensor(name)
	if !ok {
		return tensor.Matrix{}, fmt.Errorf("model: missing tensor %s", name)
	}
	if !slices.Equal(trimDims(t.Dims), []uint64{uint64(cols), uint64(rows)}) {
		return tensor.Matrix{}, fmt.Errorf("model: tensor %s has shape %v, want [%d %d]", name, t.Dims, cols, rows)
	}
	m := tensor.Matrix{Type: tensor.Type(t.Type), Rows: rows, Cols: cols, Data: b.f.TensorData(t)}
	if err := m.Check(); err != nil {
		return tensor.Matrix{}, fmt.Errorf("model: tensor %s: %w", name, err)
	}
	return m, nil
}

// vector decodes a 1-D tensor of n elements to float32.
func (b binder) vector(name string, n int) ([]float32, error) {
	t, ok := b.f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("model: missing tensor %s", name)
	}
	if !slices.Equal(trimDims(t.Dims), []uint64{uint64(n)}) {
		return nil, fmt.Errorf("model: tensor %s has shape %v, want [%d]", name, t.Dims, n)
	}
	out := make([]float32, n)
	if err := tensor.Dequantize(tensor.Type(t.Type), b.f.TensorData(t), out); err != nil {
		return nil, fmt.Errorf("model: tensor %s: %w", name, err)
	}
	return out, nil
}

// optionalVector is vector, or nil when the tensor is absent.
func (b binder) optionalVector(name string, n int) ([]float32, error) {
	if _, ok := b.f.Tensor(name); !ok {
		return nil, nil
	}
	return b.vector(name, n)
}

// trimDims drops trailing 1s, which some writers keep (e.g. [64 1]).
func trimDims(d []uint64) []uint64 {
	for len(d) > 1 && d[len(d)-1] == 1 {
		d = d[:len(d)-1]
	}
	return d
}

func bindWeights(f *gguf.File, a arch, c *Config) (*weights, error) {
	b := binder{f: f}
	emb, ok := f.Tensor("token_embd.weight")
	if !ok {
		return nil, fmt.Errorf("model: missing tensor token_embd.weight")
	}
	if len(emb.Dims) < 2 {
		return nil, fmt.Errorf("model: token_embd.weight has shape %v", emb.Dims)
	}
	if emb.Dims[1] == 0 || emb.Dims[1] > 1<<24 {
		return nil, fmt.Errorf("model: token_embd.weight has %d rows", emb.Dims[1])
	}
	c.Vocab = int(emb.Dims[1])
	w := &weights{layers: make([]layer, c.Layers)}
	var err error
	if w.embd, err = b.matrix("token_embd.weight", c.Vocab, c.Embd); err != nil {
		return nil, err
	}
	if w.outNorm, err = b.vector("output_norm.weight", c.Embd); err != nil {
		return nil, err
	}
	if _, ok := f.Tensor("output.weight"); ok {
		if w.output, err = b.matrix("output.weight", c.Vocab, c.Embd); err != nil {
			return nil, err
		}
	} else {
		w.output = w.embd
	}
	qDim, kvDim := c.Heads*c.HeadDim, c.HeadsKV*c.HeadDim
	for i := range w.layers {
		l := &w.layers[i]
		p := fmt.Sprintf("blk.%d.", i)
		mats := []struct {
			dst        *tensor.Matrix
			name       string
			rows, cols int
		}{
			{&l.wq, "attn_q.weight", qDim, c.Embd},
			{&l.wk, "attn_k.weight", kvDim, c.Embd},
			{&l.wv, "attn_v.weight", kvDim, c.Embd},
			{&l.wo, "attn_output.weight", c.Embd, qDim},
			{&l.gate, "ffn_gate.weight", c.FFN, c.Embd},
			{&l.up, "ffn_up.weight", c.FFN, c.Embd},
			{&l.down, "ffn_down.weight", c.Embd, c.FFN},
		}
		for _, m := range mats {
			if *m.dst, err = b.matrix(p+m.name, m.rows, m.cols); err != nil {
				return nil, err
			}
		}
		if l.attnNorm, err = b.vector(p+"attn_norm.weight", c.Embd); err != nil {
			return nil, err
		}
		if l.ffnNorm, err = b.vector(p+"ffn_norm.weight", c.Embd); err != nil {
			return nil, err
		}
		biases := []struct {
			dst  *[]float32
			name string
			n    int
		}{
			{&l.bq, "attn_q.bias", qDim},
			{&l.bk, "attn_k.bias", kvDim},
			{&l.bv, "attn_v.bias", kvDim},
		}
		for _, bb := range biases {
			if *bb.dst, err = b.optionalVector(p+bb.name, bb.n); err != nil {
				return nil, err
			}
			if a.qkvBias && *bb.dst == nil {
				return nil, fmt.Errorf("model: %s requires tensor %s%s", a.name, p, bb.name)
			}
		}
		if a.qkNorm {
			if l.qNorm, err = b.vector(p+"attn_q_norm.weight", c.HeadDim); err != nil {
				return nil, err
			}
			if l.kNorm, err = b.vector(p+"attn_k_norm.weight", c.HeadDim); err != nil {
				return nil, err
			}
		}
	}
	if w.ropeFactors, err = ropeFactors(f, b, a, *c); err != nil {
		return nil, err
	}
	return w, nil
}

// ropeFactors finds llama3-style rope scaling: the rope_freqs.weight tensor
// llama.cpp's converter writes, or else the scaling parameters in metadata.
func ropeFactors(f *gguf.File, b binder, a arch, c Config) ([]float32, error) {
	if _, ok := f.Tensor("rope_freqs.weight"); ok {
		return b.vector("rope_freqs.weight", c.RoPEDim/2)
	}
	if st, _ := f.String(a.name + ".rope.scaling.type"); st != "llama3" {
		return nil, nil
	}
	k := &keys{f: f, arch: a.name}
	factor := k.float("rope.scaling.factor", 8)
	low := k.float("rope.scaling.low_freq_factor", 1)
	high := k.float("rope.scaling.high_freq_factor", 4)
	orig := k.uint("rope.scaling.original_context_length", 8192, false)
	if k.err != nil {
		return nil, k.err
	}
	if factor <= 0 || low <= 0 || high <= low || orig <= 0 {
		return nil, fmt.Errorf("model: invalid llama3 rope scaling (factor %g, low %g, high %g, original context %d)", factor, low, high, orig)
	}
	return tensor.Llama3RoPEFactors(float64(c.RoPEBase), c.RoPEDim, float64(factor), float64(low), float64(high), orig), nil
}
