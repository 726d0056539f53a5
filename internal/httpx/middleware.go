package httpx

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// Middleware wraps next with what every Parley request gets: a request id
// (taken from the caller when valid, echoed in the response), panic
// recovery that answers 500 instead of dropping the connection, and one
// structured access-log line.
func Middleware(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, r := begin(w, r)
		defer rec.finish(log, r)
		next.ServeHTTP(rec, r)
	})
}

// begin starts a request's record: its id, echoed in w and carried in the
// returned request's context. What a request keeps until it ends lives in
// the record, not in Middleware's frame, which stays under the whole
// request: see the stack note in doc.go.
func begin(w http.ResponseWriter, r *http.Request) (*recorder, *http.Request) {
	start := time.Now()
	id := r.Header.Get(HeaderRequestID)
	if !validRequestID(id) {
		id = NewRequestID()
	}
	w.Header().Set(HeaderRequestID, id)
	return &recorder{ResponseWriter: w, requestID: id, start: start}, r.WithContext(WithRequestID(r.Context(), id))
}

// finish recovers a panic of the handler (answering 500 when nothing was
// written yet) and writes the access-log line. It is deferred, so
// recover works here; the rest is apart, so that what they hold is not in
// this frame, under the log line's own deep stack.
func (rec *recorder) finish(log *slog.Logger, r *http.Request) {
	v := recover()
	aborted := v == http.ErrAbortHandler
	if v != nil && !aborted {
		rec.panicked(log, r, v)
	}
	rec.logAccess(log, r, aborted)
	if aborted {
		panic(v) // net/http closes the connection quietly
	}
}

// panicked logs a handler's panic and answers 500 if nothing was written.
func (rec *recorder) panicked(log *slog.Logger, r *http.Request, v any) {
	log.Error("panic serving request", "request_id", rec.requestID, "path", r.URL.Path,
		"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	if !rec.wrote {
		WriteError(rec, r, nil, chat.E(chat.KindInternal, "internal error", nil))
	}
}

// logAccess writes the request's access-log line.
func (rec *recorder) logAccess(log *slog.Logger, r *http.Request, aborted bool) {
	level := slog.LevelInfo
	if r.URL.Path == "/healthz" || r.URL.Path == ReadyPath {
		level = slog.LevelDebug
	}
	attrs := [...]slog.Attr{slog.String("request_id", rec.requestID), slog.String("method", r.Method),
		slog.String("path", r.URL.Path), slog.Int("status", rec.statusOr200()),
		slog.Int64("bytes", rec.bytes), slog.Duration("duration", time.Since(rec.start)),
		// A proxy gave up on a client that went away mid-answer.
		slog.Bool("aborted", true)}
	n := len(attrs)
	if !aborted {
		n--
	}
	log.LogAttrs(r.Context(), level, "http", attrs[:n]...)
}

// recorder remembers the status for the access log. It passes Flush and
// Hijack through, since SSE needs the first and reverse proxies the second.
type recorder struct {
	http.ResponseWriter
	start     time.Time // set by Middleware
	requestID string
	status    int
	wrote     bool
	bytes     int64
}

// pinRequestID makes the echoed request id a single value: a handler that
// proxies to another Parley service copies that service's echo of the same
// id, which would otherwise be sent twice.
func (r *recorder) pinRequestID() {
	if !r.wrote && r.requestID != "" {
		r.ResponseWriter.Header()[HeaderRequestID] = []string{r.requestID}
	}
}

func (r *recorder) WriteHeader(code int) {
	r.pinRequestID()
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.pinRequestID()
	r.wrote = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Flush() {
	r.pinRequestID()
	r.wrote = true
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := r.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijack not supported")
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) statusOr200() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}
