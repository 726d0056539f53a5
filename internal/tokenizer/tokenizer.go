// Package tokenizer turns text into token ids and back for the vocabularies
// stored in GGUF model files: SentencePiece-style vocabularies
// (tokenizer.ggml.model = "llama") and byte-level BPE ones ("gpt2") with the
// pre-tokenizers llama.cpp selects by tokenizer.ggml.pre.
//
// The behaviour follows llama.cpp's llama-vocab.cpp and unicode.cpp closely,
// down to their quirks, because the ids a model was trained on are only
// reproduced by doing exactly what the reference does; the tests compare
// against llama.cpp's own test vectors and goldens.
//
// Not covered: the WordPiece, Unigram (T5), RWKV and PLaMo-2 vocabulary
// kinds, and pre-tokenizers llama.cpp added for newer model families
// (tekken, gpt-4o, chameleon, kimi-k2, ...); New reports them as errors.
package tokenizer

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Model kinds as stored in tokenizer.ggml.model.
const (
	ModelSPM = "llama" // SentencePiece-style: scores, ▁ for spaces, <0xXX> byte fallback
	ModelBPE = "gpt2"  // byte-level BPE: merges ranked by order
)

// Token types as stored in tokenizer.ggml.token_type.
const (
	TypeUndefined   = 0
	TypeNormal      = 1
	TypeUnknown     = 2
	TypeControl     = 3
	TypeUserDefined = 4
	TypeUnused      = 5
	TypeByte        = 6
)

// attr mirrors llama.cpp's llama_token_attr bit set.
type attr uint16

const (
	attrUnknown attr = 1 << iota
	attrUnused
	attrNormal
	attrControl
	attrUserDefined
	attrByte
	attrNormalized
	attrLStrip
	attrRStrip
	attrSingleWord
)

// NoToken marks an absent special token id.
const NoToken = -1

// Vocab is everything the tokenizer needs, independent of where it was read
// from. Ids that do not exist are NoToken. New uses the flags as given;
// FromGGUF fills in llama.cpp's defaults for keys the file leaves out.
type Vocab struct {
	Model  string // ModelSPM or ModelBPE
	Pre    string // pre-tokenizer name (BPE only), e.g. "llama-bpe", "qwen2"
	Tokens []string
	Scores []float32 // SPM merge priorities; may be nil for BPE
	Types  []int32   // Type* per token; nil means all normal
	Merges []string  // BPE merges "left right", highest priority first

	BOS, EOS, EOT, EOM, UNK, PAD int

	AddBOS, AddEOS, AddSpacePrefix bool

	// ModelName is general.name; llama.cpp keys a few per-model token
	// attribute fixes on it (Phi-3 strips spaces after its special tokens).
	ModelName string
}

type mergeKey struct{ left, right string }

// Tokenizer encodes and decodes with one vocabulary. It is immutable after
// construction and safe for concurrent use.
type Tokenizer struct {
	spm    bool
	tokens []string
	scores []float32
	attrs  []attr
	toID   map[string]int
	ranks  map[mergeKey]int
	pre    *preTokenizer

	byteIDs [256]int // SPM byte fallback tokens
	special []int    // control, user-defined and unknown ids, longest text first
	pieces  [][]byte // token_to_piece(special = true)
	eog     map[int]bool
	eogIDs  []int // eog's keys, ascending

	bos, eos, eot, eom, unk, pad int

	addBOS, addEOS, addSpacePrefix bool
	ignoreMerges, cleanSpaces      bool
}

// New builds a tokenizer from v.
func New(v Vocab) (*Tokenizer, error) {
	n := len(v.Tokens)
	if n == 0 {
		return nil, fmt.Errorf("tokenizer: empty vocabulary")
	}
	t := &Tokenizer{
		tokens: append([]string(nil), v.Tokens...), // empty entries get rewritten
		scores: v.Scores,
		attrs:  make([]attr, n),
		toID:   make(map[string]int, n),
		eog:    map[int]bool{},
		bos:    checkID(v.BOS, n), eos: checkID(v.EOS, n), eot: checkID(v.EOT, n),
		eom: checkID(v.EOM, n), unk: checkID(v.UNK, n), pad: checkID(v.PAD, n),
		addBOS: v.AddBOS, addEOS: v.AddEOS, addSpacePrefix: v.AddSpacePrefix,
	}
	if t.scores != nil && len(t.scores) < n {
		return nil, fmt.Errorf("tokenizer: %d scores for %d tokens", len(t.scores), n)
	}
	if v.Types != nil && len(v.Types) < n {
		return nil, fmt.Errorf("tokenizer: %d token types for %d tokens", len(v.Types), n)
	}
	switch v.Model {
	case ModelSPM:
		t.spm = true
	case ModelBPE:
		pre, err := newPreTokenizer(v.Pre)
		if err != nil {
			return nil, err
		}
		t.pre = pre
		t.ignoreMerges = pre.ignoreMerges
		t.cleanSpaces = pre.cleanSpaces
		t.ranks = make(map[mergeKey]int, len(v.Merges))
		for i, m := range v.Merges {
			// llama.cpp splits at the first space after position 0, so a
			// merge whose left side is a space-like glyph still parses.
			var k mergeKey
			if p := strings.IndexByte(m[min(1, len(m)):], ' '); p >= 0 {
				p += min(1, len(m))
				k = mergeKey{m[:p], m[p+1:]}
			}
			if _, dup := t.ranks[k]; !dup {
				t.ranks[k] = i
			}
		}
	default:
		return nil, fmt.Errorf("tokenizer: unsupported model %q", v.Model)
	}

	for i, s := range v.Tokens {
		if s == "" {
			s = fmt.Sprintf("[EMPTY_%d]", i) // as llama.cpp names them
			t.tokens[i] = s
		}
		if _, dup := t.toID[s]; dup {
			return nil, fmt.Errorf("tokenizer: duplicate token %q", s)
		}
		t.toID[s] = i
		t.attrs[i] = attrNormal
		if v.Types != nil {
			t.attrs[i] = typeAttr(v.Types[i])
		}
	}
	t.detectSpecial()
	t.buildByteIDs()
	t.buildCaches(strings.ToLower(v.ModelName))
	return t, nil
}

