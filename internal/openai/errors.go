package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
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

// serverName is how messages name the server a Client talks to.
const serverName = "the model server"

// StatusError converts a non-2xx answer of an OpenAI-compatible server into
// a *chat.Error. model names the requested model for the 404 message.
// parley says the answer came from a Parley service (httpx.HeaderParleyError):
// its message is already Parley's own and passes on unchanged, with the
// kind its type names. Any other server's text is replaced by Parley's
// message for the status (httpx.UpstreamStatusError), since it may quote
// the API key.
func StatusError(status int, body []byte, model string, parley bool) *chat.Error {
	eb := ParseErrorBody(body)
	// A Parley model service refusing the api itself (its key, its Host)
	// is no answer for the api's client, whose own credentials were fine:
	// it is mapped as any upstream's refusal (502, upstream_auth).
	refused := status == http.StatusUnauthorized || status == http.StatusForbidden
	if parley && eb.Message != "" && !refused {
		k, ok := kindByType(eb.Type)
		if !ok {
			// The service failed itself (internal_error): for us it is a
			// dependency that failed.
			k = chat.KindUpstream
		}
		return &chat.Error{Kind: k, Code: eb.CodeString(), Message: httpx.ClipUpstreamText(eb.Message),
			Err: fmt.Errorf("model service answered HTTP %d", status)}
	}
	e := httpx.UpstreamStatusError(serverName, status, model,
		httpx.UpstreamError{Type: eb.Type, Code: eb.CodeString(), Text: eb.Message})
	if status == http.StatusBadRequest && contextExceeded(eb) {
		e.Code = chat.CodeContextLength // the words need not say so, the code does
	}
	return e
}

// contextExceeded reports whether an error answer refuses a prompt too long
// for the model's context window, as the servers in use say it: OpenAI's
// (and Parley's) code, llama-server's type, vLLM's and others' words.
func contextExceeded(eb ErrorBody) bool {
	if eb.CodeString() == chat.CodeContextLength || eb.Type == "exceed_context_size_error" {
		return true
	}
	msg := strings.ToLower(eb.Message)
	return strings.Contains(msg, "context length") || strings.Contains(msg, "context window") ||
		strings.Contains(msg, "context size")
}

// StreamError converts an error object found inside a stream into a
// *chat.Error. Parley's own error types keep their kind and message; other
// servers' messages are kept too (they say what failed, e.g. "CUDA out of
// memory"), but with secrets masked and under Parley's prefix.
func StreamError(eb ErrorBody) *chat.Error {
	msg := httpx.ClipUpstreamText(eb.Message)
	if msg == "" {
		msg = "unknown error"
	}
	cause := fmt.Errorf("upstream stream error (type %q): %s", eb.Type, msg)
	if k, ok := kindByType(eb.Type); ok {
		e := chat.E(k, msg, cause)
		e.Code = eb.CodeString()
		return e
	}
	e := chat.E(chat.KindUpstream, serverName+" failed mid-stream: "+msg, cause)
	e.Code = eb.CodeString()
	return e
}

// answered is the cause of an error that was a server's non-2xx answer: its
// status and the wait its Retry-After asked for. A pool of servers judges
// a server by it (429 and 503 say busy, not broken) without reading text.
type answered struct {
	status     int
	retryAfter time.Duration
	err        error
}

func (a *answered) Error() string { return a.err.Error() }
func (a *answered) Unwrap() error { return a.err }

// withAnswer records the status and Retry-After of the answer e stands for.
func withAnswer(e *chat.Error, status int, h http.Header) *chat.Error {
	e.Err = &answered{status: status, retryAfter: parseRetryAfter(h.Get("Retry-After"), time.Now()), err: e.Err}
	return e
}

// AnswerStatus returns the HTTP status of the server's answer that err
// reports, and how long its Retry-After header asked to wait (0 when it
// named no wait); status 0 means err was no answer (the server was not
// reached, or failed after answering 2xx).
func AnswerStatus(err error) (status int, retryAfter time.Duration) {
	var a *answered
	if errors.As(err, &a) {
		return a.status, a.retryAfter
	}
	return 0, 0
}

// parseRetryAfter reads a Retry-After value: seconds, or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
