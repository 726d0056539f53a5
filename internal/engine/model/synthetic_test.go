package model

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/sample"
	"github.com/parley-chat/parley/internal/engine/synth"
	"github.com/parley-chat/parley/internal/engine/tensor"
)

func tiny(arch string) synth.Net {
	return synth.Net{Arch: arch, Embd: 64, Layers: 2, Heads: 4, HeadsKV: 2, FFN: 96, Vocab: 96,
		ContextLength: 64, Type: tensor.F32, Seed: 1}
}

func writeParse(t testing.TB, s synth.Net) *gguf.File {
	t.Helper()
	var buf bytes.Buffer
	if err := synth.WriteNet(&buf, s); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func newModel(t testing.TB, s synth.Net, opts Options) *Model {
	t.Helper()
	m, err := New(writeParse(t, s), opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// refForward is a textbook float64 transformer over the same file,
// recomputing every position without a cache: the reference the engine's
// cached, batched, float32 pass must agree with. It returns the logits after
// the last token.
func refForward(t testing.TB, f *gguf.File, c Config, factors []float32, tokens []int) []float64 {
	t.Helper()
	get := func(name string) []float64 {
		ti, ok := f.Tensor(name)
		if !ok {
			return nil
		}
		x := make([]float32, ti.Elements())
		if err := tensor.Dequantize(tensor.Type(ti.Type), f.TensorData(ti), x); err != nil {
			t.Fatal(err)
		}
		out := make([]float64, len(x))
		for i, v := range x {
			out[i] = float64(v)
		}
		return out
	}
	matvec := func(w []float64, rows, cols int, x []float64) []float64 {
		out := make([]float64, rows)
		for r := range rows {
			for j := range cols {
				out[r] += w[r*cols+j] * x[j]
			}
		}
		return out
	}
	rmsnorm := func(x, w []float64) []float64 {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		s := 1 / math.Sqrt(ss/float64(len(x))+float64(c.RMSEps))
		out := make([]float64, len(x))
		for i := range x {
			out[i] = x[i] * s * w[i]
		}
		return out
	}
	hd, E := c.HeadDim, c.Embd
	rope := func(x []float64, pos int) {
		half := c.RoPEDim / 2
		for h := 0; h < len(x); h += hd {
			for i := range half {
				theta := float64(pos) * math.Pow(float64(c.RoPEBase), -2*float64(i)/float64(c.RoPEDim)) * float64(c.RoPEScale)
				if factors != nil {
					theta /= float64(factors[i])
				}
				a, b := h+2*i, h+2*i+1
				if c.Arch == "qwen2" || c.Arch == "qwen3" { // independent of the engine's arch table
					a, b = h+i, h+i+half
				}
				x0, x1 := x[a], x[b]
				x[a] = x0*math.Cos(theta) - x1*math.Sin(theta)
				x[b] = x0*math.Sin(theta) + x1*math.Cos(theta)
			}
		}
	}
	emb := get("token_embd.weight")
	n := len(tokens)
	x := make([][]float64, n)
	for p, tok := range tokens {
		x[p] = slices.Clone(emb[tok*E : (tok+1)*E])
	}
	qDim, kvDim := c.Heads*hd, c.HeadsKV*hd
	for l := range c.Layers {
		w := func(s string) []float64 { return get(fmt.Sprintf("blk.%d.%s", l, s)) }
		wq, wk, wv, wo := w("attn_q.weight"), w("attn_k.weight"), w("attn_v.weight"), w("attn_output.weight")
		bq, bk, bv := w("attn_q.bias"), w("attn_k.bias"), w("attn_v.bias")
		q, k, v := make([][]float64, n), make([][]float64, n), make([][]float64, n)
		for p := range n {
			xn := rmsnorm(x[p], w("attn_norm.weight"))
			q[p], k[p], v[p] = matvec(wq, qDim, E, xn), matvec(wk, kvDim, E, xn), matvec(wv, kvDim, E, xn)
			for i := range bq {
				q[p][i] += bq[i]
			}
			for i := range bk {
				k[p][i] += bk[i]
				v[p][i] += bv[i]
			}
			if qn, kn := w("attn_q_norm.weight"), w("attn_k_norm.weight"); qn != nil {
				for h := 0; h < qDim; h += hd {
					copy(q[p][h:h+hd], rmsnorm(q[p][h:h+hd], qn))
				}
				for h := 0; h < kvDim; h += hd {
					copy(k[p][h:h+hd], rmsnorm(k[p][h:h+hd], kn))
				}
			}
			rope(q[p], p)
			rope(k[p], p)
		}
		for p := range n {
			att := make([]float64, qDim)
			for h := range c.Heads {
				kh := h / (c.Heads / c.HeadsKV) * hd
				scores := make([]float64, p+1)
				var m float64 = math.Inf(-1)
				for s := range p + 1 {
					for d := range hd {
						scores[s] += q[p][h*hd+d] * k[s][kh+d]
					}
					scores[s] /= math.Sqrt(float64(hd))
					m = max(m, scores[s])
				}
				var sum float64
				for s := range scores {
					scores[s] = math.Exp(scores[s] - m)
					sum += scores[s]
				}
				for s := range scores {
					for d := range hd {
						att[h*hd+d] += scores[s] / sum * v[s][kh+d]
					}
				}
			}
			o := matvec(wo, E, qDim, att)
			for i := range o {
				x[p][i] += o[i]
			}
			xn := rmsnorm(x[p], w("ffn_norm.weight"))
			g, u := matvec(w("ffn_gate.weight"), c.FFN, E, xn), matvec(w("ffn_up.weight"), c.FFN, E, xn)
			for i := range g {
				g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
			}
			d := matvec(w("ffn_down.weight"), E, c.FFN, g)
			for i := range d {
				x[p][i] += d[i]
			}
		}
	}
	out := get("output.weight")
	if out == nil {
		out = emb
	}
	return matvec(out, c.Vocab, E, rmsnorm(x[n-1], get("output_norm.weight")))
}

func maxDiff[T, U float32 | float64](a []T, b []U) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

var prompt = []int{1, 17, 42, 5, 88}

func TestMatchesReference(t *testing.T) {
	llama3 := tiny("llama")
	llama3.Tied = true
	llama3.RoPEBase = 500000
	llama3.RoPEFactors = tensor.Llama3RoPEFactors(500000, 16, 8, 1, 4, 32)
	qwenTied := tiny("qwen2")
	qwenTied.Tied = true
	qwenTied.HeadsKV = 1
	cases := map[string]synth.Net{
		"llama gqa":         tiny("llama"),
		"llama mha":         func() synth.Net { s := tiny("llama"); s.HeadsKV = 4; return s }(),
		"llama3 rope, tied": llama3,
		"qwen2":             tiny("qwen2"),
		"qwen2 tied, mqa":   qwenTied,
		"qwen3":             tiny("qwen3"),
		"qwen3 wide heads":  func() synth.Net { s := tiny("qwen3"); s.HeadDim = 32; return s }(),
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			f := writeParse(t, s)
			m, err := New(f, Options{BatchSize: 4})
			if err != nil {
				t.Fatal(err)
			}
			sess, err := m.NewSession(0)
			if err != nil {
				t.Fatal(err)
			}
			seq := slices.Clone(prompt)
			logits, err := sess.Forward(seq)
			if err != nil {
				t.Fatal(err)
			}
			for step := range 6 {
				want := refForward(t, f, m.Config, s.RoPEFactors, seq)
				if d := maxDiff(logits, want); d > 1e-3 {
					t.Fatalf("step %d: logits differ from the reference by %g", step, d)
				}
				fresh, _ := m.NewSession(0)
				full, err := fresh.Forward(seq)
				if err != nil {
					t.Fatal(err)
				}
				if d := maxDiff(logits, full); d > 1e-4 {
					t.Fatalf("step %d: cached logits differ from recomputation by %g", step, d)
				}
				next := sample.Greedy(logits)
				seq = append(seq, next)
				if logits, err = sess.Forward([]int{next}); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestBatchedEqualsTokenByToken(t *testing.T) {
	pool := tensor.NewPool(3)
	defer pool.Close()
	for _, arch := range []string{"llama", "qwen2", "qwen3"} {
		s := tiny(arch)
		var results [][]float32
		for _, batch := range []int{1, 3, 64} {
			m := newModel(t, s, Options{BatchSize: batch, Pool: pool})
			if batch == 3 {
				m.parallelAttention = 0 // exercise the parallel attention path
			}
			sess, _ := m.NewSession(0)
			long := append(slices.Clone(prompt), prompt...)
			logits, err := sess.Forward(long)
			if err != nil {
				t.Fatal(err)
			}
			results = append(results, slices.Clone(logits))
		}
		for i := 1; i < len(results); i++ {
			if d := maxDiff(results[0], results[i]); d > 1e-4 {
				t.Errorf("%s: batch sizes disagree by %g", arch, d)
			}
		}
	}
}

func TestQ8_0CloseToF32(t *testing.T) {
	for _, arch := range []string{"llama", "qwen2", "qwen3"} {
		s := tiny(arch)
		f32 := newModel(t, s, Options{})
		s.Type = tensor.Q8_0
		q8 := newModel(t, s, Options{})
		a, _ := f32.NewSession(0)
		b, _ := q8.NewSession(0)
		la, err := a.Forward(prompt)
		if err != nil {
			t.Fatal(err)
		}
		lb, err := b.Forward(prompt)
		if err != nil {
			t.Fatal(err)
		}
		var scale float64
		for _, v := range la {
			scale = max(scale, math.Abs(float64(v)))
		}
		if d := maxDiff(la, lb); d > 0.05*scale {
			t.Errorf("%s: Q8_0 logits differ from F32 by %g (max |logit| %g)", arch, d, scale)
		}
		if d := maxDiff(la, lb); d == 0 {
			t.Errorf("%s: Q8_0 and F32 logits identical: quantization not applied?", arch)
		}
	}
}

func TestLlama3RoPEFromMetadata(t *testing.T) {
	s := tiny("llama")
	s.RoPEBase = 500000
	s.ContextLength = 64
	factors := tensor.Llama3RoPEFactors(500000, 16, 8, 1, 4, 32)
	withTensor := s
	withTensor.RoPEFactors = factors
	withMeta := s
	withMeta.Meta = []gguf.KV{
		{Key: "llama.rope.scaling.type", Value: "llama3"},
		{Key: "llama.rope.scaling.factor", Value: float32(8)},
		{Key: "llama.rope.scaling.low_freq_factor", Value: float32(1)},
		{Key: "llama.rope.scaling.high_freq_factor", Value: float32(4)},
		{Key: "llama.rope.scaling.original_context_length", Value: uint32(32)},
	}
	if slices.Equal(factors, make([]float32, len(factors))) || factors[0] != 1 || factors[len(factors)-1] != 8 {
		t.Fatalf("factors %v do not span 1..8", factors)
	}
	run := func(s synth.Net) []float32 {
		m := newModel(t, s, Options{})
		sess, _ := m.NewSession(0)
		long := slices.Repeat(prompt, 6) // positions beyond the scaled wavelengths
		l, err := sess.Forward(long)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Clone(l)
	}
	a, b, plain := run(withTensor), run(withMeta), run(s)
	if d := maxDiff(a, b); d > 1e-5 {
		t.Errorf("metadata scaling differs from rope_freqs.weight by %g", d)
	}
	if d := maxDiff(a, plain); d < 1e-4 {
		t.Errorf("llama3 scaling had no effect (%g)", d)
	}
}

// rebuild rewrites f without the tensor named drop and with edit applied to
// every metadata value.
func rebuild(t *testing.T, f *gguf.File, drop string, edit func(key string, v any) any) *gguf.File {
	t.Helper()
	var meta []gguf.KV
	for _, k := range f.Keys() {
		v, _ := f.Value(k)
		if edit != nil {
			v = edit(k, v)
		}
		meta = append(meta, gguf.KV{Key: k, Value: v})
	}
	var ts []gguf.TensorData
	for _, ti := range f.Tensors {
		if ti.Name != drop {
			ts = append(ts, gguf.TensorData{Name: ti.Name, Dims: ti.Dims, Type: ti.Type, Data: f.TensorData(ti)})
		}
	}
	var buf bytes.Buffer
	if err := gguf.Write(&buf, meta, ts); err != nil {
		t.Fatal(err)
	}
	out, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLoadErrors(t *testing.T) {
	set := func(key string, val any) func(string, any) any {
		return func(k string, v any) any {
			if k == key {
				return val
			}
			return v
		}
	}
	llama, qwen := writeParse(t, tiny("llama")), writeParse(t, tiny("qwen2"))
	tests := []struct {
		name string
		f    *gguf.File
		want string
	}{
		{"unknown architecture", rebuild(t, llama, "", set("general.architecture", "gpt9")), `unsupported architecture "gpt9"`},
		{"no architecture", rebuild(t, llama, "", set("general.architecture", uint8(1))), "no general.architecture"},
		{"missing tensor", rebuild(t, llama, "blk.1.ffn_up.weight", nil), "missing tensor blk.1.ffn_up.weight"},
		{"missing qwen2 bias", rebuild(t, qwen, "blk.0.attn_k.bias", nil), "requires tensor blk.0.attn_k.bias"},
		{"missing norm", rebuild(t, llama, "output_norm.weight", nil), "missing tensor output_norm.weight"},
		{"missing qwen3 k norm", rebuild(t, writeParse(t, tiny("qwen3")), "blk.1.attn_k_norm.weight", nil), "missing tensor blk.1.attn_k_norm.weight"},
		{"missing hyper-parameter", rebuild(t, llama, "", set("llama.block_count", "five")), "llama.block_count is not a non-negative integer"},
		{"bad kv head count", rebuild(t, llama, "", set("llama.attention.head_count_kv", uint32(3))), "not a multiple of 3 KV heads"},
		{"wrong shape", rebuild(t, llama, "", set("llama.feed_forward_length", uint32(64))), "blk.0.ffn_gate.weight has shape [64 96], want [64 64]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.f, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestSessionLimits(t *testing.T) {
	m := newModel(t, tiny("llama"), Options{})
	s, err := m.NewSession(8)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Forward(make([]int, 9)); !errors.Is(err, ErrContextFull) {
		t.Errorf("9 tokens in 8: %v", err)
	}
	if _, err := s.Forward([]int{96}); err == nil {
		t.Error("token outside the vocabulary accepted")
	}
	if _, err := s.Forward(nil); err == nil {
		t.Error("empty forward accepted")
	}
	if _, err := s.Forward(make([]int, 8)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Forward([]int{1}); !errors.Is(err, ErrContextFull) {
		t.Errorf("token past the window: %v", err)
	}
	s.Truncate(4)
	if s.Len() != 4 {
		t.Fatalf("Len after truncate %d", s.Len())
	}
	if _, err := s.Forward([]int{1, 2, 3, 4}); err != nil {
		t.Errorf("forward after truncate: %v", err)
	}
}

// One-token steps read an F16 cache as stored where the CPU has the
// kernels for the head size (readHalf); widening is exact, so they give
// the bits of the path that widens the layer first.
func TestF16CacheReadAsStored(t *testing.T) {
	s := tiny("llama")
	s.HeadDim = 64
	if !tensor.StridedF16(s.HeadDim) {
		t.Skip("no strided fp16 kernels for 64-value heads on this CPU")
	}
	pool := tensor.NewPool(2)
	defer pool.Close()
	var results [][]float32
	for _, readHalf := range []bool{true, false} {
		m := newModel(t, s, Options{Pool: pool, KVType: tensor.F16})
		if !m.readHalf {
			t.Fatal("an F16 cache with 64-value heads is not read as stored")
		}
		m.readHalf = readHalf
		sess, _ := m.NewSession(0)
		var all []float32
		for _, tok := range prompt {
			logits, err := sess.Forward([]int{tok})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, logits...)
		}
		results = append(results, all)
	}
	if !slices.Equal(results[0], results[1]) {
		t.Errorf("read as stored and widened differ by %g", maxDiff(results[0], results[1]))
	}
}