func checkID(id, n int) int {
	if id < 0 || id >= n {
		return NoToken
	}
	return id
}

func typeAttr(tt int32) attr {
	switch tt {
	case TypeUnknown:
		return attrUnknown
	case TypeUnused:
		return attrUnused
	case TypeNormal:
		return attrNormal
	case TypeControl:
		return attrControl
	case TypeUserDefined:
		return attrUserDefined
	case TypeByte:
		return attrByte
	}
	return 0
}

// eogTexts are the token texts llama.cpp treats as end of generation (and
// forces to control type) whatever the file says.
var eogTexts = []string{
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
	"<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>",
}

// eotTexts are the texts llama.cpp picks the EOT token from when the file
// names none.
var eotTexts = []string{
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
	"<|end_of_text|>", "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
}

func (t *Tokenizer) detectSpecial() {
	if t.eot == NoToken {
		for _, s := range eotTexts {
			if id, ok := t.toID[s]; ok {
				t.eot = id
				t.attrs[id] |= attrControl
				break
			}
		}
	}
	if t.eom == NoToken {
		if id, ok := t.toID["<|eom_id|>"]; ok {
			t.eom = id
			t.attrs[id] |= attrControl
		}
	}
	for _, s := range eogTexts {
		if id, ok := t.toID[s]; ok {
			t.eog[id] = true
			t.attrs[id] |= attrControl
		}
	}
	for _, id := range []int{t.eos, t.eot, t.eom} {
		if id != NoToken {
			t.eog[id] = true
		}
	}
	for id := range t.eog {
		t.eogIDs = append(t.eogIDs, id)
	}
	sort.Ints(t.eogIDs)
}

func (t *Tokenizer) buildCaches(modelName string) {
	for id, a := range t.attrs {
		if a&(attrControl|attrUserDefined|attrUnknown) != 0 {
			t.special = append(t.special, id)
		}
	}
	sort.SliceStable(t.special, func(i, j int) bool {
		return len(t.tokens[t.special[i]]) > len(t.tokens[t.special[j]])
	})
	t.pieces = make([][]byte, len(t.tokens))
	for id := range t.tokens {
		t.pieces[id] = t.makePiece(id)
	}
	if strings.Contains(modelName, "phi-3") || strings.Contains(modelName, "phi3") {
		for _, id := range t.special {
			t.attrs[id] |= attrRStrip
		}
		t.setAttr("</s>", attrRStrip, true)
		for _, s := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			t.setAttr(s, attrRStrip, false)
		}
	}
}

func (t *Tokenizer) setAttr(text string, a attr, on bool) {
	id, ok := t.toID[text]
	if !ok {
		return
	}
	if on {
		t.attrs[id] |= a
	} else {
		t.attrs[id] &^= a
	}
}

// makePiece is llama.cpp's token_to_piece with special = true, no lstrip.
func (t *Tokenizer) makePiece(id int) []byte {
	a, text := t.attrs[id], t.tokens[id]
	if a&(attrControl|attrUnknown|attrUserDefined) != 0 {
		return []byte(text)
	}
	if a&attrNormal != 0 {
		if t.spm {
			return []byte(strings.ReplaceAll(text, "\u2581", " "))
		}
		return decodeByteLevel(text)
	}
	if a&attrByte != 0 {
		if b, ok := byteTokenValue(text); ok {
			return []byte{b}
		}
	}
	return nil
}

func byteTokenValue(text string) (byte, bool) {
	if len(text) != 6 || !strings.HasPrefix(text, "<0x") || text[5] != '>' {
		return 0, false
	}
	var b byte
	for _, c := range []byte(text[3:5]) {
		switch {
		case c >= '0' && c <= '9':
			b = b<<4 | (c - '0')
		case c >= 'A' && c <= 'F':
			b = b<<4 | (c - 'A' + 10)
		case c >= 'a' && c <= 'f':
			b = b<<4 | (c - 'a' + 10)
		default:
			return 0, false
		}
	}
	return b, true
}

