package builtin

import (
	"strings"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/engine"
	"github.com/parley-chat/parley/internal/tokenizer"
)

// stream turns generated token ids into text deltas. The tokenizer's
// decoder already withholds incomplete UTF-8; stream additionally withholds
// any tail of the text that could be the beginning of a stop string, until
// the next tokens settle it, and cuts the reply before a stop string.
type stream struct {
	dec     *tokenizer.Decoder
	stops   []string
	emit    func(chat.Delta) error
	pending string // decoded, not yet emitted
	stopped bool
	emitErr error
}

func newStream(tok *tokenizer.Tokenizer, stops []string, emit func(chat.Delta) error) *stream {
	var ss []string
	for _, s := range stops {
		if s != "" {
			ss = append(ss, s)
		}
	}
	return &stream{dec: tok.NewDecoder(tokenizer.DecoderOptions{}), stops: ss, emit: emit}
}

// token is the engine's emit callback.
func (s *stream) token(id int) error {
	s.pending += s.dec.Add(id)
	return s.push(false)
}

// finish flushes what is held back once generation has ended.
func (s *stream) finish() error {
	s.pending += s.dec.Flush()
	return s.push(true)
}

// push emits the settled part of pending. With final set nothing more is
// coming, so a partial stop string is just text.
func (s *stream) push(final bool) error {
	if cut, ok := s.findStop(); ok {
		s.stopped = true
		if err := s.send(s.pending[:cut]); err != nil {
			return err
		}
		return engine.ErrStop
	}
	n := len(s.pending)
	if !final {
		n -= s.partialStop()
	}
	return s.send(s.pending[:n])
}

func (s *stream) send(text string) error {
	s.pending = s.pending[len(text):]
	if text == "" {
		return nil
	}
	// The decoder holds back a character split across tokens until it is
	// complete, so invalid bytes here can never become valid: a lead byte
	// the model followed with something else, or a tail cut off by the end
	// of the reply. A delta is always valid UTF-8.
	text = strings.ToValidUTF8(text, "\uFFFD")
	if err := s.emit(chat.Delta{Content: text}); err != nil {
		s.emitErr = err
		return err
	}
	return nil
}

// findStop returns where the earliest stop string starts in pending.
func (s *stream) findStop() (int, bool) {
	best := -1
	for _, stop := range s.stops {
		if i := strings.Index(s.pending, stop); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best, best >= 0
}

// partialStop is the length of the longest suffix of pending that is a
// proper prefix of a stop string.
func (s *stream) partialStop() int {
	longest := 0
	for _, stop := range s.stops {
		for n := min(len(stop)-1, len(s.pending)); n > longest; n-- {
			if strings.HasSuffix(s.pending, stop[:n]) {
				longest = n
				break
			}
		}
	}
	return longest
}
