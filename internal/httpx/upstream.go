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
)

// This file is the client side of the plumbing, shared by every client of
// a model server (OpenAI-compatible or Ollama): how to connect for long
// streams, and what a failed answer means.

// StreamingTransport returns an HTTP transport suited to long streaming
// requests: a bounded connect time (default 10s), no overall timeout,
// keep-alives on, and enough idle connections per host for a busy api.
func StreamingTransport(connectTimeout time.Duration) *http.Transport {
	if connectTimeout <= 0 {
		connectTimeout = 10 * time.Second
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = connectTimeout
	t.MaxIdleConnsPerHost = 64
	return t
}

// maxUpstreamText bounds how much of an upstream's error text is passed on
// to clients.
const maxUpstreamText = 500

// ClipUpstreamText trims an upstream's error text to a length fit to show,
// on a rune boundary.
func ClipUpstreamText(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= maxUpstreamText {
		return s
	}
	cut := maxUpstreamText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// UpstreamStatusError turns a model server's non-2xx answer into a
// *chat.Error. backend names the server in messages ("model backend",
// "ollama"), text is its error message (shown clipped, except for auth
// failures, whose text may quote the key), model the requested model for a
// 404 without text.
func UpstreamStatusError(backend string, status int, text, model string) *chat.Error {
	text = ClipUpstreamText(text)
	cause := fmt.Errorf("%s status %d: %s", backend, status, text)
	with := func(prefix string) string {
		if text == "" {
			return prefix
		}
		return prefix + ": " + text
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return &chat.Error{Kind: chat.KindUpstream, Code: "upstream_auth", Message: "upstream rejected the API key", Err: cause}
	case status == http.StatusNotFound:
		if text == "" {
			text = fmt.Sprintf("model %q not found", model)
		}
		return &chat.Error{Kind: chat.KindNotFound, Code: "model_not_found", Message: text, Err: cause}
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return chat.E(chat.KindInvalid, with(backend+" refused the request"), cause)
	case status == http.StatusRequestEntityTooLarge:
		return chat.E(chat.KindTooLarge, with("request too large for the "+backend), cause)
	case status == http.StatusTooManyRequests:
		return chat.E(chat.KindRateLimited, with(backend+" rate limit reached"), cause)
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		return chat.E(chat.KindTimeout, with(backend+" timed out"), cause)
	case status >= 500:
		return chat.E(chat.KindUnavailable, with(fmt.Sprintf("%s unavailable (status %d)", backend, status)), cause)
	}
	return chat.E(chat.KindUpstream, fmt.Sprintf("%s answered with unexpected status %d", backend, status), cause)
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
