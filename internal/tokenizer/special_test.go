package tokenizer

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseSpecial(t *testing.T) {
	tok := loadTokenizer(t, filepath.Join("vocab", "ggml-vocab-gpt-2.gguf"))
	eot, ok := tok.ID("<|endoftext|>")
	if !ok {
		t.Fatal("gpt-2 vocab has no <|endoftext|>")
	}
	tests := []struct {
		text  string
		parse bool
		want  []int
	}{
		{"a<|endoftext|>b", true, []int{64, eot, 65}},
		{"<|endoftext|><|endoftext|>", true, []int{eot, eot}},
		{"a<|endoftext|>b", false, nil}, // only checked not to contain eot
	}
	for _, tt := range tests {
		got := tok.Encode(tt.text, false, tt.parse)
		if tt.want != nil && !equalIDs(got, tt.want) {
			t.Errorf("Encode(%q, parse=%v) = %v, want %v", tt.text, tt.parse, got, tt.want)
		}
		if !tt.parse {
			for _, id := range got {
				if id == eot {
					t.Errorf("Encode(%q) without parseSpecial produced the control token", tt.text)
				}
			}
		}
	}
	if !tok.IsEOG(eot) || !tok.IsControl(eot) {
		t.Errorf("<|endoftext|> should be a control EOG token")
	}
	if got := tok.Decode([]int{64, eot, 65}, false, false); got != "ab" {
		t.Errorf("Decode without unparse = %q", got)
	}
	if got := tok.Decode([]int{64, eot, 65}, false, true); got != "a<|endoftext|>b" {
		t.Errorf("Decode with unparse = %q", got)
	}
}

// TestSyntheticChatML builds a small SPM vocabulary by hand with ChatML
// control tokens and byte fallback, the shape of a chat model.
func TestSyntheticChatML(t *testing.T) {
	toks := []string{"<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>", "▁", "h", "i", "▁h", "▁hi", "\n"}
	types := []int32{TypeUnknown, TypeControl, TypeControl, TypeControl, TypeControl, 1, 1, 1, 1, 1, 1}
	scores := []float32{0, 0, 0, 0, 0, -1, -2, -2, -1.5, -0.5, -1}
	for b := 0; b < 256; b++ {
		toks = append(toks, "<0x"+strings.ToUpper(hex2(byte(b)))+">")
		types = append(types, TypeByte)
		scores = append(scores, 0)
	}
	tok, err := New(Vocab{
		Model: ModelSPM, Tokens: toks, Types: types, Scores: scores,
		BOS: 1, EOS: 2, EOT: NoToken, EOM: NoToken, UNK: 0, PAD: NoToken,
		AddBOS: true, AddSpacePrefix: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := tok.Encode("<|im_start|>hi\n<|im_end|>é", true, true)
	// After a control token the text gets the SPM prefix space again; é has
	// no token and falls back to its two UTF-8 bytes.
	want := []int{1, 3, 9, 10, 4, 5, 11 + 0xC3, 11 + 0xA9}
	if !equalIDs(got, want) {
		t.Fatalf("Encode = %v, want %v", got, want)
	}
	if tok.EOT() != 4 || !tok.IsEOG(4) {
		t.Errorf("EOT = %d, want <|im_end|> (4) detected by text", tok.EOT())
	}
	if s := tok.Decode(got, true, false); s != " hi\n é" {
		t.Errorf("Decode = %q", s)
	}
	d := tok.NewDecoder(DecoderOptions{})
	if s := d.Add(11 + 0xC3); s != "" {
		t.Errorf("half of é emitted: %q", s)
	}
	if s := d.Add(11 + 0xA9); s != "é" {
		t.Errorf("second byte gave %q, want é", s)
	}
}

func hex2(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}

func BenchmarkEncode(b *testing.B) {
	text := strings.Repeat("Once upon a time, there was a little girl named Lily. She loved to play outside in the park! 12345 café 日本語 🙂\n", 20)
	for _, name := range []string{"llama-spm", "gpt-2", "starcoder", "deepseek-llm", "falcon"} {
		b.Run(name, func(b *testing.B) {
			tok := loadTokenizer(b, filepath.Join("vocab", "ggml-vocab-"+name+".gguf"))
			b.SetBytes(int64(len(text)))
			b.ResetTimer()
			for b.Loop() {
				tok.Encode(text, true, false)
			}
		})
	}
	b.Run("qwen2-pretokenize", func(b *testing.B) {
		pre, err := newPreTokenizer("qwen2")
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			pre.split(text)
		}
	})
}

func BenchmarkDecoder(b *testing.B) {
	tok := loadTokenizer(b, filepath.Join("vocab", "ggml-vocab-gpt-2.gguf"))
	ids := tok.Encode(strings.Repeat("It's a test, isn't it? We 're here. ", 50), false, false)
	for b.Loop() {
		d := tok.NewDecoder(DecoderOptions{})
		for _, id := range ids {
			d.Add(id)
		}
		d.Flush()
	}
}

// FuzzRoundTrip: byte fallback (SPM) and byte-level BPE are lossless, so
// decoding what Encode produced gives the text back, for vocabularies that
// do not clean up spaces.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"Hello world", "  two  spaces ", "日本語 🙂", "a\u200bb\t\n\r", "<s></s>", "\xff\xfe", ""} {
		f.Add(s)
	}
	spm := loadTokenizer(f, filepath.Join("vocab", "ggml-vocab-llama-spm.gguf"))
	bpe := loadTokenizer(f, filepath.Join("vocab", "ggml-vocab-deepseek-llm.gguf"))
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			// Invalid bytes come back as U+FFFD from BPE, as in llama.cpp.
			return
		}
		if got := bpe.Decode(bpe.Encode(s, false, false), false, false); got != s {
			t.Errorf("bpe round trip of %q gave %q", s, got)
		}
		if strings.Contains(s, "\u2581") {
			return // SPM's space marker itself decodes to a space
		}
		if got := spm.Decode(spm.Encode(s, false, false), true, false); got != s {
			t.Errorf("spm round trip of %q gave %q", s, got)
		}
	})
}
