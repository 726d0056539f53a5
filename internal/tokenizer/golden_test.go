package tokenizer

import (
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/sharedtest"
)

type tokenizeGolden struct {
	Model  string `json:"model"`
	NVocab int    `json:"n_vocab"`
	BOS    int    `json:"bos"`
	EOS    int    `json:"eos"`
	Cases  []struct {
		Text                  string   `json:"text"`
		IDsAddSpecial         []int    `json:"ids_add_special"`
		IDsNoSpecial          []int    `json:"ids_no_special"`
		IDsAddParseSpecial    []int    `json:"ids_add_special_parse_special"`
		PiecesHexNoSpecial    []string `json:"pieces_hex_no_special"`
		DetokAddRemoveSpecial string   `json:"detok_add_special_ids_remove_special"`
		DetokNoSpecial        string   `json:"detok_no_special_ids"`
	} `json:"cases"`
}

var goldenFiles = []string{
	"stories260K", "ggml-vocab-llama-spm", "ggml-vocab-phi-3", "ggml-vocab-gpt-2",
	"ggml-vocab-starcoder", "ggml-vocab-deepseek-llm",
}

func readGolden(t *testing.T, name string) tokenizeGolden {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sharedtest.Dir(t), "golden", name+".tokenize.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g tokenizeGolden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return g
}

// TestTokenizeGolden checks ids (three add/parse variants), pieces and
// detokenization against llama.cpp's output for 25 tricky strings.
func TestTokenizeGolden(t *testing.T) {
	for _, name := range goldenFiles {
		t.Run(name, func(t *testing.T) {
			g := readGolden(t, name)
			tok := loadTokenizer(t, g.Model)
			if tok.Size() != g.NVocab || tok.BOS() != g.BOS || tok.EOS() != g.EOS {
				t.Fatalf("size/bos/eos = %d/%d/%d, want %d/%d/%d", tok.Size(), tok.BOS(), tok.EOS(), g.NVocab, g.BOS, g.EOS)
			}
			for i, c := range g.Cases {
				t.Run(strconv.Itoa(i), func(t *testing.T) {
					check := func(what string, got, want []int) {
						if !equalIDs(got, want) && !(len(got) == 0 && len(want) == 0) {
							t.Errorf("%s(%q)\n got %v\nwant %v", what, c.Text, got, want)
						}
					}
					check("add_special", tok.Encode(c.Text, true, false), c.IDsAddSpecial)
					check("no_special", tok.Encode(c.Text, false, false), c.IDsNoSpecial)
					check("add+parse_special", tok.Encode(c.Text, true, true), c.IDsAddParseSpecial)
					var pieces []string
					for _, id := range c.IDsNoSpecial {
						pieces = append(pieces, hex.EncodeToString(tok.Piece(id, false)))
					}
					if strings.Join(pieces, ",") != strings.Join(c.PiecesHexNoSpecial, ",") {
						t.Errorf("pieces(%q)\n got %v\nwant %v", c.Text, pieces, c.PiecesHexNoSpecial)
					}
					if got := tok.Decode(c.IDsAddSpecial, true, false); got != c.DetokAddRemoveSpecial {
						t.Errorf("Decode(add_special ids of %q) = %q, want %q", c.Text, got, c.DetokAddRemoveSpecial)
					}
					if got := tok.Decode(c.IDsNoSpecial, true, false); got != c.DetokNoSpecial {
						t.Errorf("Decode(ids of %q) = %q, want %q", c.Text, got, c.DetokNoSpecial)
					}
					for _, ids := range [][]int{c.IDsAddSpecial, c.IDsNoSpecial} {
						if got, want := streamAll(tok, ids, true), tok.Decode(ids, true, false); got != want {
							t.Errorf("streamed %v = %q, Decode = %q", ids, got, want)
						}
					}
				})
			}
		})
	}
}

