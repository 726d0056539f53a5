package engine

import (
	"bytes"
	"context"
	"testing"

	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/synth"
	"github.com/parley-chat/parley/internal/engine/tensor"
)

// flatModel is a random model whose final norm weights are zero, so every
// logit is 0 and greedy decoding always picks token 0.
func flatModel(t *testing.T, meta ...gguf.KV) *Model {
	t.Helper()
	var buf bytes.Buffer
	err := synth.WriteNet(&buf, synth.Net{Arch: "llama", Embd: 32, Layers: 1, Heads: 2, HeadsKV: 1,
		FFN: 32, Vocab: 8, ContextLength: 32, Type: tensor.F32, Meta: meta})
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var kvs []gguf.KV
	for _, k := range f.Keys() {
		v, _ := f.Value(k)
		kvs = append(kvs, gguf.KV{Key: k, Value: v})
	}
	var ts []gguf.TensorData
	for _, ti := range f.Tensors {
		data := f.TensorData(ti)
		if ti.Name == "output_norm.weight" {
			data = make([]byte, len(data))
		}
		ts = append(ts, gguf.TensorData{Name: ti.Name, Dims: ti.Dims, Type: ti.Type, Data: data})
	}
	buf.Reset()
	if err := gguf.Write(&buf, kvs, ts); err != nil {
		t.Fatal(err)
	}
	if f, err = gguf.Parse(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	m, err := New(f, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestEndOfGeneration: the engine ends a generation on the stop tokens its
// caller passes (the vocabulary's end-of-generation set, which the
// tokenizer decides and pins in its own tests), without emitting them, and
// on nothing else: token meanings in the metadata are not its business.
func TestEndOfGeneration(t *testing.T) {
	eos0 := gguf.KV{Key: "tokenizer.ggml.eos_token_id", Value: uint32(0)}
	tests := []struct {
		name       string
		stop       []int
		wantFinish FinishReason
		wantN      int
	}{
		{"stop token sampled", []int{0}, FinishEOG, 0},
		{"one of several", []int{5, 0, 3}, FinishEOG, 0},
		{"stop token never sampled", []int{3}, FinishMaxTokens, 5},
		{"no stop tokens, EOS in the metadata", nil, FinishMaxTokens, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := flatModel(t, eos0)
			ids, res, err := collect(context.Background(), m, []int{1, 2}, Params{MaxTokens: 5, StopTokens: tc.stop})
			if err != nil {
				t.Fatal(err)
			}
			if res.Finish != tc.wantFinish || len(ids) != tc.wantN || res.GeneratedTokens != tc.wantN {
				t.Errorf("finish %q after %v (%d counted), want %q after %d tokens", res.Finish, ids, res.GeneratedTokens, tc.wantFinish, tc.wantN)
			}
		})
	}
}
