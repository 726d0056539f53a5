package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// ErrorBody is OpenAI's error envelope, used by every Parley service.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    string `json:"code,omitempty"`
}

// StatusOf maps an error kind to its HTTP status.
func StatusOf(k chat.Kind) int {
	switch k {
	case chat.KindInvalid:
		return http.StatusBadRequest
	case chat.KindNotFound:
		return http.StatusNotFound
	case chat.KindConflict:
		return http.StatusConflict
	case chat.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case chat.KindRateLimited:
		return http.StatusTooManyRequests
	case chat.KindUnavailable:
		return http.StatusServiceUnavailable
	case chat.KindUpstream:
		return http.StatusBadGateway
	case chat.KindTimeout:
		return http.StatusGatewayTimeout
	case chat.KindUnauthenticated:
		return http.StatusUnauthorized
	case chat.KindForbidden:
		return http.StatusForbidden
	case chat.KindUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	default:
		return http.StatusInternalServerError
	}
}

// KindOfStatus is the inverse of StatusOf, for clients that turn another
// service's error answer back into a domain error.
func KindOfStatus(status int) chat.Kind {
	switch {
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return chat.KindInvalid
	case status == http.StatusNotFound:
		return chat.KindNotFound
	case status == http.StatusConflict:
		return chat.KindConflict
	case status == http.StatusRequestEntityTooLarge:
		return chat.KindTooLarge
	case status == http.StatusTooManyRequests:
		return chat.KindRateLimited
	case status == http.StatusGatewayTimeout:
		return chat.KindTimeout
	case status == http.StatusBadGateway:
		return chat.KindUpstream
	case status == http.StatusUnauthorized:
		return chat.KindUnauthenticated
	case status == http.StatusForbidden:
		return chat.KindForbidden
	case status == http.StatusUnsupportedMediaType:
		return chat.KindUnsupportedMedia
	case status >= 500:
		return chat.KindUnavailable
	default:
		return chat.KindInvalid
	}
}

// ErrorBodyOf returns the client-facing body for err. Only the messages of
// *chat.Error values are shown; anything else becomes "internal error".
func ErrorBodyOf(err error) ErrorBody {
	k := chat.KindOf(err)
	return ErrorBody{Error: ErrorDetail{Message: chat.MessageOf(err), Type: k.String(), Code: chat.CodeOf(err)}}
}

// HeaderParleyError marks an error answer written by WriteError. Its
// message was made by a Parley service's own error mapping and is safe to
// show, so a Parley client in front (the api before a model service) may
// pass it on as it is; any other server's error text is replaced.
const HeaderParleyError = "X-Parley-Error"

// WriteError writes err as an OpenAI-style JSON error with the status its
// kind maps to. Server-side failures are logged with the request id, since
// their cause is hidden from the client.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	k := chat.KindOf(err)
	status := StatusOf(k)
	if status >= 500 && log != nil {
		log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("request_id", RequestID(r.Context())),
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", status), slog.Any("err", err))
	}
	switch k {
	case chat.KindRateLimited:
		// Whole seconds, rounded up: waiting less would be refused again.
		secs := int64(1)
		if d := chat.RetryAfterOf(err); d > time.Second {
			secs = int64((d + time.Second - 1) / time.Second)
		}
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	case chat.KindUnauthenticated:
		// RFC 9110: a 401 names the scheme that would work.
		w.Header().Set("WWW-Authenticate", `Bearer realm="parley"`)
	}
	w.Header().Set(HeaderParleyError, "1")
	WriteJSON(w, status, ErrorBodyOf(err))
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if v == nil {
		return
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing left to tell it
}

// checkJSONType refuses (415) a body declared as anything but JSON: a page
// of another site can send form and text/plain bodies with a user's
// cookies, but not application/json.
func checkJSONType(r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !isJSON(ct) {
		return &chat.Error{Kind: chat.KindUnsupportedMedia, Code: "unsupported_media_type",
			Message: fmt.Sprintf("Content-Type must be application/json, not %q", ct[:min(len(ct), 100)])}
	}
	return nil
}

// bodyBufs holds the buffers ReadBody reads into; bodies of busy proxies
// come and go thousands of times a second.
var bodyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer kept for reuse.
const maxPooledBody = 64 << 10

