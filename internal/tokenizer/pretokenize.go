package tokenizer

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/dlclark/regexp2/v2"
)

// The pre-tokenizer regexes, exactly as llama.cpp lists them per
// tokenizer.ggml.pre (llama-vocab.cpp, llm_tokenizer_bpe). The GPT-2 and
// Llama 3 ones are matched by hand-written splitters, as in llama.cpp; the
// rest run on regexp2 (RE2 has no look-ahead).
const (
	reGPT2   = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`
	reLlama3 = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	reQwen2  = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	rePoro   = ` ?[^(\s|.,!?…。，、।۔،)]+`
)

type preSpec struct {
	exprs        []string
	ignoreMerges bool
	cleanSpaces  bool
	addBOS       bool // llama.cpp's default for add_bos_token with this pre-tokenizer
}

func preSpecFor(name string) (preSpec, error) {
	deepseekLLM := []string{
		"[\r\n]",
		`\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+`,
		`\s?[!-/:-~！-／：-～‘-‟　-。]+`,
		`\s+$`,
		`[一-龥ࠀ-一가-퟿]+`,
		`\p{N}+`,
	}
	starcoder := []string{`\p{N}`, reGPT2}
	switch name {
	case "", "default":
		return preSpec{exprs: []string{`[\p{P}\$\+<=>\^~\|]+`, reGPT2, `\p{N}+`, `[0-9][0-9][0-9]`}, cleanSpaces: true}, nil
	case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral":
		return preSpec{exprs: []string{reLlama3}, ignoreMerges: true, cleanSpaces: true, addBOS: true}, nil
	case "dbrx", "smaug-bpe", "glm4", "chatglm-bpe":
		return preSpec{exprs: []string{reLlama3}, cleanSpaces: true}, nil
	case "deepseek-llm":
		return preSpec{exprs: deepseekLLM}, nil
	case "deepseek-coder":
		return preSpec{exprs: []string{"[\r\n]", `\s?\p{L}+`, `\s?\p{P}+`, `[一-龥ࠀ-一가-퟿]+`, `\p{N}`}}, nil
	case "falcon":
		return preSpec{exprs: []string{"[\\p{P}\\$\\+<=>\\^~\\|`]+", reGPT2, `[0-9][0-9][0-9]`}, cleanSpaces: true}, nil
	case "starcoder", "refact", "codeshell", "exaone", "minerva-7b":
		return preSpec{exprs: starcoder, cleanSpaces: true}, nil
	case "smollm", "command-r":
		return preSpec{exprs: starcoder}, nil
	case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v1-en", "jina-v2-es",
		"jina-v2-de", "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais", "exaone4":
		return preSpec{exprs: []string{reGPT2}, cleanSpaces: true}, nil
	case "qwen2", "deepseek-r1-qwen", "megrez":
		return preSpec{exprs: []string{reQwen2}}, nil
	case "stablelm2":
		return preSpec{exprs: []string{reQwen2}, cleanSpaces: true}, nil
	case "poro-chat":
		return preSpec{exprs: []string{rePoro}}, nil
	case "bloom", "gpt3-finnish":
		return preSpec{exprs: []string{rePoro}, cleanSpaces: true}, nil
	case "viking":
		return preSpec{exprs: []string{rePoro, `\p{N}`}}, nil
	}
	return preSpec{}, fmt.Errorf("tokenizer: unknown pre-tokenizer %q", name)
}

// splitText is the text being pre-tokenized, in the forms the steps match.
type splitText struct {
	cpts            []rune
	collapsed, wide []rune // built on first use
}

func (s *splitText) collapsedRunes() []rune {
	if s.collapsed == nil {
		s.collapsed = collapseText(s.cpts)
	}
	return s.collapsed
}

func (s *splitText) wideRunes() []rune {
	if s.wide == nil {
		s.wide = plainText(s.cpts)
	}
	return s.wide
}

// splitter refines a list of pieces (lengths in runes) into smaller ones;
// unmatched stretches stay pieces of their own.
type splitter func(s *splitText, lens []int) []int

type preTokenizer struct {
	steps        []splitter
	ignoreMerges bool
	cleanSpaces  bool
}

func newPreTokenizer(name string) (*preTokenizer, error) {
	spec, err := preSpecFor(name)
	if err != nil {
		return nil, err
	}
	p := &preTokenizer{ignoreMerges: spec.ignoreMerges, cleanSpaces: spec.cleanSpaces}
	for _, expr := range spec.exprs {
		switch expr {
		case reGPT2:
			p.steps = append(p.steps, splitGPT2)
			continue
		case reLlama3:
			p.steps = append(p.steps, splitLlama3)
			continue
		}
		collapsed := usesCategories(expr)
		src := expr
		if collapsed {
			src = collapseRegex(expr)
		}
		// .NET's $ also matches before a final newline; std::regex's does not.
		if strings.HasSuffix(src, "$") {
			src = strings.TrimSuffix(src, "$") + `\z`
		}
		re, err := regexp2.Compile(src, regexp2.None)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: pre-tokenizer %q regex %q: %w", name, expr, err)
		}
		p.steps = append(p.steps, regexSplitter(re, collapsed))
	}
	return p, nil
}

