package builtin

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/engine"
	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/synth"
	"github.com/parley-chat/parley/internal/engine/tensor"
)

// byteTokens is GPT-2's byte-level alphabet: printable bytes stand for
// themselves, the others for code points from U+0100 on.
func byteTokens() []string {
	var out []string
	n := 0
	for b := range 256 {
		switch {
		case b >= '!' && b <= '~', b >= 0xA1 && b <= 0xAC, b >= 0xAE:
			out = append(out, string(rune(b)))
		default:
			out = append(out, string(rune(256+n)))
			n++
		}
	}
	return out
}

const chatML = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}" +
	"{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"

// chatModel writes a qwen2-shaped random model with a byte-level BPE
// vocabulary and a ChatML template. Its final norm is zero, so every logit
// is 0 and greedy decoding always picks token 0, whose text is first.
func chatModel(t *testing.T, first string) string {
	t.Helper()
	bt := byteTokens()
	var tokens []string
	for _, s := range bt {
		if s != first {
			tokens = append(tokens, s)
		}
	}
	tokens = append([]string{first}, tokens...)
	for _, s := range []string{"<|im_start|>", "<|im_end|>", "<|endoftext|>"} {
		if s != first {
			tokens = append(tokens, s)
		}
	}
	types := make([]int32, len(tokens))
	for i, s := range tokens {
		types[i] = 1
		if strings.HasPrefix(s, "<|") {
			types[i] = 3
		}
	}
	index := func(s string) uint32 {
		for i, x := range tokens {
			if x == s {
				return uint32(i)
			}
		}
		t.Fatalf("no token %q", s)
		return 0
	}
	meta := []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: "gpt2"},
		{Key: "tokenizer.ggml.pre", Value: "qwen2"},
		{Key: "tokenizer.ggml.tokens", Value: tokens},
		{Key: "tokenizer.ggml.token_type", Value: types},
		{Key: "tokenizer.ggml.merges", Value: []string{}},
		{Key: "tokenizer.ggml.eos_token_id", Value: index("<|endoftext|>")},
		{Key: "tokenizer.ggml.bos_token_id", Value: index("<|endoftext|>")},
		{Key: "tokenizer.ggml.add_bos_token", Value: false},
		{Key: "tokenizer.chat_template", Value: chatML},
	}
	var buf bytes.Buffer
	err := synth.WriteNet(&buf, synth.Net{Arch: "qwen2", Embd: 64, Layers: 1, Heads: 2, HeadsKV: 1,
		FFN: 64, Vocab: len(tokens), ContextLength: 128, Type: tensor.Q8_0, Meta: meta})
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
	path := filepath.Join(t.TempDir(), "tiny-chat.gguf")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := gguf.Write(out, kvs, ts); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestChatTemplateModel(t *testing.T) {
	tests := []struct {
		name, first string
		want        string
		finish      string
		completion  int
	}{
		{"ends its turn", "<|im_end|>", "", chat.FinishStop, 0},
		{"ends on EOS", "<|endoftext|>", "", chat.FinishStop, 0},
		{"keeps talking", "!", "!!!!!", chat.FinishLength, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Open(Config{ModelPath: chatModel(t, tc.first), Engine: engine.Options{Threads: 1}})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			if g.ID() != "tiny-chat" || !g.Chats() {
				t.Errorf("id %q, Chats() %v", g.ID(), g.Chats())
			}
			deltas, gen, err := run(context.Background(), g, chat.GenerateRequest{
				Model:    "tiny-chat",
				Messages: []chat.Turn{{Role: chat.RoleUser, Content: "hi"}},
				Params:   chat.Params{Temperature: ptr(0.0), MaxTokens: 5},
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(deltas, ""); got != tc.want {
				t.Errorf("reply %q, want %q", got, tc.want)
			}
			// <|im_start|> user \n h i <|im_end|> \n <|im_start|> assistant(9) \n:
			// the template's special tokens must be single tokens.
			want := chat.Generation{Model: "tiny-chat", FinishReason: tc.finish,
				Usage: chat.Usage{PromptTokens: 1 + 4 + 1 + 2 + 1 + 1 + 1 + 9 + 1, CompletionTokens: tc.completion}}
			if gen != want {
				t.Errorf("generation %+v, want %+v", gen, want)
			}
		})
	}
}

// TestDeltasAreValidUTF8: a model that keeps emitting the first byte of a
// two-byte character never completes it; each delta is still valid UTF-8
// (the tokenizer's tests pin that a split character is held back until
// its last byte arrives).
func TestDeltasAreValidUTF8(t *testing.T) {
	g, err := Open(Config{ModelPath: chatModel(t, string(rune(0xC3))), Engine: engine.Options{Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	deltas, _, err := run(context.Background(), g, chat.GenerateRequest{
		Messages: []chat.Turn{{Role: chat.RoleUser, Content: "hi"}},
		Params:   chat.Params{Temperature: ptr(0.0), MaxTokens: 5},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deltas {
		if !utf8.ValidString(d) {
			t.Errorf("delta %q is not valid UTF-8", d)
		}
	}
	if got := strings.Join(deltas, ""); got != strings.Repeat("\uFFFD", 5) {
		t.Errorf("reply %q, want five replacement characters", got)
	}
}
