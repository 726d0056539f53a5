package synth

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/parley-chat/parley/internal/engine"
	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/tensor"
	"github.com/parley-chat/parley/internal/tokenizer"
)

func TestQuantTypeFollowsLlamaQuantize(t *testing.T) {
	tests := []struct {
		main      tensor.Type
		name      string
		cols      int
		hasOutput bool
		want      tensor.Type
	}{
		{tensor.Q4_0, "token_embd.weight", 576, false, tensor.Q8_0}, // tied token_embd of SmolLM2: Q6_K does not fit 576
		{tensor.Q4_0, "token_embd.weight", 576, true, tensor.Q4_0},
		{tensor.Q4_0, "blk.0.attn_q.weight", 576, false, tensor.Q4_0},
		{tensor.Q4_K, "blk.3.ffn_up.weight", 576, false, tensor.Q5_0},
		{tensor.Q4_K, "blk.3.ffn_up.weight", 1536, false, tensor.Q4_K},
		{tensor.Q4_K, "output.weight", 512, true, tensor.Q6_K},
		{tensor.Q4_K, "token_embd.weight", 512, true, tensor.Q4_K},
		{tensor.Q4_K, "token_embd.weight", 896, false, tensor.Q8_0}, // Qwen2.5 0.5B
		{tensor.Q8_0, "output.weight", 576, true, tensor.Q8_0},
		{tensor.Q8_0, "blk.0.ffn_down.weight", 172, false, tensor.F16}, // stories260K's ffn_down rows
		{tensor.Q6_K, "token_embd.weight", 256, false, tensor.Q6_K},
		{tensor.Q6_K, "blk.1.attn_v.weight", 192, false, tensor.Q8_0},
		{tensor.F16, "output.weight", 172, true, tensor.F16},
		{tensor.F32, "blk.0.ffn_down.weight", 172, false, tensor.F32},
		// Q4_K_M's extra bits for attn_v and ffn_down in 8 layers: 0, 3, 6, 7.
		{tensor.Q4_K, "blk.0.attn_v.weight", 256, false, tensor.Q6_K},
		{tensor.Q4_K, "blk.1.attn_v.weight", 256, false, tensor.Q4_K},
		{tensor.Q4_K, "blk.3.ffn_down.weight", 256, false, tensor.Q6_K},
		{tensor.Q4_K, "blk.5.ffn_down.weight", 256, false, tensor.Q4_K},
		{tensor.Q4_K, "blk.6.attn_v.weight", 256, false, tensor.Q6_K},
		{tensor.Q4_K, "blk.7.attn_v.weight", 192, false, tensor.Q8_0},
		{tensor.Q4_K, "blk.6.attn_k.weight", 256, false, tensor.Q4_K},
	}
	for _, tt := range tests {
		if got := quantType(tt.main, tt.name, tt.cols, 8, tt.hasOutput); got != tt.want {
			t.Errorf("quantType(%v, %s, %d cols, output %v) = %v, want %v", tt.main, tt.name, tt.cols, tt.hasOutput, got, tt.want)
		}
	}
}

// TestWriteLoads writes the tiny shape in every type and runs it with the
// engine: the file must parse, bind and generate.
func TestWriteLoads(t *testing.T) {
	shape, err := LookupShape("stories260k")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, typ := range Types {
		t.Run(typ.String(), func(t *testing.T) {
			o := Options{Shape: shape, Type: typ, Seed: 7}
			var buf bytes.Buffer
			if err := Write(&buf, o); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, typ.String()+".gguf")
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := engine.Load(path, engine.Options{Threads: 1, ContextLength: 64})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			f := m.File()
			var size int64
			for _, ti := range f.Tensors {
				size += int64(len(f.TensorData(ti)))
			}
			if size != Size(o) {
				t.Errorf("tensor bytes %d, Size says %d", size, Size(o))
			}
			if ti, _ := f.Tensor("blk.0.attn_q.weight"); tensor.Type(ti.Type) != quantType(typ, ti.Name, shape.Embd, shape.Layers, true) {
				t.Errorf("attn_q type %v", tensor.Type(ti.Type))
			}
			if c := m.Config(); c.Embd != 64 || c.Layers != 5 || c.HeadsKV != 4 || c.FFN != 172 || c.Vocab != 512 {
				t.Errorf("config %+v", c)
			}
			n := 0
			res, err := m.Generate(context.Background(), []int{1, 300, 301}, engine.Params{MaxTokens: 4}, func(int) error { n++; return nil })
			if err != nil || res.GeneratedTokens+boolInt(res.Finish == engine.FinishEOG) == 0 {
				t.Fatalf("generate: %+v, %v", res, err)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestVocabTokenizes(t *testing.T) {
	for _, n := range []int{512, 49152} {
		kv, err := Vocab(n)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := gguf.Write(&buf, append([]gguf.KV{{Key: "general.architecture", Value: "llama"}}, kv...), nil); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Parse(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		tok, err := tokenizer.FromGGUF(f)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Size() != n || tok.BOS() != 1 || tok.EOS() != 2 {
			t.Fatalf("size %d bos %d eos %d", tok.Size(), tok.BOS(), tok.EOS())
		}
		for _, s := range []string{"hello world", "Once upon a time, 42 cats\n", "héllo 🙂"} {
			ids := tok.Encode(s, false, false)
			if got := tok.Decode(ids, true, false); got != s {
				t.Errorf("vocab %d: %q round-trips to %q (ids %v)", n, s, got, ids)
			}
			if n == 49152 && len(ids) >= len(s) && s == "hello world" {
				t.Errorf("vocab %d: merges unused, %q is %d tokens", n, s, len(ids))
			}
		}
	}
	if _, err := Vocab(100); err == nil {
		t.Error("a vocabulary smaller than the byte symbols was accepted")
	}
}

func TestLookupShape(t *testing.T) {
	if s, err := LookupShape("SmolLM2-135M"); err != nil || s.Embd != 576 || s.Layers != 30 || !s.Tied || s.Vocab != 49152 {
		t.Errorf("smollm2-135m = %+v, %v", s, err)
	}
	if _, err := LookupShape("gpt-5"); err == nil {
		t.Error("unknown shape accepted")
	}
	s, _ := LookupShape("smollm2-135m")
	// llama-bench reports these sizes for llama-quantize's files.
	for typ, mib := range map[tensor.Type]float64{tensor.F32: 513.13, tensor.F16: 256.63, tensor.Q8_0: 136.40, tensor.Q4_0: 85.77} {
		if got := float64(Size(Options{Shape: s, Type: typ})) / (1 << 20); got < mib-0.01 || got > mib+0.01 {
			t.Errorf("%v: %.2f MiB, llama.cpp's file is %.2f MiB", typ, got, mib)
		}
	}
}
