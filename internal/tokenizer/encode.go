package tokenizer

import "strings"

// fragment is either a run of raw text or an already decided token.
type fragment struct {
	token    int // NoToken for text
	off, len int // byte range of the text in the input
}

// Encode tokenizes text. addSpecial adds BOS/EOS as the vocabulary asks;
// parseSpecial turns control-token texts such as "<|im_start|>" found in
// text into those tokens (user-defined tokens are always matched, as in
// Hugging Face tokenizers and llama.cpp).
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) []int {
	var frags []fragment
	if text != "" {
		frags = t.partition(text, parseSpecial)
	}
	out := make([]int, 0, len(text)/3+2)
	if addSpecial && t.addBOS && t.bos != NoToken {
		out = append(out, t.bos)
	}
	if t.spm {
		prevSpecial := true // the first text gets the space prefix
		for _, f := range frags {
			if f.token != NoToken {
				out = append(out, f.token)
				prevSpecial = true
				continue
			}
			s := text[f.off : f.off+f.len]
			if t.addSpacePrefix && prevSpecial {
				s = " " + s
			}
			out = t.encodeSPM(strings.ReplaceAll(s, " ", "\u2581"), out)
			prevSpecial = false
		}
	} else {
		for _, f := range frags {
			if f.token != NoToken {
				out = append(out, f.token)
				continue
			}
			out = t.encodeBPE(text[f.off:f.off+f.len], out)
		}
	}
	if addSpecial && t.addEOS && t.eos != NoToken {
		out = append(out, t.eos)
	}
	return out
}

// partition is llama.cpp's tokenizer_st_partition: for each special token,
// longest text first, split every remaining text fragment around its
// occurrences. Control and unknown tokens take part only with parseSpecial.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	frags := []fragment{{token: NoToken, off: 0, len: len(text)}}
	for _, id := range t.special {
		a := t.attrs[id]
		if !parseSpecial && a&(attrControl|attrUnknown) != 0 {
			continue
		}
		tok := t.tokens[id]
		if !strings.Contains(text, tok) {
			continue
		}
		next := make([]fragment, 0, len(frags)+2)
		for _, f := range frags {
			if f.token != NoToken {
				next = append(next, f)
				continue
			}
			off, n := f.off, f.len
			for {
				i := strings.Index(text[off:off+n], tok)
				if i < 0 {
					next = append(next, fragment{token: NoToken, off: off, len: n})
					break
				}
				leftN := i
				if a&attrLStrip != 0 {
					for leftN > 0 && isCSpace(text[off+leftN-1]) {
						leftN--
					}
				}
				if leftN > 0 {
					next = append(next, fragment{token: NoToken, off: off, len: leftN})
				}
				next = append(next, fragment{token: id})
				rOff := off + i + len(tok)
				rN := off + n - rOff
				if a&attrRStrip != 0 {
					for rN > 0 && isCSpace(text[rOff]) {
						rOff++
						rN--
					}
				}
				if rN <= 0 {
					break
				}
				off, n = rOff, rN
			}
		}
		frags = next
	}
	return frags
}

// isCSpace is C's isspace in the "C" locale.
func isCSpace(b byte) bool {
	return b == ' ' || (b >= '\t' && b <= '\r')
}
