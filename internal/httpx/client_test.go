package httpx

import (
	"crypto/tls"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

func TestClientAddr(t *testing.T) {
	trusted, err := ParsePrefixes("127.0.0.1, 10.0.0.0/8,fc00::/7")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"direct client", "198.51.100.7:5000", nil, "198.51.100.7"},
		{"direct client lying", "198.51.100.7:5000", []string{"203.0.113.1"}, "198.51.100.7"},
		{"through a proxy", "127.0.0.1:5000", []string{"203.0.113.1"}, "203.0.113.1"},
		{"through two proxies", "127.0.0.1:5000", []string{"203.0.113.1, 10.1.2.3"}, "203.0.113.1"},
		{"the client's own entries prove nothing", "127.0.0.1:5000", []string{"192.0.2.99, 203.0.113.1, 10.1.2.3"}, "203.0.113.1"},
		{"several header lines", "127.0.0.1:5000", []string{"192.0.2.99", "203.0.113.1"}, "203.0.113.1"},
		{"a proxy without the header", "127.0.0.1:5000", nil, "127.0.0.1"},
		{"only proxies", "10.0.0.1:5000", []string{"10.0.0.2"}, "10.0.0.2"},
		{"IPv6", "[fd00::1]:5000", []string{"2001:db8::5"}, "2001:db8::5"},
		{"IPv4 in IPv6", "[::ffff:127.0.0.1]:5000", []string{"::ffff:203.0.113.1"}, "203.0.113.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientAddr(r, trusted); got != tt.want {
				t.Errorf("ClientAddr = %q, want %q", got, tt.want)
			}
		})
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:1"
	r.Header.Set("X-Forwarded-For", "203.0.113.1")
	if got := ClientAddr(r, nil); got != "127.0.0.1" {
		t.Errorf("trusting nobody: %q", got)
	}
}

func TestParsePrefixesRefuses(t *testing.T) {
	for _, s := range []string{"10.0.0.0/33", "not-an-address", "10.0.0.1/8/1"} {
		if _, err := ParsePrefixes(s); err == nil {
			t.Errorf("ParsePrefixes(%q) accepted it", s)
		}
	}
	if ps, err := ParsePrefixes(""); err != nil || len(ps) != 0 {
		t.Errorf("ParsePrefixes(\"\") = %v, %v", ps, err)
	}
}

func TestSecure(t *testing.T) {
	plain := httptest.NewRequest("GET", "/", nil)
	tlsReq := httptest.NewRequest("GET", "/", nil)
	tlsReq.TLS = &tls.ConnectionState{}
	proxied := httptest.NewRequest("GET", "/", nil)
	proxied.Header.Set("X-Forwarded-Proto", "HTTPS")
	downgraded := httptest.NewRequest("GET", "/", nil)
	downgraded.Header.Set("X-Forwarded-Proto", "http")
	for _, tt := range []struct {
		name string
		r    bool
		want bool
	}{
		{"plain", Secure(plain), false}, {"tls", Secure(tlsReq), true},
		{"behind an HTTPS proxy", Secure(proxied), true}, {"behind an HTTP proxy", Secure(downgraded), false},
	} {
		if tt.r != tt.want {
			t.Errorf("%s: Secure = %v", tt.name, tt.r)
		}
	}
}

func TestDecodeJSONContentType(t *testing.T) {
	for ct, kind := range map[string]chat.Kind{
		"":                                  0,
		"application/json":                  0,
		"application/json; charset=utf-8":   0,
		"Application/JSON":                  0,
		"text/plain":                        chat.KindUnsupportedMedia,
		"text/plain;charset=UTF-8":          chat.KindUnsupportedMedia,
		"application/x-www-form-urlencoded": chat.KindUnsupportedMedia,
		"multipart/form-data; boundary=x":   chat.KindUnsupportedMedia,
		"application/jsonp":                 chat.KindUnsupportedMedia,
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(`{}`))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		err := DecodeJSON(r, &struct{}{}, 64)
		if kind == 0 && err != nil || kind != 0 && chat.KindOf(err) != kind {
			t.Errorf("Content-Type %q: %v", ct, err)
		}
	}
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "text/plain")
	WriteError(rec, r, slog.New(slog.DiscardHandler), DecodeJSON(r, &struct{}{}, 64))
	if rec.Code != 415 {
		t.Errorf("status %d, want 415", rec.Code)
	}
}

func TestWriteErrorAuthHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, httptest.NewRequest("GET", "/", nil), nil, chat.Errorf(chat.KindUnauthenticated, "sign in"))
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") == "" || !strings.Contains(rec.Body.String(), `"authentication_error"`) {
		t.Errorf("401: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	rec = httptest.NewRecorder()
	WriteError(rec, httptest.NewRequest("GET", "/", nil), nil, chat.Errorf(chat.KindForbidden, "no"))
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), `"permission_error"`) {
		t.Errorf("403: %d %s", rec.Code, rec.Body)
	}
	for d, want := range map[time.Duration]string{0: "1", 300 * time.Millisecond: "1", 90 * time.Second: "90", 90*time.Second + time.Millisecond: "91"} {
		rec = httptest.NewRecorder()
		WriteError(rec, httptest.NewRequest("GET", "/", nil), nil, &chat.Error{Kind: chat.KindRateLimited, Message: "wait", RetryAfter: d})
		if got := rec.Header().Get("Retry-After"); rec.Code != 429 || got != want {
			t.Errorf("RetryAfter %v: %d, Retry-After %q, want %q", d, rec.Code, got, want)
		}
	}
}
