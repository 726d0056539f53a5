package httpx

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/parley-chat/parley/internal/chat"
)

// SSE writes a server-sent event stream, flushing each event so tokens
// reach the browser as they are produced.
type SSE struct {
	w http.ResponseWriter
	f http.Flusher
}

// NewSSE sends the event-stream headers at once, so the client knows the
// stream began. It fails if w cannot flush.
func NewSSE(w http.ResponseWriter) (*SSE, error) {
	s, err := StartSSE(w)
	if err == nil {
		s.f.Flush()
	}
	return s, err
}

// StartSSE is NewSSE without the flush: the headers go out with the first
// event, in the same packet, as a proxy relaying a stream wants.
func StartSSE(w http.ResponseWriter) (*SSE, error) {
	f, ok := w.(http.Flusher)
	if !ok {
		return nil, chat.E(chat.KindInternal, "streaming unsupported", nil)
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no") // nginx would otherwise buffer the stream
	w.WriteHeader(http.StatusOK)
	return &SSE{w: w, f: f}, nil
}

// Write writes events already framed (a relayed stream) without flushing.
func (s *SSE) Write(b []byte) (int, error) { return s.w.Write(b) }

// Flush sends what was written.
func (s *SSE) Flush() { s.f.Flush() }

// Event writes a named event whose data is v as JSON.
func (s *SSE) Event(name string, v any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString("event: ")
	buf.WriteString(name)
	buf.WriteString("\ndata: ")
	buf.Write(b)
	buf.WriteString("\n\n")
	return s.write(buf.Bytes())
}

// Data writes an unnamed event whose data is v as JSON (OpenAI's chunks).
func (s *SSE) Data(v any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	out := make([]byte, 0, len(b)+8)
	out = append(out, "data: "...)
	out = append(out, b...)
	out = append(out, "\n\n"...)
	return s.write(out)
}

// Done writes OpenAI's end-of-stream marker.
func (s *SSE) Done() error { return s.write([]byte("data: [DONE]\n\n")) }

// Comment writes a comment line, used as a keep-alive.
func (s *SSE) Comment(text string) error { return s.write([]byte(": " + text + "\n\n")) }

func (s *SSE) write(b []byte) error {
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	s.f.Flush()
	return nil
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
