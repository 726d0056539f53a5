package tokenizer

import "unicode"

// The hand-written GPT-2 and Llama 3 splitters of llama.cpp's unicode.cpp:
// faster than a backtracking regex and, being the reference, exactly what
// the ids were checked against.

const outOfRange = -1

type cflags struct {
	letter, number, space, defined bool
}

// piece gives position-bounded access to one piece of the text, like the
// _get_cpt/_get_flags lambdas: positions outside it read as nothing.
type piece struct {
	cpts     []rune
	ini, end int
}

func (p piece) cpt(pos int) rune {
	if pos >= p.ini && pos < p.end {
		return p.cpts[pos]
	}
	return outOfRange
}

func (p piece) flags(pos int) cflags {
	if pos < p.ini || pos >= p.end {
		return cflags{}
	}
	r := p.cpts[pos]
	return cflags{
		letter:  unicode.IsLetter(r),
		number:  unicode.IsNumber(r),
		space:   isSpace(r),
		defined: defined(r),
	}
}

// tokens collects piece lengths, skipping empty ones.
type tokens struct {
	out     []int
	prevEnd int
}

func (t *tokens) add(end int) int {
	n := end - t.prevEnd
	if n > 0 {
		t.out = append(t.out, n)
	}
	t.prevEnd = end
	return n
}

// contraction matches 's 't 'm 'd 're 've 'll at pos (optionally case
// folded) and returns its length, or 0.
func contraction(p piece, pos int, fold bool) int {
	if p.cpt(pos) != '\'' || pos+1 >= p.end {
		return 0
	}
	lower := func(r rune) rune {
		if fold && r != outOfRange {
			return unicode.ToLower(r)
		}
		return r
	}
	c1 := lower(p.cpt(pos + 1))
	if c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd' {
		return 2
	}
	if pos+2 < p.end {
		c2 := lower(p.cpt(pos + 2))
		if (c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l') {
			return 3
		}
	}
	return 0
}

// splitGPT2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
func splitGPT2(s *splitText, lens []int) []int {
	t := tokens{out: make([]int, 0, len(lens))}
	start := 0
	for _, n := range lens {
		p := piece{cpts: s.cpts, ini: start, end: start + n}
		start += n
		t.prevEnd = p.ini
		for pos := p.ini; pos < p.end; {
			c := p.cpt(pos)
			f := p.flags(pos)
			if k := contraction(p, pos, false); k > 0 {
				pos += t.add(pos + k)
				continue
			}
			f2 := f
			if c == ' ' {
				f2 = p.flags(pos + 1)
			}
			sp := 0
			if c == ' ' {
				sp = 1
			}
			if f2.letter {
				pos += sp
				for f2.letter {
					pos++
					f2 = p.flags(pos)
				}
				t.add(pos)
				continue
			}
			if f2.number {
				pos += sp
				for f2.number {
					pos++
					f2 = p.flags(pos)
				}
				t.add(pos)
				continue
			}
			if !(f2.space || f2.letter || f2.number) && f2.defined {
				pos += sp
				for !(f2.space || f2.letter || f2.number) && f2.defined {
					pos++
					f2 = p.flags(pos)
				}
				t.add(pos)
				continue
			}
			ws := 0
			for p.flags(pos + ws).space {
				ws++
			}
			if ws > 1 && p.cpt(pos+ws) != outOfRange {
				pos += ws - 1
				t.add(pos)
				continue
			}
			if ws > 0 {
				pos += ws
				t.add(pos)
				continue
			}
			pos++
			t.add(pos)
		}
	}
	return t.out
}

// splitLlama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func splitLlama3(s *splitText, lens []int) []int {
	t := tokens{out: make([]int, 0, len(lens))}
	start := 0
	for _, n := range lens {
		p := piece{cpts: s.cpts, ini: start, end: start + n}
		start += n
		t.prevEnd = p.ini
		for pos := p.ini; pos < p.end; {
			c := p.cpt(pos)
			f := p.flags(pos)
			if k := contraction(p, pos, true); k > 0 {
				pos += t.add(pos + k)
				continue
			}
			if !(c == '\r' || c == '\n' || f.number) {
				if f.letter || p.flags(pos+1).letter {
					pos++
					for p.flags(pos).letter {
						pos++
					}
					t.add(pos)
					continue
				}
			}
			if f.number {
				ini := pos
				for p.flags(pos).number {
					pos++
					if pos-ini >= 3 {
						t.add(pos)
						ini = pos
					}
				}
				t.add(pos)
				continue
			}
			f2 := f
			sp := 0
			if c == ' ' {
				f2 = p.flags(pos + 1)
				sp = 1
			}
			if !(f2.space || f2.letter || f2.number) && f.defined {
				pos += sp
				for !(f2.space || f2.letter || f2.number) && f2.defined {
					pos++
					f2 = p.flags(pos)
				}
				c2 := p.cpt(pos)
				for c2 == '\r' || c2 == '\n' {
					pos++
					c2 = p.cpt(pos)
				}
				t.add(pos)
				continue
			}
			ws, lastRN := 0, 0
			for p.flags(pos + ws).space {
				c2 := p.cpt(pos + ws)
				if c2 == '\r' || c2 == '\n' {
					lastRN = pos + ws + 1
				}
				ws++
			}
			if lastRN > 0 {
				pos = lastRN
				t.add(pos)
				continue
			}
			if ws > 1 && p.cpt(pos+ws) != outOfRange {
				pos += ws - 1
				t.add(pos)
				continue
			}
			if ws > 0 {
				pos += ws
				t.add(pos)
				continue
			}
			pos++
			t.add(pos)
		}
	}
	return t.out
}
