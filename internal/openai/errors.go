package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/httpx"
)

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

func clip(s string) string { return httpx.ClipUpstreamText(s) }

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
	e := httpx.UpstreamStatusError("model backend", status, eb.Message, model)
	if status >= 500 {
		// Another Parley service says what really went wrong in the type.
		if k, ok := kindByType(eb.Type); ok && (k == chat.KindUpstream || k == chat.KindTimeout) {
			e.Kind, e.Message = k, "model backend failed"
			if msg := clip(eb.Message); msg != "" {
				e.Message += ": " + msg
			}
		}
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
