package tokenizer

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/parley-chat/parley/internal/sharedtest"

	"github.com/parley-chat/parley/internal/engine/gguf"
)

var (
	tokCacheMu sync.Mutex
	tokCache   = map[string]*Tokenizer{}
)

// loadTokenizer opens a GGUF file (relative to the shared testdata) once per
// test binary; vocabularies are large and tests reuse them.
func loadTokenizer(t testing.TB, rel string) *Tokenizer {
	t.Helper()
	path := filepath.Join(sharedtest.Dir(t), rel)
	tokCacheMu.Lock()
	defer tokCacheMu.Unlock()
	if tok, ok := tokCache[path]; ok {
		return tok
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", rel, err)
	}
	defer f.Close()
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatalf("tokenizer from %s: %v", rel, err)
	}
	tokCache[path] = tok
	return tok
}

type vocabCase struct {
	text string
	ids  []int
}

// readVectors reads llama.cpp's .inp/.out test vectors the way
// test-tokenizer-0 does: inputs joined by "\n__ggml_vocab_test__\n" with
// a trailing separator, one output line per input.
func readVectors(t *testing.T, base string) []vocabCase {
	t.Helper()
	inp, err := os.ReadFile(base + ".inp")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(base + ".out")
	if err != nil {
		t.Fatal(err)
	}
	texts := strings.Split(string(inp), "\n__ggml_vocab_test__\n")
	if texts[len(texts)-1] == "" {
		texts = texts[:len(texts)-1]
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(texts) != len(lines) {
		t.Fatalf("%s: %d inputs but %d outputs", base, len(texts), len(lines))
	}
	cases := make([]vocabCase, len(texts))
	for i, text := range texts {
		var ids []int
		for _, f := range strings.Fields(lines[i]) {
			id, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("%s line %d: %v", base, i+1, err)
			}
			ids = append(ids, id)
		}
		cases[i] = vocabCase{text: text, ids: ids}
	}
	return cases
}

// TestVocabVectors runs llama.cpp's test-tokenizer-0 vectors (Hugging Face
// ids, add_special=false, parse_special=false) for every vocabulary here.
func TestVocabVectors(t *testing.T) {
	td := sharedtest.Dir(t)
	for _, name := range []string{
		"llama-spm", "phi-3", "gpt-2", "starcoder", "refact",
		"deepseek-coder", "deepseek-llm", "falcon", "mpt",
	} {
		t.Run(name, func(t *testing.T) {
			tok := loadTokenizer(t, filepath.Join("vocab", "ggml-vocab-"+name+".gguf"))
			for i, c := range readVectors(t, filepath.Join(td, "vocab", "ggml-vocab-"+name+".gguf")) {
				t.Run(strconv.Itoa(i), func(t *testing.T) {
					got := tok.Encode(c.text, false, false)
					if !equalIDs(got, c.ids) {
						t.Errorf("Encode(%q)\n got %v\nwant %v", c.text, got, c.ids)
					}
				})
			}
		})
	}
}

// TestVectorsWithoutVocab documents the vectors that cannot run: their
// vocabularies (Llama 3, Qwen2) were too large to bring along.
func TestVectorsWithoutVocab(t *testing.T) {
	td := sharedtest.Dir(t)
	for _, name := range []string{"llama-bpe", "qwen2"} {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join(td, "vocab", "ggml-vocab-"+name+".gguf")
			if _, err := os.Stat(base); err == nil {
				t.Fatalf("%s now has a vocabulary: add it to TestVocabVectors", name)
			}
			if n := len(readVectors(t, base)); n == 0 {
				t.Fatal("no vectors")
			}
			t.Skipf("vectors for %s exist but its vocabulary GGUF is not available", name)
		})
	}
}

func equalIDs(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