// ReadBody reads r's JSON body of at most maxBytes into a pooled buffer,
// for handlers that check a body and pass it on rather than decode it.
// Call release when done with the bytes. Failures are *chat.Error as
// DecodeJSON's.
func ReadBody(r *http.Request, maxBytes int64) (body []byte, release func(), err error) {
	if err := checkJSONType(r); err != nil {
		return nil, nil, err
	}
	buf := bodyBufs.Get().(*bytes.Buffer)
	buf.Reset()
	release = func() {
		if buf.Cap() <= maxPooledBody {
			bodyBufs.Put(buf)
		}
	}
	if n := r.ContentLength; n > 0 && n <= maxBytes {
		buf.Grow(int(n) + 1) // +1: ReadFrom wants room to see the end
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, maxBytes)); err != nil {
		release()
		return nil, nil, decodeError(err, maxBytes)
	}
	// Read to its end and closed, the body is not read once more (into
	// io.Discard, through a pooled buffer) when the answer starts, at the
	// bottom of the stack under the handler.
	r.Body.Close()
	return buf.Bytes(), release, nil
}

// DecodeJSON reads one JSON object of at most maxBytes from r's body into v,
// refusing unknown fields and trailing data. Failures are *chat.Error of
// KindInvalid, KindTooLarge when the body is over the limit, or
// KindUnsupportedMedia when it is declared as anything but JSON.
func DecodeJSON(r *http.Request, v any, maxBytes int64) error {
	if err := checkJSONType(r); err != nil {
		return err
	}
	body := http.MaxBytesReader(nil, r.Body, maxBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, maxBytes)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		if err == nil {
			return chat.Errorf(chat.KindInvalid, "request body must hold a single JSON object")
		}
		return decodeError(err, maxBytes)
	}
	return nil
}

// isJSON reports whether a Content-Type value is application/json, with
// or without parameters.
func isJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}

func decodeError(err error, maxBytes int64) error {
	var tooLarge *http.MaxBytesError
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		return chat.Errorf(chat.KindTooLarge, "request body is larger than %d bytes", maxBytes)
	case errors.Is(err, io.EOF):
		return chat.Errorf(chat.KindInvalid, "request body is empty; expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return chat.Errorf(chat.KindInvalid, "request body is not valid JSON: unexpected end")
	case errors.As(err, &syntax):
		return chat.Errorf(chat.KindInvalid, "request body is not valid JSON at byte %d", syntax.Offset)
	case errors.As(err, &typeErr):
		if field := jsonPath(typeErr.Field); field != "" {
			return chat.Errorf(chat.KindInvalid, "field %q: expected %s, got %s", field, jsonKind(typeErr.Type), jsonValueKind(typeErr.Value))
		}
		return chat.Errorf(chat.KindInvalid, "request body must be a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return chat.Errorf(chat.KindInvalid, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return chat.Errorf(chat.KindInvalid, "request body could not be read: %s", errText(err))
	}
}

// jsonPath drops from encoding/json's field path the Go names of embedded
// structs it puts there ("SamplingParams.max_tokens"); Parley's JSON names
// are all lower case.
func jsonPath(path string) string {
	parts := strings.Split(path, ".")
	kept := parts[:0]
	for _, p := range parts {
		if p != "" && !('A' <= p[0] && p[0] <= 'Z') {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, ".")
}

// jsonKind names what a Go type accepts in JSON's words.
func jsonKind(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "a JSON value"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a different JSON value"
}

// jsonValueKind names what encoding/json found ("string", "number 1.5").
func jsonValueKind(v string) string {
	v, _, _ = strings.Cut(v, " ")
	switch v {
	case "array", "object":
		return "an " + v
	case "bool":
		return "true or false"
	case "":
		return "something else"
	}
	return "a " + v
}

// errText keeps decode errors short and free of internals.
func errText(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// HandlerFunc is a handler that returns its error instead of writing it, so
// that WriteError is the only place that maps errors (the Prometheus API
// pattern).
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adapts h to http.Handler, writing any returned error with
// WriteError.
func Handle(log *slog.Logger, h HandlerFunc) http.Handler {
	return &handler{log: log, h: h}
}

// handler is Handle's http.Handler: a type, not an http.HandlerFunc
// closure, whose trampoline would be one more frame under every request
// (see the stack note in doc.go). Middleware and the other wrappers are
// types for the same reason.
type handler struct {
	log *slog.Logger
	h   HandlerFunc
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	NoteRoute(r)
	if err := h.h(w, r); err != nil {
		WriteError(w, r, h.log, err)
	}
}

// NotFound answers every unmatched route with a JSON 404.
func NotFound(log *slog.Logger) http.Handler {
	return Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		return &chat.Error{Kind: chat.KindNotFound, Code: "route_not_found",
			Message: fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)}
	})
}
