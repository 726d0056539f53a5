package openai

import (
	"github.com/parley-chat/parley/internal/chat"
)

// readMessages reads and checks the messages array: objects with a role
// Parley serves and text content (a string, null, or text parts), nothing
// else. Decoding builds the turns.
func (r *Request) readMessages(s *scanner, v *values, decode bool) error {
	if s.null() {
		return nil
	}
	if s.peek() != '[' {
		return typeErr(fMessages, s, "an array")
	}
	for first := true; ; first = false {
		ok, err := s.elem(first)
		if err != nil || !ok {
			return err
		}
		if err := r.readMessage(s, v.messages, decode); err != nil {
			return err
		}
		v.messages++
	}
}

func (r *Request) readMessage(s *scanner, i int, decode bool) error {
	if s.peek() != '{' {
		return chat.Errorf(chat.KindInvalid, "messages[%d]: expected an object, got %s", i, s.kind())
	}
	var (
		role     []byte
		roleSpan span
		content  []byte // decoded text, with decode
		seen     [3]bool
	)
	for first := true; ; first = false {
		key, ok, err := s.member(first)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		var k int
		switch string(key) {
		case "role":
			k = 0
		case "content":
			k = 1
		case "name":
			k = 2
		default:
			return chat.Errorf(chat.KindInvalid, "messages[%d]: unknown field %q", i, key)
		}
		if seen[k] {
			return chat.Errorf(chat.KindInvalid, "messages[%d]: field %q appears more than once", i, key)
		}
		seen[k] = true
		switch k {
		case 0:
			if s.null() {
				continue
			}
			if s.peek() != '"' {
				return chat.Errorf(chat.KindInvalid, "messages[%d].role: expected a string, got %s", i, s.kind())
			}
			roleSpan.start = s.i
			raw, escaped, err := s.str()
			if err != nil {
				return err
			}
			roleSpan.end = s.i
			role = raw
			if escaped {
				role = unescape(nil, raw)
			}
		case 1:
			if content, err = readContent(s, i, decode); err != nil {
				return err
			}
		case 2:
			if !s.null() {
				if s.peek() != '"' {
					return chat.Errorf(chat.KindInvalid, "messages[%d].name: expected a string, got %s", i, s.kind())
				}
				if _, _, err := s.str(); err != nil {
					return err
				}
			}
		}
	}
	var turn chat.Role
	switch string(role) {
	case "developer":
		turn = chat.RoleSystem
		r.roles = append(r.roles, roleSpan)
	case string(chat.RoleSystem), string(chat.RoleUser), string(chat.RoleAssistant):
		turn = chat.Role(role)
	default:
		return chat.Errorf(chat.KindInvalid, "messages[%d]: role %q is not supported", i, role)
	}
	if decode {
		r.Gen.Messages = append(r.Gen.Messages, chat.Turn{Role: turn, Content: string(content)})
	}
	return nil
}

// readContent reads a message's content: a string, null, or an array of
// text parts. With decode it returns the text.
func readContent(s *scanner, i int, decode bool) ([]byte, error) {
	if s.null() {
		return nil, nil
	}
	switch s.peek() {
	case '"':
		raw, escaped, err := s.str()
		if err != nil || !decode {
			return nil, err
		}
		if escaped {
			return unescape(nil, raw), nil
		}
		return raw, nil
	case '[':
	default:
		return nil, chat.Errorf(chat.KindInvalid, "messages[%d].content: expected a string, null or an array of parts, got %s", i, s.kind())
	}
	var text []byte
	n := 0
	for first := true; ; first = false {
		ok, err := s.elem(first)
		if err != nil {
			return nil, err
		}
		if !ok {
			return text, nil
		}
		if s.peek() != '{' {
			return nil, chat.Errorf(chat.KindInvalid, "messages[%d]: content part %d: expected an object, got %s", i, n, s.kind())
		}
		var typ, part []byte
		extra := ""
		for pfirst := true; ; pfirst = false {
			key, ok, err := s.member(pfirst)
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			switch string(key) {
			case "type", "text":
				isType := string(key) == "type"
				if s.peek() != '"' {
					return nil, chat.Errorf(chat.KindInvalid, "messages[%d]: content part %d: field %q: expected a string, got %s", i, n, key, s.kind())
				}
				raw, escaped, err := s.str()
				if err != nil {
					return nil, err
				}
				if escaped {
					raw = unescape(nil, raw)
				}
				if isType {
					typ = raw
				} else {
					part = raw
				}
			default:
				extra = string(key)
				if err := s.skip(0); err != nil {
					return nil, err
				}
			}
		}
		switch {
		case len(typ) == 0:
			return nil, chat.Errorf(chat.KindInvalid, "messages[%d]: content part %d has no type", i, n)
		case string(typ) != "text":
			return nil, chat.Errorf(chat.KindInvalid, "messages[%d]: content part type %q is not supported", i, typ)
		case extra != "":
			return nil, chat.Errorf(chat.KindInvalid, "messages[%d]: content part %d: unknown field %q", i, n, extra)
		}
		if decode {
			text = append(text, part...)
		}
		n++
	}
}