// split cuts text into words, byte-level encoded, ready for merging.
func (p *preTokenizer) split(text string) []string {
	words := p.words(text)
	for i, w := range words {
		words[i] = encodeByteLevel(w)
	}
	return words
}

// words cuts text into pre-tokenizer words.
func (p *preTokenizer) words(text string) []string {
	cpts := []rune(text) // invalid bytes become U+FFFD, as in llama.cpp
	st := &splitText{cpts: cpts}
	lens := []int{len(cpts)}
	for _, step := range p.steps {
		lens = step(st, lens)
	}
	words := make([]string, 0, len(lens))
	start := 0
	for _, n := range lens {
		words = append(words, string(cpts[start:start+n]))
		start += n
	}
	return words
}

// Category placeholders of llama.cpp's collapsed text: every non-ASCII
// code point is replaced by one byte naming its category, and \p{X} in the
// regex by a class of that byte plus the ASCII members of the category.
const (
	collapsedOther  = 0xD0
	collapsedNumber = 0xD1
	collapsedLetter = 0xD2
	collapsedPunct  = 0xD3
	collapsedMark   = 0xD4
	collapsedSymbol = 0xD5
)

var categoryClasses = map[string]string{
	`\p{N}`:  `\u00D10-9`,
	`\p{L}`:  `\u00D2A-Za-z`,
	`\p{Lu}`: `\u00D2A-Za-z`,
	`\p{Ll}`: `\u00D2A-Za-z`,
	`\p{Lt}`: `\u00D2A-Za-z`,
	`\p{Lm}`: `\u00D2A-Za-z`,
	`\p{Lo}`: `\u00D2A-Za-z`,
	`\p{P}`:  `\u00D3!-#%-*,-/:-;?-@\[-\]_\{\}`,
	`\p{M}`:  `\u00D4`,
	`\p{S}`:  `\u00D5\$\+<->\^` + "`" + `\|`,
}

func usesCategories(expr string) bool {
	for k := range categoryClasses {
		if strings.Contains(expr, k) {
			return true
		}
	}
	return false
}

// collapseRegex rewrites \p{X} into classes over the collapsed alphabet,
// tracking whether it sits inside [...] already (llama.cpp does the same).
func collapseRegex(expr string) string {
	var b strings.Builder
	inside := false
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		if c == '[' && (i == 0 || expr[i-1] != '\\') {
			b.WriteByte('[')
			inside = true
			continue
		}
		if inside && c == ']' && expr[i-1] != '\\' {
			b.WriteByte(']')
			inside = false
			continue
		}
		if c == '\\' && i+3 < len(expr) && expr[i+1] == 'p' && expr[i+2] == '{' {
			if end := strings.IndexByte(expr[i+3:], '}'); end >= 0 {
				pat := expr[i : i+3+end+1]
				if cls, ok := categoryClasses[pat]; ok {
					if !inside {
						b.WriteByte('[')
					}
					b.WriteString(cls)
					if !inside {
						b.WriteByte(']')
					}
					i += 3 + end
					continue
				}
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

func collapseText(cpts []rune) []rune {
	out := make([]rune, len(cpts))
	for i, r := range cpts {
		switch {
		case r < 128:
			out[i] = r
		case isSpace(r):
			out[i] = 0x0B
		case unicode.IsNumber(r):
			out[i] = collapsedNumber
		case unicode.IsLetter(r):
			out[i] = collapsedLetter
		case unicode.IsPunct(r):
			out[i] = collapsedPunct
		case unicode.IsMark(r):
			out[i] = collapsedMark
		case unicode.IsSymbol(r):
			out[i] = collapsedSymbol
		default:
			out[i] = collapsedOther
		}
	}
	return out
}

// plainText is the text std::wregex sees in llama.cpp: non-ASCII
// whitespace becomes a vertical tab, which its \s matches.
func plainText(cpts []rune) []rune {
	out := make([]rune, len(cpts))
	for i, r := range cpts {
		if r > 0x7F && isSpace(r) {
			r = 0x0B
		}
		out[i] = r
	}
	return out
}

func regexSplitter(re *regexp2.Regexp, collapsed bool) splitter {
	return func(s *splitText, lens []int) []int {
		text := s.wideRunes()
		if collapsed {
			text = s.collapsedRunes()
		}
		out := make([]int, 0, len(lens))
		start := 0
		for _, n := range lens {
			piece := text[start : start+n]
			matches, err := re.FindAllRunesIndex(piece, -1)
			if err != nil {
				// Only a match timeout errors, and none is set.
				matches = nil
			}
			prev := 0
			for _, m := range matches {
				if m[0] > prev {
					out = append(out, m[0]-prev)
				}
				if m[1] > m[0] {
					out = append(out, m[1]-m[0])
				}
				prev = m[1]
			}
			if prev < n {
				out = append(out, n-prev)
			}
			start += n
		}
		return out
	}
}

// isSpace is llama.cpp's whitespace set, which equals Unicode White_Space.
func isSpace(r rune) bool { return unicode.IsSpace(r) }

// defined reports whether r has any Unicode category (llama.cpp's flags
// are all zero for unassigned code points and for out-of-range positions).
func defined(r rune) bool {
	return r >= 0 && r <= unicode.MaxRune &&
		(unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) ||
			unicode.IsMark(r) || unicode.In(r, unicode.Z, unicode.C))
}
