package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"syscall"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/httpx"
)

// NewAPIProxy returns the handler that forwards the UI's /api/, /v1/ and
// /chat requests to the api service at apiURL in split mode. Replies stream
// through unbuffered (SSE), the request id, cookies and Authorization travel
// along (the api authenticates; this service does not), and when the api
// cannot be reached the browser gets an OpenAI-style JSON error it can show,
// never an empty page. The proxy runs full duplex (see httpx.FullDuplex),
// or a busy web service would cut streams.
//
// The host the browser used travels as X-Forwarded-Host, for the api's
// cross-origin and Host checks; when a proxy in front that is one of
// trusted already said it, its word is passed on.
func NewAPIProxy(apiURL string, log *slog.Logger, trusted ...netip.Prefix) (http.Handler, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	target, err := url.Parse(apiURL)
	if err != nil {
		return nil, fmt.Errorf("parse api url %q: %w", apiURL, err)
	}
	if target.Scheme != "http" && target.Scheme != "https" || target.Host == "" {
		return nil, fmt.Errorf("api url %q: want http(s)://host[:port]", apiURL)
	}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// The api sees the host the browser used, as if it were
			// reached directly: its cross-origin check compares the
			// browser's Origin with it, and under --auth none its
			// DNS-rebinding check refuses hosts other than loopback ones.
			pr.Out.Host = pr.In.Host
			// The chain of addresses proxies in front of this one wrote is
			// kept and this hop's peer added: the api counts failed logins
			// per client, and finds the client by walking it back through
			// the proxies it trusts.
			pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
			pr.SetXForwarded()
			if fh := pr.In.Header.Get("X-Forwarded-Host"); fh != "" && peerTrusted(pr.In, trusted) {
				pr.Out.Header.Set("X-Forwarded-Host", fh)
			}
			// HTTPS ended at a proxy in front (nginx, a load balancer): the
			// api still marks the session cookie Secure.
			if httpx.Secure(pr.In) {
				pr.Out.Header.Set("X-Forwarded-Proto", "https")
			}
			// The header the browser sent is copied already; this covers
			// the id httpx.Middleware generated when it sent none.
			if id := httpx.RequestID(pr.In.Context()); id != "" {
				pr.Out.Header.Set(httpx.HeaderRequestID, id)
			}
		},
		// SSE: every token must reach the browser as soon as the api
		// writes it.
		FlushInterval: -1,
		// The call to the api is a span of the browser request's trace,
		// when there is one.
		Transport: httpx.Transport(nil),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				// The browser went away; nobody is left to answer.
				return
			}
			e := &chat.Error{Kind: chat.KindUpstream, Code: "api_failed",
				Message: "the api service broke off its answer; try again", Err: err}
			if unreachable(err) {
				e = &chat.Error{Kind: chat.KindUnavailable, Code: "api_unreachable",
					Message: "the api service cannot be reached; try again shortly", Err: err}
			}
			httpx.WriteError(w, r, log, e)
		},
	}
	return httpx.FullDuplex(p), nil
}

// peerTrusted reports whether r came straight from one of trusted.
func peerTrusted(r *http.Request, trusted []netip.Prefix) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	for _, p := range trusted {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// unreachable reports whether err means no connection to the api could be
// made (as opposed to one that broke mid-answer).
func unreachable(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &dns)
}
