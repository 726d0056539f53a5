package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/model"
	"github.com/parley-chat/parley/internal/engine/sample"
	"github.com/parley-chat/parley/internal/engine/tensor"
)

// The SmolLM2-135M benchmarks compare with llama-bench's tg128 and pp512
// on the same shapes (docs: shared testdata bench/llama-bench.2core.md).
// The models are 90-540 MB, so they are written once into the directory
// PARLEY_BENCH_MODELS_DIR (kept between runs) and skipped without it:
//
//	PARLEY_BENCH_MODELS_DIR=/tmp/parley-smol go test -run XXX -bench SmolLM2Shape ./internal/engine/
func BenchmarkSmolLM2Shape(b *testing.B) {
	dir := os.Getenv("PARLEY_BENCH_MODELS_DIR")
	if dir == "" {
		b.Skip("set PARLEY_BENCH_MODELS_DIR to a directory for the SmolLM2-135M-shaped models")
	}
	for _, typ := range []tensor.Type{tensor.Q8_0, tensor.Q4_0, tensor.F32, tensor.F16} {
		b.Run(typ.String(), func(b *testing.B) {
			path, err := smolModel(dir, typ)
			if err != nil {
				b.Fatal(err)
			}
			for _, test := range []struct {
				name          string
				prompt, gen   int
				tokensPerLoop int
			}{
				{"tg128", 1, 128, 128},
				{"pp512", 512, 1, 512},
			} {
				b.Run(test.name, func(b *testing.B) {
					for _, threads := range []int{1, 2} {
						b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
							benchGenerate(b, path, threads, test.prompt, test.gen, test.tokensPerLoop)
						})
					}
				})
			}
		})
	}
}

// benchGenerate runs Generate with a fresh prompt each loop (so no prefix
// is reused), greedy, and reports tokens per second as llama-bench counts
// them: prompt tokens for pp, generated tokens for tg.
func benchGenerate(b *testing.B, path string, threads, promptLen, gen, perLoop int) {
	m, err := Load(path, Options{Threads: threads, ContextLength: 1024})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	prompt := make([]int, promptLen)
	for i := range prompt {
		prompt[i] = (i*7919 + 11) % m.Config().Vocab
	}
	p := Params{MaxTokens: gen, Sampling: sample.Params{Temperature: 0}}
	ctx := context.Background()
	run := func(i int) {
		prompt[0] = 100 + i%1000
		n := 0
		if _, err := m.Generate(ctx, prompt, p, func(int) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != gen {
			b.Fatalf("generated %d tokens, want %d", n, gen)
		}
	}
	run(-1) // warm up: page in the weights, grow the cache
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		run(i)
		i++
	}
	b.ReportMetric(float64(b.N*perLoop)/b.Elapsed().Seconds(), "tok/s")
	// CPU time is steadier than wall time on a shared machine (it counts
	// helpers' spinning too).
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N*perLoop)/1000, "cpu-ms/tok")
}

// smolModel returns the path of the SmolLM2-135M-shaped model of type typ
// in dir, writing it first if it is missing.
func smolModel(dir string, typ tensor.Type) (string, error) {
	path := filepath.Join(dir, "smollm2-135m-"+typ.String()+".gguf")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	tmp, err := os.CreateTemp(dir, ".smol-*.gguf")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if err := writeSmol(tmp, typ); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return path, os.Rename(tmp.Name(), path)
}

