package tokenizer

import (
	"bytes"
	"slices"
	"testing"

	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/synth"
	"github.com/parley-chat/parley/internal/sharedtest"
)

// fromMeta builds the tokenizer of a GGUF file holding only meta.
func fromMeta(t *testing.T, meta ...gguf.KV) *Tokenizer {
	t.Helper()
	var buf bytes.Buffer
	if err := gguf.Write(&buf, append([]gguf.KV{{Key: "general.architecture", Value: "llama"}}, meta...), nil); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestEOG pins the end-of-generation set, which decides where every reply
// of the built-in engine ends.
func TestEOG(t *testing.T) {
	spm := func(tokens []string, meta ...gguf.KV) []gguf.KV {
		return append([]gguf.KV{{Key: "tokenizer.ggml.model", Value: ModelSPM}, {Key: "tokenizer.ggml.tokens", Value: tokens}}, meta...)
	}
	plain := []string{"<unk>", "<s>", "a", "b", "c", "d", "e", "f"}
	with := func(i int, s string) []string { ts := slices.Clone(plain); ts[i] = s; return ts }
	eos := func(id uint32) gguf.KV { return gguf.KV{Key: "tokenizer.ggml.eos_token_id", Value: id} }
	tests := []struct {
		name string
		meta []gguf.KV
		want []int
	}{
		{"eos id", spm(plain, eos(3)), []int{3}},
		{"eot id", spm(plain, eos(3), gguf.KV{Key: "tokenizer.ggml.eot_token_id", Value: uint32(5)}), []int{3, 5}},
		{"eom id", spm(plain, eos(3), gguf.KV{Key: "tokenizer.ggml.eom_token_id", Value: uint32(6)}), []int{3, 6}},
		{"end-of-turn text", spm(with(0, "<|im_end|>"), eos(3)), []int{0, 3}},
		{"eom text", spm(with(7, "<|eom_id|>"), eos(3)), []int{3, 7}},
		// DeepSeek's end of sentence is not an end-of-turn text, but with
		// no EOT in the metadata it becomes the EOT.
		{"eot found by text", spm(with(4, "<｜end▁of▁sentence｜>"), eos(3)), []int{3, 4}},
		{"eot named, other text", spm(with(4, "<｜end▁of▁sentence｜>"), eos(3), gguf.KV{Key: "tokenizer.ggml.eot_token_id", Value: uint32(5)}), []int{3, 5}},
		{"SPM default EOS", spm(plain), []int{2}},
		{"no end token", []gguf.KV{{Key: "tokenizer.ggml.model", Value: ModelBPE}, {Key: "tokenizer.ggml.pre", Value: "gpt-2"},
			{Key: "tokenizer.ggml.tokens", Value: plain}, {Key: "tokenizer.ggml.merges", Value: []string{}}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := fromMeta(t, tc.meta...)
			if got := tok.EOG(); !slices.Equal(got, tc.want) {
				t.Errorf("EOG() = %v, want %v", got, tc.want)
			}
			for id := range tok.Size() {
				if tok.IsEOG(id) != slices.Contains(tc.want, id) {
					t.Errorf("IsEOG(%d) = %v", id, tok.IsEOG(id))
				}
			}
		})
	}

	t.Run("synthetic model", func(t *testing.T) {
		// The vocabulary of `parley bench synth` models: <|endoftext|>,
		// <|im_start|>, <|im_end|> first, EOS <|im_end|>.
		meta, err := synth.Vocab(512)
		if err != nil {
			t.Fatal(err)
		}
		if got := fromMeta(t, meta...).EOG(); !slices.Equal(got, []int{0, 2}) {
			t.Errorf("EOG() = %v, want [0 2]", got)
		}
	})
	t.Run("stories260K", func(t *testing.T) {
		f, err := gguf.Open(sharedtest.Stories260K(t))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		tok, err := FromGGUF(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.EOG(); !slices.Equal(got, []int{2}) {
			t.Errorf("EOG() = %v, want [2] (</s>)", got)
		}
	})
	t.Run("copy", func(t *testing.T) {
		tok := fromMeta(t, spm(plain, eos(3))...)
		tok.EOG()[0] = 7
		if !slices.Equal(tok.EOG(), []int{3}) {
			t.Error("EOG's result aliases the tokenizer's set")
		}
	})
}
