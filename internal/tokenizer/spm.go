package tokenizer

// symbol is one piece of the text being merged, linked to its neighbours.
// n == 0 marks a symbol merged away.
type symbol struct {
	prev, next int
	off, n     int // byte range in the session text
}

// utf8Len is llama.cpp's unicode_len_utf8: the sequence length announced by
// a lead byte, without validating the rest.
func utf8Len(b byte) int {
	switch {
	case b < 0xC0:
		return 1
	case b < 0xE0:
		return 2
	case b < 0xF0:
		return 3
	}
	return 4
}

// splitChars cuts text into UTF-8 characters the way llama.cpp does.
func splitChars(text string, syms []symbol) []symbol {
	for off := 0; off < len(text); {
		n := min(utf8Len(text[off]), len(text)-off)
		idx := len(syms)
		next := idx + 1
		if off+n == len(text) {
			next = -1
		}
		syms = append(syms, symbol{prev: idx - 1, next: next, off: off, n: n})
		off += n
	}
	return syms
}

type spmBigram struct {
	left, right int
	score       float32
	size        int
}

// spmSession is llama.cpp's llm_tokenizer_spm_session: greedy merging of the
// adjacent pair whose concatenation is the highest-scoring token, then
// byte fallback for whatever is not a token.
type spmSession struct {
	t        *Tokenizer
	text     string
	syms     []symbol
	queue    pqueue[spmBigram]
	revMerge map[string][2]int
}

func (t *Tokenizer) encodeSPM(text string, out []int) []int {
	s := spmSession{t: t, text: text, revMerge: map[string][2]int{}}
	// Highest score first, then the leftmost pair.
	s.queue.before = func(a, b *spmBigram) bool {
		if a.score != b.score {
			return a.score > b.score
		}
		return a.left < b.left
	}
	s.syms = splitChars(text, nil)
	for i := 1; i < len(s.syms); i++ {
		s.tryAdd(i-1, i)
	}
	for s.queue.len() > 0 {
		b := s.queue.pop()
		l, r := &s.syms[b.left], &s.syms[b.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != b.size {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			s.syms[r.next].prev = b.left
		}
		s.tryAdd(l.prev, b.left)
		s.tryAdd(b.left, l.next)
	}
	if len(s.syms) == 0 {
		return out
	}
	for i := 0; i != -1; i = s.syms[i].next {
		out = s.resegment(s.syms[i], out)
	}
	return out
}

func (s *spmSession) tryAdd(left, right int) {
	if left == -1 || right == -1 {
		return
	}
	l := s.syms[left]
	text := s.text[l.off : l.off+l.n+s.syms[right].n]
	id, ok := s.t.toID[text]
	if !ok {
		return
	}
	var score float32
	if s.t.scores != nil {
		score = s.t.scores[id]
	}
	s.queue.push(spmBigram{left: left, right: right, score: score, size: len(text)})
	s.revMerge[text] = [2]int{left, right}
}

func (s *spmSession) resegment(sym symbol, out []int) []int {
	text := s.text[sym.off : sym.off+sym.n]
	if id, ok := s.t.toID[text]; ok {
		return append(out, id)
	}
	p, ok := s.revMerge[text]
	if !ok {
		for i := 0; i < len(text); i++ {
			out = append(out, s.t.byteToken(text[i]))
		}
		return out
	}
	out = s.resegment(s.syms[p[0]], out)
	return s.resegment(s.syms[p[1]], out)
}

// byteToken is llama.cpp's byte_to_token for SPM vocabularies: <0xXX>, else
// the byte itself as a token; the unknown token when neither exists (where
// llama.cpp would abort).
func (t *Tokenizer) byteToken(b byte) int { return t.byteIDs[b] }

func (t *Tokenizer) buildByteIDs() {
	const hexDigits = "0123456789ABCDEF"
	for b := 0; b < 256; b++ {
		id, ok := t.toID[string([]byte{'<', '0', 'x', hexDigits[b>>4], hexDigits[b&15], '>'})]
		if !ok {
			id, ok = t.toID[string([]byte{byte(b)})]
		}
		if !ok {
			id = t.unk
		}
		t.byteIDs[b] = id
	}
}
