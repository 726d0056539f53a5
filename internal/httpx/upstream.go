package httpx

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/obs"
)

// This file is the client side of the plumbing, shared by every client of
// a model server (OpenAI-compatible or Ollama): how to connect for long
// streams, and what a failed answer means.

// StreamingTransport returns an HTTP transport suited to many concurrent
// long streaming requests to a few model servers: a bounded connect time
// (default 10s), no overall timeout, keep-alives on, and an idle pool
// large enough that a burst of streams does not close connections only to
// dial them again (Go keeps just 2 per host by default). Answers come as
// the server sends them: no transparent gzip, which would hold back the
// pieces of a stream and cost a decompression per byte.
func StreamingTransport(connectTimeout time.Duration) *http.Transport {
	if connectTimeout <= 0 {
		connectTimeout = 10 * time.Second
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = connectTimeout
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	t.DisableCompression = true
	return t
}

// maxUpstreamText bounds how much of an upstream's error text is kept.
const maxUpstreamText = 500

// ClipUpstreamText makes an upstream's error text fit to keep: secrets
// masked (obs.Redact) and trimmed to a bounded length on a rune boundary.
func ClipUpstreamText(s string) string {
	s = strings.TrimSpace(obs.Redact(s))
	if len(s) <= maxUpstreamText {
		return s
	}
	cut := maxUpstreamText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// UpstreamError is what an upstream's error answer said, as its client
// parsed it.
type UpstreamError struct {
	// Type and Code are the machine-readable fields of its error object.
	Type, Code string
	// Text is its free-text message.
	Text string
}

// UpstreamStatusError turns a model server's non-2xx answer into a
// *chat.Error. backend names the server in messages ("the model server",
// "Ollama"), model is the requested model (for a 404). The message is
// Parley's own: an upstream's text may quote the request it got, API key
// and all, so it goes no further than the cause (redacted, for the logs).
// The upstream's error type and code are passed on when they look like
// identifiers, since they say what went wrong ("context_length_exceeded").
func UpstreamStatusError(backend string, status int, model string, up UpstreamError) *chat.Error {
	cause := fmt.Errorf("%s answered HTTP %d: %s", backend, status, ClipUpstreamText(up.Text))
	code := safeIdent(up.Code)
	detail := ""
	if typ := safeIdent(up.Type); typ != "" && code != "" {
		detail = fmt.Sprintf(" (upstream error type %q, code %q)", typ, code)
	} else if typ != "" {
		detail = fmt.Sprintf(" (upstream error type %q)", typ)
	} else if code != "" {
		detail = fmt.Sprintf(" (upstream error code %q)", code)
	}
	e := func(k chat.Kind, msg string) *chat.Error {
		return &chat.Error{Kind: k, Code: code, Message: msg + detail, Err: cause}
	}
	switch {
	case status < 300:
		return e(chat.KindUpstream, fmt.Sprintf("%s answered with an error", backend))
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return &chat.Error{Kind: chat.KindUpstream, Code: "upstream_auth",
			Message: fmt.Sprintf("%s rejected the API key (HTTP %d)", backend, status), Err: cause}
	case status == http.StatusNotFound:
		if model == "" {
			return e(chat.KindNotFound, fmt.Sprintf("%s found nothing to answer the request (HTTP 404)", backend))
		}
		return &chat.Error{Kind: chat.KindNotFound, Code: "model_not_found",
			Message: fmt.Sprintf("model %q not found on %s", model, backend), Err: cause}
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return e(chat.KindInvalid, fmt.Sprintf("%s refused the request (HTTP %d): the request is invalid for this model", backend, status))
	case status == http.StatusRequestEntityTooLarge:
		return e(chat.KindTooLarge, fmt.Sprintf("the request is too large for %s (HTTP 413)", backend))
	case status == http.StatusTooManyRequests:
		return e(chat.KindRateLimited, fmt.Sprintf("%s is over its rate limit or quota (HTTP 429)", backend))
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		return e(chat.KindTimeout, fmt.Sprintf("%s timed out (HTTP %d)", backend, status))
	case status == http.StatusBadGateway || status == http.StatusServiceUnavailable:
		return e(chat.KindUnavailable, fmt.Sprintf("%s is unavailable (HTTP %d)", backend, status))
	case status >= 500:
		return e(chat.KindUpstream, fmt.Sprintf("%s failed (HTTP %d)", backend, status))
	}
	return e(chat.KindUpstream, fmt.Sprintf("%s answered with unexpected status %d", backend, status))
}

// safeIdent returns s when it is a short identifier that holds no secret,
// else "".
func safeIdent(s string) string {
	if s == "" || len(s) > 64 || obs.Redact(s) != s {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.' || c == ':') {
			return ""
		}
	}
	return s
}

// WatchIdle returns body with a watchdog: when no read returns data for d,
// onIdle runs (typically cancelling the request with a cause that says
// so), so a server that stalls mid-answer cannot hold a caller forever.
// stop disarms the watchdog; call it when done with the body.
func WatchIdle(body io.ReadCloser, d time.Duration, onIdle func()) (watched io.ReadCloser, stop func()) {
	w := &idleBody{ReadCloser: body, timer: time.AfterFunc(d, onIdle), d: d}
	return w, func() { w.timer.Stop() }
}

// idleBody re-arms its timer on every read that returns data.
type idleBody struct {
	io.ReadCloser
	timer *time.Timer
	d     time.Duration
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.timer.Reset(b.d)
	}
	return n, err
}