// Size is the number of tokens in the vocabulary.
func (t *Tokenizer) Size() int { return len(t.tokens) }

// BOS, EOS, EOT, UNK and PAD return the special ids, or NoToken.
func (t *Tokenizer) BOS() int { return t.bos }
func (t *Tokenizer) EOS() int { return t.eos }
func (t *Tokenizer) EOT() int { return t.eot }
func (t *Tokenizer) UNK() int { return t.unk }
func (t *Tokenizer) PAD() int { return t.pad }

// AddBOS reports whether Encode with addSpecial prepends BOS.
func (t *Tokenizer) AddBOS() bool { return t.addBOS }

// EOG returns the end-of-generation ids, ascending: the EOS, EOT and EOM
// tokens (from the metadata, or EOT and EOM found by their text) and the
// end-of-turn tokens llama.cpp recognises by their text whatever the
// metadata says. This is the one place Parley decides which tokens end a
// reply; the engine stops on whatever ids its caller passes.
func (t *Tokenizer) EOG() []int { return slices.Clone(t.eogIDs) }

// IsEOG reports whether id is one of EOG's ids.
func (t *Tokenizer) IsEOG(id int) bool { return t.eog[id] }

// IsControl reports whether id is a control token (never shown to users).
func (t *Tokenizer) IsControl(id int) bool {
	return id >= 0 && id < len(t.attrs) && t.attrs[id]&attrControl != 0
}

// Text is the raw vocabulary entry of id ("▁Hello", "Ġworld", "<0x0A>").
func (t *Tokenizer) Text(id int) string {
	if id < 0 || id >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// ID looks a vocabulary entry up by its raw text.
func (t *Tokenizer) ID(text string) (int, bool) {
	id, ok := t.toID[text]
	return id, ok
}

// Piece returns the bytes id stands for. With special false, control and
// unknown tokens give nothing. A byte-fallback or byte-level token may be
// part of a UTF-8 sequence only, so the result is bytes, not a string.
func (t *Tokenizer) Piece(id int, special bool) []byte {
	if id < 0 || id >= len(t.tokens) {
		return nil
	}
	if !special && t.attrs[id]&(attrUnknown|attrControl) != 0 {
		return nil
	}
	return t.pieces[id]
}

// Decode is llama_detokenize: the pieces of ids concatenated. removeSpecial
// drops a leading BOS and trailing EOS the tokenizer itself would add (and
// then keeps the SPM leading space, as llama.cpp does); unparseSpecial
// renders control tokens as their text.
func (t *Tokenizer) Decode(ids []int, removeSpecial, unparseSpecial bool) string {
	removeSpace := t.addSpacePrefix
	if removeSpecial && t.addBOS && len(ids) > 0 && ids[0] == t.bos {
		removeSpace = false
		ids = ids[1:]
	}
	if removeSpecial && t.addEOS && len(ids) > 0 && ids[len(ids)-1] == t.eos {
		ids = ids[:len(ids)-1]
	}
	var out []byte
	for _, id := range ids {
		p := t.Piece(id, unparseSpecial)
		if removeSpace && len(p) > 0 && p[0] == ' ' {
			p = p[1:]
		}
		removeSpace = false
		out = append(out, p...)
	}
	if t.cleanSpaces {
		out = cleanSpaces(out)
	}
	return string(out)
}

// cleanSpaces is llama.cpp's clean_up_tokenization_spaces, three passes over
// bytes: " ?" " !" " ." " ," lose the space, " ' " loses both, and " 's",
// " 'm", " 're", " 've" lose the space.
func cleanSpaces(text []byte) []byte {
	if len(text) == 0 {
		return text
	}
	// pass 1
	out := text[:1]
	for i := 1; i < len(text); i++ {
		x := text[i]
		if text[i-1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',') {
			out = out[:len(out)-1]
		}
		out = append(out, x)
	}
	text = out
	// pass 2
	buf := append([]byte(nil), text...)
	out = buf[:1]
	for i := 1; i < len(buf); i++ {
		x := buf[i]
		if x == '\'' && i+1 < len(buf) && buf[i-1] == ' ' && buf[i+1] == ' ' {
			out = out[:len(out)-1]
			buf[i+1] = 0
			out = append(out, x)
			i++
			continue
		}
		out = append(out, x)
	}
	text = append([]byte(nil), out...)
	// pass 3
	out = text[:1]
	for i := 1; i < len(text); i++ {
		x := text[i]
		if text[i-1] == ' ' && x == '\'' && i+1 < len(text) {
			x1 := text[i+1]
			switch {
			case x1 == 's' || x1 == 'm':
				out = out[:len(out)-1]
			case x1 == 't' || x1 == 'd':
			case i+2 < len(text):
				x2 := text[i+2]
				if (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e') {
					out = out[:len(out)-1]
				}
			}
		}
		out = append(out, x)
	}
	return out
}
