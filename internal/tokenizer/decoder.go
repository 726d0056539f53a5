package tokenizer

import (
	"bytes"
	"unicode/utf8"
)

// DecoderOptions configure a streaming Decoder.
type DecoderOptions struct {
	// Special renders control tokens as their text instead of nothing.
	Special bool
	// StartOfText says the ids begin a text, so the rules of
	// Decode(removeSpecial=true) for the start apply: a leading BOS is
	// dropped, and without one an SPM vocabulary's prefix space is removed
	// from the first piece. Leave it false for a reply that continues a
	// prompt: its first piece keeps its space, as in llama-server.
	StartOfText bool
}

// Decoder turns ids into text one at a time for streaming. It never emits
// part of a UTF-8 sequence (byte-fallback and byte-level tokens may carry
// one byte of a character each) and, for vocabularies that clean up
// spaces, holds back the last few bytes until the clean-up is settled, so
// the concatenated output equals Decode of all ids.
type Decoder struct {
	t       *Tokenizer
	opts    DecoderOptions
	started bool

	buf     []byte // text decided but not yet emitted
	raw     []byte // all text so far, when cleaning spaces
	emitted int    // bytes of cleanSpaces(raw) already emitted
}

// NewDecoder starts a streaming decoder.
func (t *Tokenizer) NewDecoder(opts DecoderOptions) *Decoder {
	return &Decoder{t: t, opts: opts}
}

// Add appends one id and returns the text that became complete; often "".
func (d *Decoder) Add(id int) string {
	p := d.t.Piece(id, d.opts.Special)
	if !d.started {
		d.started = true
		if d.opts.StartOfText {
			strip := d.t.addSpacePrefix
			if d.t.addBOS && id == d.t.bos {
				return ""
			}
			if strip && len(p) > 0 && p[0] == ' ' {
				p = p[1:]
			}
		}
	}
	return d.push(p, false)
}

// Flush returns whatever is held back, complete or not. The decoder can be
// used on afterwards.
func (d *Decoder) Flush() string { return d.push(nil, true) }

func (d *Decoder) push(p []byte, all bool) string {
	if !d.t.cleanSpaces {
		d.buf = append(d.buf, p...)
		n := len(d.buf)
		if !all {
			n = completeUTF8(d.buf)
		}
		out := string(d.buf[:n])
		d.buf = append(d.buf[:0], d.buf[n:]...)
		return out
	}
	d.raw = append(d.raw, p...)
	clean := cleanSpaces(append([]byte(nil), d.raw...))
	end := len(clean)
	if !all {
		// A space can still be removed by what follows it within three
		// bytes (" 're", " ' "), so the tail is not final yet.
		end = max(d.emitted, end-3)
		end = d.emitted + completeUTF8(clean[d.emitted:end])
	}
	out := string(clean[d.emitted:end])
	d.emitted = end
	d.compact()
	return out
}

// compact drops the front of raw once it is emitted and no clean-up rule
// can reach across the cut (three bytes before it hold no space or quote),
// so each Add costs O(recent text) rather than O(all text).
func (d *Decoder) compact() {
	const keep = 64
	if len(d.raw) < 4*keep {
		return
	}
	for k := len(d.raw) - keep; k >= 3; k-- {
		w := d.raw[k-3 : k]
		if bytes.IndexByte(w, ' ') >= 0 || bytes.IndexByte(w, '\'') >= 0 {
			continue
		}
		left := len(cleanSpaces(append([]byte(nil), d.raw[:k]...)))
		if left > d.emitted {
			return
		}
		d.raw = append(d.raw[:0], d.raw[k:]...)
		d.emitted -= left
		return
	}
}

// completeUTF8 is the length of the longest prefix of b that does not end
// inside a UTF-8 sequence that more bytes could still complete.
func completeUTF8(b []byte) int {
	n := len(b)
	for i := n - 1; i >= 0 && i >= n-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			return n
		}
	}
	return n
}
