package openai

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/parley-chat/parley/internal/chat"
)

// maxPrimeBytes bounds what Prime holds back of a stream before its first
// token: past it, the answer goes on as it is.
const maxPrimeBytes = 64 << 10

// Prime reads the answer up to where a client would first get something
// of worth from it: a stream up to its first event that carries a token
// or ends it (a role announcement before does not count), one JSON
// document whole. A failure before that point (the server breaks off,
// sends an error event or an error document) is returned, and the client
// has got nothing yet, so a caller with other servers may still take the
// request there. What Prime read goes out through Relay, WriteTo and
// Collect as if it had not been read.
func (r *Response) Prime() error {
	if !r.IsStream() {
		_, err := r.wholeBody()
		return err
	}
	buf := make([]byte, 0, 1024)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		r.head = buf
		found, ferr := firstToken(buf)
		switch {
		case ferr != nil:
			return r.err(ferr)
		case found || len(buf) > maxPrimeBytes:
			return nil
		case err == io.EOF:
			return r.err(chat.E(chat.KindUpstream, serverName+" closed the stream before it finished", io.ErrUnexpectedEOF))
		case err != nil:
			return r.err(err)
		}
	}
}

// wholeBody reads the whole answer (up to 16 MiB) once and keeps it. A
// server that reports an error in a 2xx answer ({"error": …}) gets it
// mapped, not passed on.
func (r *Response) wholeBody() ([]byte, error) {
	if r.whole {
		return r.head, nil
	}
	if r.buf == nil {
		r.buf = wholeBufs.Get().(*bytes.Buffer)
		r.buf.Reset()
	}
	if _, err := r.buf.ReadFrom(io.LimitReader(r.src(), maxJSONBody)); err != nil {
		return nil, r.err(err)
	}
	body := r.buf.Bytes()
	if hasKey(body, `"error"`) {
		var e struct {
			Error *ErrorBody `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != nil {
			return nil, r.err(StatusError(r.resp.StatusCode, body, r.Model, false))
		}
	}
	r.head, r.whole = body, true
	return body, nil
}

// firstToken reports whether the complete events at the start of b hold
// one that a client must get: a token, a finish, [DONE], anything that is
// not a bare role announcement. An error event before it is returned as
// the error.
func firstToken(b []byte) (bool, error) {
	var (
		name    []byte
		data    []byte
		hasData bool
	)
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return false, nil // the rest is an event not yet complete
		}
		line := bytes.TrimSuffix(b[:i], []byte("\r"))
		b = b[i+1:]
		if len(line) == 0 {
			if hasData {
				if found, err := worthSending(name, data); found || err != nil {
					return found, err
				}
			}
			name, data, hasData = nil, data[:0], false
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			name = value
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			data, hasData = append(data, value...), true
		}
	}
}

// worthSending judges one event's data for firstToken.
func worthSending(name, data []byte) (bool, error) {
	if string(bytes.TrimSpace(data)) == DoneData {
		return true, nil
	}
	if string(name) == "error" {
		return false, StreamError(ParseErrorBody(data))
	}
	if hasKey(data, `"error"`) {
		var e struct {
			Error *ErrorBody `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != nil {
			return false, StreamError(*e.Error)
		}
	}
	return carriesToken(data), nil
}

// carriesToken reports whether a chunk holds more than a role
// announcement: a choice with text, a finish reason, or a delta member
// other than the role that is not empty (content, tool calls, refusal,
// reasoning). Data that is no chunk counts, as does one without choices
// (usage): the relay passes it on. It reads with the scanner, so that a
// stream's first events cost no allocation.
func carriesToken(data []byte) bool {
	s := scanner{b: data}
	sawChoices := false
	for first := true; ; first = false {
		key, ok, err := s.member(first)
		if err != nil {
			return true
		}
		if !ok {
			return !sawChoices
		}
		if string(key) != "choices" {
			if s.skip(0) != nil {
				return true
			}
			continue
		}
		sawChoices = true
		n := 0
		for el := true; ; el = false {
			ok, err := s.elem(el)
			if err != nil {
				return true
			}
			if !ok {
				break
			}
			n++
			if tok, err := s.choiceCarriesToken(); err != nil || tok {
				return true
			}
		}
		if n == 0 {
			return true
		}
	}
}

// choiceCarriesToken reads one choice for carriesToken.
func (s *scanner) choiceCarriesToken() (bool, error) {
	for first := true; ; first = false {
		key, ok, err := s.member(first)
		if err != nil || !ok {
			return false, err
		}
		switch string(key) {
		case "text", "finish_reason":
			if filled, err := s.filled(); err != nil || filled {
				return filled, err
			}
		case "delta", "message":
			for m := true; ; m = false {
				k, ok, err := s.member(m)
				if err != nil {
					return false, err
				}
				if !ok {
					break
				}
				if string(k) == "role" {
					if err := s.skip(0); err != nil {
						return false, err
					}
					continue
				}
				if filled, err := s.filled(); err != nil || filled {
					return filled, err
				}
			}
		default:
			if err := s.skip(0); err != nil {
				return false, err
			}
		}
	}
}

// filled reads a value and reports whether it holds anything: not null,
// false, "", [] or {}.
func (s *scanner) filled() (bool, error) {
	switch s.peek() {
	case 'n':
		if !s.null() {
			return false, s.syntaxErr()
		}
		return false, nil
	case '"':
		raw, _, err := s.str()
		return len(raw) > 0, err
	case '[', '{':
		start := s.i
		if err := s.skip(0); err != nil {
			return false, err
		}
		return len(bytes.TrimSpace(s.b[start+1:s.i-1])) > 0, nil
	case 't', 'f':
		return s.boolean()
	}
	_, err := s.number()
	return true, err
}
