package obs

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
)

// Redacted replaces a secret wherever one is masked.
const Redacted = "[REDACTED]"

// The patterns below are what a secret looks like inside free text: an
// upstream's error body that quotes our request, a URL with a password, a
// dumped header. They err on the side of masking.
var (
	// A credential header or field and its value ("Authorization: Bearer
	// sk-…", `"x-api-key":"…"`).
	authHeader = regexp.MustCompile(`(?i)\b(proxy-authorization|authorization|x-api-key|api-key)(["']?\s*[:=]\s*["']?)((?:bearer|basic|token)\s+)?[^\s"',;)]+`)
	// A cookie header and the rest of its line (`Cookie: a=1; b=2`).
	cookieHeader = regexp.MustCompile(`(?i)\b(set-cookie|cookie)(["']?\s*[:=]\s*["']?)[^"'\r\n]+`)
	// An HTTP credential scheme and its token.
	schemeToken = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{4,}`)
	// API keys of well-known shapes: OpenAI/Anthropic (sk-…), Hugging Face,
	// GitHub, GitLab, Groq, xAI, Google, AWS.
	apiKey = regexp.MustCompile(`\b((?:sk|rk|pk)-|hf_|gh[pousr]_|glpat-|gsk_|xai-)[A-Za-z0-9_\-]{8,}|\bAIza[0-9A-Za-z_\-]{30,}|\bAKIA[0-9A-Z]{16}\b`)
	// A password, key, token or secret field: key=value, key: value or
	// "key":"value".
	secretField = regexp.MustCompile(`(?i)\b(password|passwd|pwd|client_secret|secret|api_?key|access_?token|refresh_?token|id_?token|token|key)(["']?\s*[:=]\s*["']?)[^\s"'&,;}]+`)
	// The password of a URL's userinfo (scheme://user:password@host).
	urlPassword = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@]*):[^@\s/]+@`)
)

// triggers are cheap tests that s may hold a secret at all, so that the
// common log line (no secret) costs no regular-expression match. They are
// indexed by their first byte: one pass over s tests them all.
var triggers = func() (t [256][]string) {
	for _, w := range []string{"auth", "cookie", "api-key", "bearer", "basic", "sk-", "rk-", "pk-", "hf_", "gh",
		"glpat-", "gsk_", "xai-", "aiza", "akia", "pass", "pwd", "secret", "key", "token", "://"} {
		t[w[0]] = append(t[w[0]], w)
	}
	return t
}()

func mayHoldSecret(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		for _, w := range triggers[c] {
			if hasPrefixFold(s[i:], w) {
				return true
			}
		}
	}
	return false
}

// hasPrefixFold reports whether s starts with the lower-case ASCII word w,
// ignoring the case of s.
func hasPrefixFold(s, w string) bool {
	if len(s) < len(w) {
		return false
	}
	for j := 0; j < len(w); j++ {
		c := s[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[j] {
			return false
		}
	}
	return true
}

// Redact masks the secrets in s: credential headers and their values,
// bearer and basic tokens, API keys of well-known shapes, password, key,
// token and secret fields, and passwords in URLs. Text without them comes
// back unchanged.
func Redact(s string) string {
	if !mayHoldSecret(s) {
		return s
	}
	s = authHeader.ReplaceAllString(s, "${1}${2}${3}"+Redacted)
	s = cookieHeader.ReplaceAllString(s, "${1}${2}"+Redacted)
	s = schemeToken.ReplaceAllString(s, "${1} "+Redacted)
	s = apiKey.ReplaceAllString(s, Redacted)
	s = secretField.ReplaceAllStringFunc(s, func(m string) string {
		sub := secretField.FindStringSubmatch(m)
		if strings.HasSuffix(m, Redacted) {
			return m // masked by a rule above
		}
		return sub[1] + sub[2] + Redacted
	})
	return urlPassword.ReplaceAllString(s, "${1}:"+Redacted+"@")
}

// sensitiveKey reports whether an attribute or header named k holds a
// secret as a whole.
func sensitiveKey(k string) bool {
	switch strings.ReplaceAll(strings.ToLower(k), "-", "_") {
	case "authorization", "proxy_authorization", "cookie", "set_cookie", "x_api_key", "api_key", "apikey",
		"password", "passwd", "pwd", "secret", "client_secret", "token", "access_token", "refresh_token",
		"id_token", "key", "upstream_key", "model_key":
		return true
	}
	return false
}

// NewRedactingHandler returns a handler that masks secrets before next
// sees a record: attributes named like a credential (authorization,
// cookie, password, key, token, …) lose their value, and every message,
// string, error and header value is passed through Redact. It is the one
// place where logs are kept free of secrets, so a cause that quotes an
// upstream's answer cannot leak a key into them.
func NewRedactingHandler(next slog.Handler) slog.Handler {
	return &redactHandler{next: next}
}

type redactHandler struct{ next slog.Handler }

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactHandler) Handle(ctx context.Context, r slog.Record) error {
	if secretIn(&r) {
		return h.handleRedacted(ctx, &r)
	}
	return h.next.Handle(ctx, r)
}

// secretIn reports whether r's message or an attribute has something to
// mask.
func secretIn(r *slog.Record) bool {
	if Redact(r.Message) != r.Message {
		return true
	}
	changed := false
	r.Attrs(func(a slog.Attr) bool {
		_, changed = redactAttr(a)
		return !changed
	})
	return changed
}

// handleRedacted passes on a copy of r with its secrets masked; apart from
// Handle, so that the copy is not in Handle's frame for other records.
func (h *redactHandler) handleRedacted(ctx context.Context, r *slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Redact(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		a, _ = redactAttr(a)
		out.AddAttrs(a)
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i], _ = redactAttr(a)
	}
	return &redactHandler{next: h.next.WithAttrs(out)}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{next: h.next.WithGroup(name)}
}

// redactAttr returns a with its secrets masked, and whether anything was.
func redactAttr(a slog.Attr) (slog.Attr, bool) {
	v := a.Value.Resolve()
	if sensitiveKey(a.Key) && v.Kind() != slog.KindGroup {
		if v.Kind() == slog.KindString && v.String() == "" {
			return a, false
		}
		return slog.String(a.Key, Redacted), true
	}
	switch v.Kind() {
	case slog.KindString:
		if s := Redact(v.String()); s != v.String() {
			return slog.String(a.Key, s), true
		}
	case slog.KindGroup:
		attrs := v.Group()
		var out []slog.Attr
		for i, g := range attrs {
			r, c := redactAttr(g)
			if c && out == nil {
				out = append(make([]slog.Attr, 0, len(attrs)), attrs[:i]...)
			}
			if out != nil {
				out = append(out, r)
			}
		}
		if out != nil {
			return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}, true
		}
	case slog.KindAny:
		return redactAny(a.Key, v.Any())
	}
	return a, false
}

func redactAny(key string, v any) (slog.Attr, bool) {
	var s string
	switch x := v.(type) {
	case http.Header:
		return slog.Any(key, redactHeader(x)), true
	case error:
		s = x.Error()
	case fmt.Stringer:
		s = x.String()
	case []byte:
		s = string(x)
	default:
		return slog.Any(key, v), false
	}
	if r := Redact(s); r != s {
		return slog.String(key, r), true
	}
	return slog.Any(key, v), false
}

func redactHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		masked := make([]string, len(vs))
		for i, v := range vs {
			if sensitiveKey(k) {
				masked[i] = Redacted
			} else {
				masked[i] = Redact(v)
			}
		}
		out[k] = masked
	}
	return out
}
