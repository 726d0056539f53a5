package synth

import (
	"fmt"
	"sort"
	"strings"

	"github.com/parley-chat/parley/internal/engine/gguf"
)

// special are SmolLM2's leading control tokens (BOS <|im_start|>, EOS
// <|im_end|>).
var special = []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}

// Vocab returns the tokenizer.* metadata of a byte-level BPE vocabulary of
// n tokens in the style of SmolLM2's (pre-tokenizer "smollm"): control
// tokens, the 256 byte symbols, then merges of letters (with or without a
// leading space) into ever longer pieces. The merges are valid (both sides
// are tokens), so any text tokenizes, in Parley and in llama.cpp.
func Vocab(n int) ([]gguf.KV, error) {
	if n < len(special)+256+1 {
		return nil, fmt.Errorf("synth: a vocabulary needs at least %d tokens, got %d", len(special)+257, n)
	}
	tokens := append([]string(nil), special...)
	types := make([]int32, 0, n)
	for range special {
		types = append(types, 3) // control
	}
	byteSym := byteSymbols()
	for b := range 256 {
		tokens = append(tokens, byteSym[b])
		types = append(types, 1)
	}
	letters := make([]string, 26)
	for i := range letters {
		letters[i] = string(rune('a' + i))
	}
	space := byteSym[' ']
	var merges []string
	level := append([]string{space}, letters...)
	for len(tokens) < n {
		var next []string
		for _, left := range level {
			for _, c := range letters {
				if len(tokens) == n {
					break
				}
				tokens = append(tokens, left+c)
				types = append(types, 1)
				merges = append(merges, left+" "+c)
				next = append(next, left+c)
			}
		}
		level = next
	}
	return []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: "gpt2"},
		{Key: "tokenizer.ggml.pre", Value: "smollm"},
		{Key: "tokenizer.ggml.tokens", Value: tokens},
		{Key: "tokenizer.ggml.token_type", Value: types},
		{Key: "tokenizer.ggml.merges", Value: merges},
		{Key: "tokenizer.ggml.bos_token_id", Value: uint32(1)},
		{Key: "tokenizer.ggml.eos_token_id", Value: uint32(2)},
		{Key: "tokenizer.ggml.unknown_token_id", Value: uint32(0)},
		{Key: "tokenizer.ggml.padding_token_id", Value: uint32(2)},
		{Key: "tokenizer.ggml.add_bos_token", Value: false},
	}, nil
}

// byteSymbols is GPT-2's byte-to-unicode table: printable bytes stand for
// themselves, the rest are shifted to code points from 256 up.
func byteSymbols() [256]string {
	var printable []int
	for b := '!'; b <= '~'; b++ {
		printable = append(printable, int(b))
	}
	for b := 0xA1; b <= 0xAC; b++ {
		printable = append(printable, b)
	}
	for b := 0xAE; b <= 0xFF; b++ {
		printable = append(printable, b)
	}
	sort.Ints(printable)
	var out [256]string
	is := make(map[int]bool, len(printable))
	for _, b := range printable {
		is[b] = true
		out[b] = string(rune(b))
	}
	next := 256
	for b := range 256 {
		if !is[b] {
			out[b] = string(rune(next))
			next++
		}
	}
	return out
}

// VocabFrom returns the tokenizer.* metadata of f (a model or a
// vocabulary-only GGUF such as llama.cpp's models/ggml-vocab-*.gguf), for
// Options.Vocab: a synthetic model with a real tokenizer.
func VocabFrom(f *gguf.File) ([]gguf.KV, error) {
	var kv []gguf.KV
	for _, k := range f.Keys() {
		if strings.HasPrefix(k, "tokenizer.") {
			v, _ := f.Value(k)
			kv = append(kv, gguf.KV{Key: k, Value: v})
		}
	}
	if toks, _ := f.Strings("tokenizer.ggml.tokens"); len(toks) == 0 {
		return nil, fmt.Errorf("synth: the file has no tokenizer.ggml.tokens")
	}
	return kv, nil
}
