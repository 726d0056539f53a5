// Package guard is what every Parley service checks before a request
// reaches its handler, whoever the request claims to be: that a browser
// page of another site is not making it change something (cross-origin
// requests, refused with Go's http.CrossOriginProtection), that the Host
// it was sent to is one this service answers as (DNS rebinding, checked
// where nothing else protects the service: --auth none, a model service
// without a key), and that every answer carries the headers that stop a
// browser from sniffing, framing or leaking it.
package guard

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/httpx"
)

// Config holds the hosts a service answers as besides the loopback ones.
type Config struct {
	// AllowedHosts are host names (or addresses) browsers may reach the
	// service under when the Host is checked; "*" allows any.
	AllowedHosts []string
}

// RegisterFlags binds c to its flags, each declaring its default.
func (c *Config) RegisterFlags(f *cmdline.Flags) {
	f.List(&c.AllowedHosts, "allowed-hosts", "host names a browser may reach this service under when nothing else protects it (--auth none, a model service without a key), besides localhost and loopback addresses; * allows any (DNS rebinding then works against it)")
}

// Validate reports entries that are not host names.
func (c Config) Validate() error {
	for _, h := range c.AllowedHosts {
		if strings.Contains(h, "/") || strings.ContainsAny(h, " \t") {
			return fmt.Errorf("--allowed-hosts: %q is not a host name (no scheme, no path)", h)
		}
	}
	return nil
}

// Options are how one service is guarded.
type Options struct {
	// CheckHost refuses (403) requests whose Host, or X-Forwarded-Host, is
	// neither a loopback name or address nor an allowed host. For a
	// service that does not ask who is calling: a page that rebinds its
	// own name to 127.0.0.1 would otherwise be same-origin with it.
	CheckHost bool
	// Proxies are the peers (the web service, a load balancer) whose
	// X-Forwarded-Host names the host the browser used, which cross-origin
	// checks then compare the Origin with.
	Proxies []netip.Prefix
}

// openPath reports the paths never refused for their Host: probes of
// load balancers and orchestrators use addresses, and these show nothing
// private.
func openPath(path string) bool {
	return path == "/healthz" || path == httpx.ReadyPath || path == "/metrics"
}

// New returns the guard of a service: wrap the whole handler with it.
func New(cfg Config, opts Options, log *slog.Logger) func(http.Handler) http.Handler {
	g := &guard{cop: http.NewCrossOriginProtection(), opts: opts, log: log, allowed: map[string]bool{}}
	for _, h := range cfg.AllowedHosts {
		h = normalHost(h)
		if h == "*" {
			g.any = true
		}
		g.allowed[h] = true
	}
	return g.wrap
}

type guard struct {
	cop     *http.CrossOriginProtection
	opts    Options
	log     *slog.Logger
	allowed map[string]bool
	any     bool
}

func (g *guard) wrap(next http.Handler) http.Handler { return &guarded{g: g, next: next} }

// guarded is a handler behind the guard (a type rather than a closure:
// see the stack note in httpx).
type guarded struct {
	g    *guard
	next http.Handler
}

func (h *guarded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if w = h.g.admit(w, r); w != nil {
		h.next.ServeHTTP(w, r)
	}
}

// admit returns the writer that adds the security headers to r's answer,
// or nil once it answered why r is refused. Apart from wrap, its frame is
// gone before the route runs (see the stack note in httpx).
func (g *guard) admit(w http.ResponseWriter, r *http.Request) http.ResponseWriter {
	w = &headerWriter{ResponseWriter: w}
	if err := g.check(r); err != nil {
		httpx.WriteError(w, r, g.log, err)
		return nil
	}
	return w
}

