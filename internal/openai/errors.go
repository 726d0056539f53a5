package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/chat"
)

// maxUpstreamMessage bounds how much of an upstream's error text is passed
// on to clients.
const maxUpstreamMessage = 500

// ParseErrorBody extracts the error object from an error answer's body. It
// understands OpenAI's {"error":{...}}, {"error":"text"}, vLLM's older
// top-level {"message":..., "code":...}, and falls back to the body as text.
func ParseErrorBody(body []byte) ErrorBody {
	body = bytes.TrimSpace(body)
	var wrapped struct {
		Error   *ErrorBody      `json:"error"`
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Code    json.RawMessage `json:"code"`
	}
	if json.Unmarshal(body, &wrapped) == nil {
		if wrapped.Error != nil {
			return *wrapped.Error
		}
		if wrapped.Message != "" {
			return ErrorBody{Message: wrapped.Message, Type: wrapped.Type, Code: wrapped.Code}
		}
	}
	if len(body) > 0 && body[0] != '{' && body[0] != '<' && utf8.Valid(body) {
		return ErrorBody{Message: string(body)}
	}
	return ErrorBody{}
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= maxUpstreamMessage {
		return s
	}
	cut := maxUpstreamMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// kindByType maps the error types Parley itself sends back to kinds, so
// that a kind survives the hop from a model service to the api.
func kindByType(typ string) (chat.Kind, bool) {
	for k := chat.KindInternal; k <= chat.KindTimeout; k++ {
		if k != chat.KindInternal && k.String() == typ {
			return k, true
		}
	}
	return 0, false
}

// StatusError converts a non-2xx answer of an OpenAI-compatible server into
// a *chat.Error. model names the requested model for the 404 message.
func StatusError(status int, body []byte, model string) *chat.Error {
	eb := ParseErrorBody(body)
	msg := clip(eb.Message)
	cause := fmt.Errorf("upstream status %d: %s", status, msg)
	with := func(prefix string) string {
		if msg == "" {
			return prefix
		}
		return prefix + ": " + msg
	}
	var e *chat.Error
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		// The upstream's text may quote part of the key; keep it private.
		e = chat.E(chat.KindUpstream, "upstream rejected the API key", cause)
		e.Code = "upstream_auth"
	case status == http.StatusNotFound:
		text := msg
		if text == "" {
			text = fmt.Sprintf("model %q not found", model)
		}
		e = chat.E(chat.KindNotFound, text, cause)
		e.Code = "model_not_found"
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		e = chat.E(chat.KindInvalid, with("model backend refused the request"), cause)
	case status == http.StatusRequestEntityTooLarge:
		e = chat.E(chat.KindTooLarge, with("request too large for the model backend"), cause)
	case status == http.StatusTooManyRequests:
		e = chat.E(chat.KindRateLimited, with("model backend rate limit reached"), cause)
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		e = chat.E(chat.KindTimeout, with("model backend timed out"), cause)
	case status >= 500:
		kind := chat.KindUnavailable
		if k, ok := kindByType(eb.Type); ok && (k == chat.KindUpstream || k == chat.KindTimeout) {
			kind = k
		}
		if kind == chat.KindUnavailable {
			e = chat.E(kind, with(fmt.Sprintf("model backend unavailable (status %d)", status)), cause)
		} else {
			e = chat.E(kind, with("model backend failed"), cause)
		}
	default:
		e = chat.E(chat.KindUpstream, fmt.Sprintf("model backend answered with unexpected status %d", status), cause)
	}
	if e.Code == "" {
		e.Code = eb.CodeString()
	}
	return e
}

// StreamError converts an error object found inside a stream into a
// *chat.Error; Parley's own error types keep their kind.
func StreamError(eb ErrorBody) *chat.Error {
	msg := clip(eb.Message)
	if msg == "" {
		msg = "unknown error"
	}
	cause := fmt.Errorf("upstream stream error (type %q): %s", eb.Type, msg)
	if k, ok := kindByType(eb.Type); ok {
		e := chat.E(k, msg, cause)
		e.Code = eb.CodeString()
		return e
	}
	e := chat.E(chat.KindUpstream, "model backend failed mid-stream: "+msg, cause)
	e.Code = eb.CodeString()
	return e
}