// writeSmol writes random weights (normal, std 0.02; norms 1.0) in
// SmolLM2-135M's shape, with llama-quantize's choice of keeping the tied
// embeddings of a Q4_0 model at Q8_0. There is no tokenizer: the engine
// speaks ids, and without end-of-generation ids greedy decoding never
// stops early.
func writeSmol(f *os.File, typ tensor.Type) error {
	const (
		embd, layers, heads, headsKV, ffn, vocab = 576, 30, 9, 3, 1536, 49152
		headDim                                  = embd / heads
	)
	meta := []gguf.KV{
		{Key: "general.architecture", Value: "llama"},
		{Key: "general.name", Value: "smollm2-135m-shape"},
		{Key: "llama.context_length", Value: uint32(8192)},
		{Key: "llama.embedding_length", Value: uint32(embd)},
		{Key: "llama.block_count", Value: uint32(layers)},
		{Key: "llama.feed_forward_length", Value: uint32(ffn)},
		{Key: "llama.attention.head_count", Value: uint32(heads)},
		{Key: "llama.attention.head_count_kv", Value: uint32(headsKV)},
		{Key: "llama.attention.layer_norm_rms_epsilon", Value: float32(1e-5)},
		{Key: "llama.rope.dimension_count", Value: uint32(headDim)},
		{Key: "llama.rope.freq_base", Value: float32(100000)},
		{Key: "llama.vocab_size", Value: uint32(vocab)},
	}
	rng := rand.New(rand.NewPCG(135, 2))
	var ts []gguf.TensorData
	var err error
	matrix := func(name string, t tensor.Type, rows, cols int) {
		if err != nil {
			return
		}
		x := make([]float32, rows*cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 0.02)
		}
		data := make([]byte, rows*t.RowSize(cols))
		if qerr := tensor.Quantize(t, x, data); qerr != nil {
			err = fmt.Errorf("%s: %w", name, qerr)
		}
		ts = append(ts, gguf.TensorData{Name: name, Dims: []uint64{uint64(cols), uint64(rows)}, Type: uint32(t), Data: data})
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
	embT := typ
	if typ == tensor.Q4_0 {
		embT = tensor.Q8_0
	}
	matrix("token_embd.weight", embT, vocab, embd)
	ones("output_norm.weight", embd)
	for i := range layers {
		p := fmt.Sprintf("blk.%d.", i)
		ones(p+"attn_norm.weight", embd)
		matrix(p+"attn_q.weight", typ, heads*headDim, embd)
		matrix(p+"attn_k.weight", typ, headsKV*headDim, embd)
		matrix(p+"attn_v.weight", typ, headsKV*headDim, embd)
		matrix(p+"attn_output.weight", typ, embd, heads*headDim)
		ones(p+"ffn_norm.weight", embd)
		matrix(p+"ffn_gate.weight", typ, ffn, embd)
		matrix(p+"ffn_up.weight", typ, ffn, embd)
		matrix(p+"ffn_down.weight", typ, embd, ffn)
	}
	if err != nil {
		return err
	}
	return gguf.Write(f, meta, ts)
}

// BenchmarkSmolLM2DecodeStep measures one scheduler step of n generating
// sequences (one token each, at a context of about 128): the batched pass
// that --parallel rests on. Aggregate tok/s at n=8 over n=1 is how much
// one step gains from reading the weights once for all.
//
//	PARLEY_BENCH_MODELS_DIR=/tmp/parley-smol go test -run XXX -bench SmolLM2DecodeStep ./internal/engine/
func BenchmarkSmolLM2DecodeStep(b *testing.B) {
	dir := os.Getenv("PARLEY_BENCH_MODELS_DIR")
	if dir == "" {
		b.Skip("set PARLEY_BENCH_MODELS_DIR to a directory for the SmolLM2-135M-shaped models")
	}
	for _, typ := range []tensor.Type{tensor.Q8_0, tensor.Q4_0, tensor.F16} {
		path, err := smolModel(dir, typ)
		if err != nil {
			b.Fatal(err)
		}
		m, err := Load(path, Options{Threads: 2, ContextLength: 1024, Parallel: 8})
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{1, 4, 8} {
			b.Run(fmt.Sprintf("%s/seqs=%d", typ, n), func(b *testing.B) {
				benchDecodeStep(b, m, n)
			})
		}
		m.Close()
	}
}

func benchDecodeStep(b *testing.B, m *Model, n int) {
	const ctx = 128
	batch := m.net.NewBatch(n, n)
	segs := make([]model.Segment, n)
	prompt := make([]int, ctx)
	for i := range segs {
		s, err := m.net.NewSession(ctx + 64)
		if err != nil {
			b.Fatal(err)
		}
		for j := range prompt {
			prompt[j] = (j*7919 + 11*i) % m.Config().Vocab
		}
		if _, err := s.Forward(prompt); err != nil {
			b.Fatal(err)
		}
		segs[i] = model.Segment{Session: s, Tokens: []int{i + 1}, Logits: true}
	}
	b.ReportAllocs()
	for b.Loop() {
		if segs[0].Session.Len() >= ctx+32 {
			for _, sg := range segs {
				sg.Session.Truncate(ctx)
			}
		}
		if err := batch.Forward(segs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "tok/s")
}