// check returns why r is refused, or nil.
func (g *guard) check(r *http.Request) error {
	if g.opts.CheckHost && !openPath(r.URL.Path) {
		for _, h := range g.hosts(r) {
			if !g.hostAllowed(h) {
				return &chat.Error{Kind: chat.KindForbidden, Code: "host_not_allowed",
					Message: fmt.Sprintf("this service does not answer as host %q; add it to --allowed-hosts (env PARLEY_ALLOWED_HOSTS)", h[:min(len(h), 100)])}
			}
		}
	}
	// Through a trusted proxy the Host is the proxy's target; the host
	// the browser used, which its Origin must match, is forwarded.
	cr := r
	if fh := g.forwardedHost(r); fh != "" {
		cr = r.WithContext(r.Context())
		cr.Host = fh
	}
	if err := g.cop.Check(cr); err != nil {
		return &chat.Error{Kind: chat.KindForbidden, Code: "cross_origin_request", Err: err,
			Message: "a page of another site may not send this request (its Origin or Sec-Fetch-Site says cross-origin)"}
	}
	return nil
}

// hosts are every host r names: its Host and, from whoever sent them,
// its X-Forwarded-Host values. Checking the forwarded ones even from an
// untrusted peer can only refuse more.
func (g *guard) hosts(r *http.Request) []string {
	out := []string{r.Host}
	for _, v := range r.Header.Values("X-Forwarded-Host") {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				out = append(out, h)
			}
		}
	}
	return out
}

// forwardedHost is the first X-Forwarded-Host of a request from a trusted
// proxy, else "".
func (g *guard) forwardedHost(r *http.Request) string {
	fh := r.Header.Get("X-Forwarded-Host")
	if fh == "" || len(g.opts.Proxies) == 0 {
		return ""
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return ""
	}
	for _, p := range g.opts.Proxies {
		if p.Contains(a.Unmap()) {
			first, _, _ := strings.Cut(fh, ",")
			return strings.TrimSpace(first)
		}
	}
	return ""
}

// hostAllowed reports whether a Host value (host or host:port) is a
// loopback name or address, or allowed. An empty Host (HTTP/1.0) is no
// browser's.
func (g *guard) hostAllowed(hostport string) bool {
	if hostport == "" || g.any {
		return true
	}
	h := normalHost(hostport)
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	if ip, err := netip.ParseAddr(h); err == nil && ip.Unmap().IsLoopback() {
		return true
	}
	return g.allowed[h]
}

// normalHost is the host of a Host value without port, brackets, case or
// trailing dot.
func normalHost(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// securityHeaders are the headers set on every answer that does not set
// them itself, as an array: a value, copied without allocating.
func securityHeaders() [5][2]string {
	return [5][2]string{
		{"Content-Security-Policy", ContentSecurityPolicy},
		{"X-Content-Type-Options", "nosniff"},
		{"X-Frame-Options", "DENY"},
		{"Referrer-Policy", "same-origin"},
		{"Cross-Origin-Opener-Policy", "same-origin"},
	}
}

// SecurityHeaders returns the headers set on every answer that does not
// set them itself. The policy is the UI's: an API answer opened in a tab
// runs nothing.
func SecurityHeaders() map[string]string {
	m := map[string]string{}
	for _, kv := range securityHeaders() {
		m[kv[0]] = kv[1]
	}
	return m
}

// ContentSecurityPolicy allows only the service's own scripts, styles and
// connections, no inline code, no plugins and no framing.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// headerWriter adds SecurityHeaders when the answer starts, unless the
// handler (or the service a proxy forwarded to) set them already, so a
// proxied answer carries them once.
type headerWriter struct {
	http.ResponseWriter
	done bool
}

func (w *headerWriter) setHeaders() {
	if w.done {
		return
	}
	w.done = true
	h := w.ResponseWriter.Header()
	for _, kv := range securityHeaders() {
		if h.Get(kv[0]) == "" {
			h.Set(kv[0], kv[1])
		}
	}
}

func (w *headerWriter) WriteHeader(code int) {
	w.setHeaders()
	w.ResponseWriter.WriteHeader(code)
}

func (w *headerWriter) Write(b []byte) (int, error) {
	w.setHeaders()
	return w.ResponseWriter.Write(b)
}

func (w *headerWriter) Flush() {
	w.setHeaders()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *headerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
