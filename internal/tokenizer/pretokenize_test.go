package tokenizer

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestPreTokenizerAgainstHFRegex compares the Llama 3, Qwen2 and GPT-2
// splitters with the original tokenizer.json regexes as run by Python's
// `regex` module (testdata/pretokenize-hf-regex.json, generated from
// llama.cpp's test strings plus a few extra). Llama 3 and Qwen2 vocabularies
// are not available here, so this is what checks their pre-tokenizers.
func TestPreTokenizerAgainstHFRegex(t *testing.T) {
	data, err := os.ReadFile("testdata/pretokenize-hf-regex.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden map[string]struct {
		Cases []struct {
			Text  string   `json:"text"`
			Words []string `json:"words"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &golden); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"llama-bpe", "qwen2", "gpt-2"} {
		t.Run(name, func(t *testing.T) {
			g, ok := golden[name]
			if !ok || len(g.Cases) == 0 {
				t.Fatalf("no golden cases for %s", name)
			}
			pre, err := newPreTokenizer(name)
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range g.Cases {
				t.Run(strconv.Itoa(i), func(t *testing.T) {
					got := pre.words(c.Text)
					if len(c.Words) == 0 && len(got) == 0 {
						return
					}
					if strings.Join(got, "\x00") != strings.Join(c.Words, "\x00") {
						t.Errorf("words(%q)\n got %q\nwant %q", c.Text, got, c.Words)
					}
				})
			}
		})
	}
}

func TestPreTokenizerNames(t *testing.T) {
	for _, name := range []string{
		"", "default", "llama3", "llama-bpe", "smollm", "starcoder", "qwen2", "gpt-2",
		"deepseek-llm", "deepseek-coder", "falcon", "mpt", "refact", "command-r",
		"stablelm2", "poro-chat", "viking", "dbrx",
	} {
		if _, err := newPreTokenizer(name); err != nil {
			t.Errorf("%q: %v", name, err)
		}
	}
	if _, err := newPreTokenizer("no-such-pre"); err == nil {
		t.Error("unknown pre-tokenizer accepted")
	}
}

func TestCollapseRegex(t *testing.T) {
	tests := []struct{ in, want string }{
		{`\p{N}`, `[\u00D10-9]`},
		{`[^\s\p{L}\p{N}]+`, `[^\s\u00D2A-Za-z\u00D10-9]+`},
		{`\s?\p{P}+`, `\s?[\u00D3!-#%-*,-/:-;?-@\[-\]_\{\}]+`},
	}
	for _, tt := range tests {
		if got := collapseRegex(tt.in); got != tt.want {
			t.Errorf("collapseRegex(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
