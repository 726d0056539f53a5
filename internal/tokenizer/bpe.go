package tokenizer

import (
	"unicode/utf8"
)

// byteToRune is GPT-2's bytes_to_unicode: printable Latin-1 bytes map to
// themselves, the rest to U+0100 upwards in byte order, so every byte has a
// visible, non-space stand-in.
var byteToRune, runeToByte = byteLevelTables()

func byteLevelTables() ([256]rune, map[rune]byte) {
	var b2r [256]rune
	r2b := make(map[rune]byte, 256)
	printable := func(b int) bool {
		return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
	}
	n := 0
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !printable(b) {
			r = rune(256 + n)
			n++
		}
		b2r[b] = r
		r2b[r] = byte(b)
	}
	return b2r, r2b
}

// encodeByteLevel maps each byte of s to its stand-in rune.
func encodeByteLevel(s string) string {
	buf := make([]byte, 0, len(s)*2)
	for i := 0; i < len(s); i++ {
		buf = utf8.AppendRune(buf, byteToRune[s[i]])
	}
	return string(buf)
}

// decodeByteLevel reverses encodeByteLevel. A rune outside the table (a
// token that was never byte-encoded) is kept as its UTF-8 bytes.
func decodeByteLevel(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if b, ok := runeToByte[r]; ok {
			out = append(out, b)
		} else {
			out = utf8.AppendRune(out, r)
		}
	}
	return out
}

type bpeBigram struct {
	left, right int
	text        string
	rank        int
}

// encodeBPE is llama.cpp's llm_tokenizer_bpe_session: pre-tokenize, then in
// each word merge the adjacent pair of lowest merge rank until none is left.
func (t *Tokenizer) encodeBPE(text string, out []int) []int {
	var syms []symbol
	// Lowest rank first, then the leftmost pair.
	queue := pqueue[bpeBigram]{before: func(a, b *bpeBigram) bool {
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		return a.left < b.left
	}}
	for _, word := range t.pre.split(text) {
		if t.ignoreMerges {
			if id, ok := t.toID[word]; ok {
				out = append(out, id)
				continue
			}
		}
		syms = splitChars(word, syms[:0])
		queue.items = queue.items[:0]
		add := func(left, right int) {
			if left == -1 || right == -1 {
				return
			}
			l, r := syms[left], syms[right]
			rank, ok := t.ranks[mergeKey{word[l.off : l.off+l.n], word[r.off : r.off+r.n]}]
			if !ok {
				return
			}
			queue.push(bpeBigram{left: left, right: right, text: word[l.off : r.off+r.n], rank: rank})
		}
		for i := 1; i < len(syms); i++ {
			add(i-1, i)
		}
		for queue.len() > 0 {
			b := queue.pop()
			l, r := &syms[b.left], &syms[b.right]
			if l.n == 0 || r.n == 0 {
				continue
			}
			// Symbols are contiguous, so an outdated pair shows as a length
			// mismatch with the text it was queued for.
			if l.n+r.n != len(b.text) || r.off != l.off+l.n {
				continue
			}
			l.n += r.n
			r.n = 0
			l.next = r.next
			if r.next >= 0 {
				syms[r.next].prev = b.left
			}
			add(l.prev, b.left)
			add(b.left, l.next)
		}
		for _, s := range syms {
			if s.n == 0 {
				continue
			}
			piece := word[s.off : s.off+s.n]
			if id, ok := t.toID[piece]; ok {
				out = append(out, id)
				continue
			}
			// llama.cpp looks up each single byte of the (byte-level encoded)
			// piece; almost never reached because every base rune is a token.
			for i := 0; i < len(piece); i++ {
				if id, ok := t.toID[piece[i:i+1]]; ok {
					out = append(out, id)
				}
			}
		}
	}
	return out
}