func streamAll(tok *Tokenizer, ids []int, start bool) string {
	d := tok.NewDecoder(DecoderOptions{StartOfText: start})
	var b strings.Builder
	for _, id := range ids {
		s := d.Add(id)
		if strings.ContainsRune(s, '\uFFFD') {
			// A split UTF-8 sequence would show up as a replacement rune
			// once the caller converts it; none of the inputs have one.
			return "split rune in " + strconv.Quote(s)
		}
		b.WriteString(s)
	}
	b.WriteString(d.Flush())
	return b.String()
}

type greedyGolden struct {
	Model   string `json:"model"`
	Results []struct {
		Prompt              string `json:"prompt"`
		PromptIDs           []int  `json:"prompt_ids"`
		GeneratedIDs        []int  `json:"generated_ids"`
		GeneratedText       string `json:"generated_text"`
		FullTextDetokenized string `json:"full_text_detokenized"`
	} `json:"results"`
}

// TestStoriesGreedyText checks prompt ids, streamed generation text and
// full detokenization of the tiny model's greedy runs.
func TestStoriesGreedyText(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(sharedtest.Dir(t), "golden", "stories260K.greedy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g greedyGolden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	tok := loadTokenizer(t, g.Model)
	for i, r := range g.Results {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			if got := tok.Encode(r.Prompt, true, false); !equalIDs(got, r.PromptIDs) {
				t.Errorf("Encode(%q) = %v, want %v", r.Prompt, got, r.PromptIDs)
			}
			if got := streamAll(tok, r.GeneratedIDs, false); got != r.GeneratedText {
				t.Errorf("streamed generation = %q, want %q", got, r.GeneratedText)
			}
			all := append(append([]int(nil), r.PromptIDs...), r.GeneratedIDs...)
			if got := tok.Decode(all, true, false); got != r.FullTextDetokenized {
				t.Errorf("Decode = %q, want %q", got, r.FullTextDetokenized)
			}
		})
	}
}

// TestDecoderMatchesDecode streams random id sequences (byte tokens, spaces
// and punctuation included) and requires the same text as Decode, for an
// SPM vocabulary and a space-cleaning BPE one.
func TestDecoderMatchesDecode(t *testing.T) {
	texts := []string{
		"It's a test , isn't it ? 'tis ' quoted ' and we 're here 've 'll 'd 'm !",
		"日本語 emoji 🙂 🐶! café – naïve \t tab\nnewline . , ? !",
	}
	for _, name := range []string{"ggml-vocab-llama-spm", "ggml-vocab-gpt-2", "ggml-vocab-starcoder"} {
		t.Run(name, func(t *testing.T) {
			tok := loadTokenizer(t, filepath.Join("vocab", name+".gguf"))
			var pool []int
			for _, s := range texts {
				pool = append(pool, tok.Encode(s, false, false)...)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for i := 0; i < 300; i++ {
				ids := make([]int, rng.IntN(40))
				if i%10 == 0 {
					ids = make([]int, 600) // long enough to exercise compaction
				}
				for j := range ids {
					ids[j] = pool[rng.IntN(len(pool))]
				}
				start := i%2 == 0
				want := tok.Decode(ids, true, false)
				if !start && tok.addSpacePrefix {
					// Without StartOfText nothing is stripped.
					want = string(concatPieces(tok, ids))
				}
				d := tok.NewDecoder(DecoderOptions{StartOfText: start})
				var b strings.Builder
				for _, id := range ids {
					b.WriteString(d.Add(id))
				}
				b.WriteString(d.Flush())
				if b.String() != want {
					t.Fatalf("ids %v: streamed %q, Decode %q", ids, b.String(), want)
				}
			}
		})
	}
}

func concatPieces(tok *Tokenizer, ids []int) []byte {
	var out []byte
	for _, id := range ids {
		out = append(out, tok.Piece(id, false)...)
	}
	if tok.cleanSpaces {
		out = cleanSpaces(out)
	}
	return out
}
