package openai

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/chat"
)

// scanner walks one JSON text held in memory, checking its syntax as it
// goes. It hands out the raw bytes of strings and numbers, so reading a
// request costs no allocation unless a value is asked for as a Go string.
// It exists because /v1 requests are checked field by field and then
// forwarded as they are: encoding/json would build every value only to
// throw it away.
type scanner struct {
	b     []byte
	i     int
	keyAt int    // where the key member last read starts
	tmp   []byte // scratch for unescaping keys
}

// maxDepth bounds the nesting of values Parley does not look into (tools,
// metadata), so a hostile body cannot recurse without end.
const maxDepth = 128

func (s *scanner) syntaxErr() error {
	if s.i >= len(s.b) {
		return chat.Errorf(chat.KindInvalid, "request body is not valid JSON: unexpected end")
	}
	return chat.Errorf(chat.KindInvalid, "request body is not valid JSON at byte %d", s.i+1)
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// kind names the JSON kind of the value at the current position, for
// error messages.
func (s *scanner) kind() string {
	switch s.peek() {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "true or false"
	case 'n':
		return "null"
	}
	return "a number"
}

// null consumes a null literal if one is next.
func (s *scanner) null() bool {
	if s.peek() == 'n' && len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// str reads a string and returns its raw contents (between the quotes) and
// whether they hold escapes.
func (s *scanner) str() (raw []byte, escaped bool, err error) {
	if s.peek() != '"' {
		return nil, false, s.syntaxErr()
	}
	s.i++
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], escaped, nil
		case c == '\\':
			escaped = true
			if s.i+1 >= len(s.b) {
				s.i = len(s.b)
				return nil, false, s.syntaxErr()
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) || !isHex4(s.b[s.i+2:s.i+6]) {
					s.i++
					return nil, false, s.syntaxErr()
				}
				s.i += 6
			default:
				s.i++
				return nil, false, s.syntaxErr()
			}
		case c < 0x20:
			return nil, false, s.syntaxErr()
		default:
			s.i++
		}
	}
	return nil, false, s.syntaxErr()
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// unescape appends the text of a raw string with escapes to dst, as
// encoding/json does (unpaired surrogates and invalid UTF-8 become U+FFFD).
func unescape(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			if c < utf8.RuneSelf {
				dst = append(dst, c)
				i++
				continue
			}
			r, n := utf8.DecodeRune(raw[i:])
			dst = utf8.AppendRune(dst, r)
			i += n
			continue
		}
		switch raw[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := rune(hex4(raw[i+2 : i+6]))
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if r2 := utf16.DecodeRune(r, rune(hex4(raw[i+2:i+6]))); r2 != utf8.RuneError {
						dst = utf8.AppendRune(dst, r2)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, raw[i+1])
		}
		i += 2
	}
	return dst
}

func hex4(b []byte) int {
	n := 0
	for _, c := range b {
		n <<= 4
		switch {
		case c <= '9':
			n |= int(c - '0')
		case c <= 'F':
			n |= int(c-'A') + 10
		default:
			n |= int(c-'a') + 10
		}
	}
	return n
}

// text reads a string as a Go string.
func (s *scanner) text() (string, error) {
	raw, escaped, err := s.str()
	if err != nil {
		return "", err
	}
	if !escaped && utf8.Valid(raw) {
		return string(raw), nil
	}
	return string(unescape(nil, raw)), nil
}

// number reads a number and returns its raw text.
func (s *scanner) number() ([]byte, error) {
	s.ws()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return nil, s.syntaxErr()
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return nil, s.syntaxErr()
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return nil, s.syntaxErr()
		}
	}
	return s.b[start:s.i], nil
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// literal reads true or false.
func (s *scanner) boolean() (bool, error) {
	s.ws()
	switch {
	case len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "true":
		s.i += 4
		return true, nil
	case len(s.b)-s.i >= 5 && string(s.b[s.i:s.i+5]) == "false":
		s.i += 5
		return false, nil
	}
	return false, s.syntaxErr()
}

// skip reads any value without keeping it.
func (s *scanner) skip(depth int) error {
	if depth > maxDepth {
		return chat.Errorf(chat.KindInvalid, "request body nests deeper than %d levels", maxDepth)
	}
	switch s.peek() {
	case '"':
		_, _, err := s.str()
		return err
	case '{':
		for first := true; ; first = false {
			_, ok, err := s.member(first)
			if err != nil || !ok {
				return err
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
		}
	case '[':
		for first := true; ; first = false {
			ok, err := s.elem(first)
			if err != nil || !ok {
				return err
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
		}
	case 't', 'f':
		_, err := s.boolean()
		return err
	case 'n':
		if !s.null() {
			return s.syntaxErr()
		}
		return nil
	}
	_, err := s.number()
	return err
}

// member moves to the next member of an object: on the first call it
// reads the '{', then the ',' between members. It returns the member's
// key (valid until the next call; it starts at keyAt) with the scanner on
// its value, or ok false at the closing '}'.
func (s *scanner) member(first bool) (key []byte, ok bool, err error) {
	c := s.peek()
	if first {
		if c != '{' {
			return nil, false, s.syntaxErr()
		}
		s.i++
		if s.peek() == '}' {
			s.i++
			return nil, false, nil
		}
	} else {
		switch c {
		case '}':
			s.i++
			return nil, false, nil
		case ',':
			s.i++
		default:
			return nil, false, s.syntaxErr()
		}
	}
	s.ws()
	s.keyAt = s.i
	raw, escaped, err := s.str()
	if err != nil {
		return nil, false, err
	}
	if escaped {
		s.tmp = unescape(s.tmp[:0], raw)
		raw = s.tmp
	}
	if s.peek() != ':' {
		return nil, false, s.syntaxErr()
	}
	s.i++
	s.ws()
	return raw, true, nil
}

// elem moves to the next element of an array, like member.
func (s *scanner) elem(first bool) (ok bool, err error) {
	c := s.peek()
	if first {
		if c != '[' {
			return false, s.syntaxErr()
		}
		s.i++
		if s.peek() == ']' {
			s.i++
			return false, nil
		}
		return true, nil
	}
	switch c {
	case ']':
		s.i++
		return false, nil
	case ',':
		s.i++
		s.ws()
		return true, nil
	}
	return false, s.syntaxErr()
}

// end checks that nothing but white space follows the value read.
func (s *scanner) end() error {
	if s.peek() != 0 {
		return chat.Errorf(chat.KindInvalid, "request body must hold a single JSON object")
	}
	return nil
}

// float and integer parse a number's raw text; ok false means it is not
// one of that kind (an integer field given 1.5).
func parseFloat(raw []byte) (float64, bool) {
	f, err := strconv.ParseFloat(string(raw), 64)
	return f, err == nil
}

func parseInt(raw []byte) (int64, bool) {
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return n, err == nil
}

// appendString appends s as a JSON string.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
