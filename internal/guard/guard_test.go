package guard_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/guard"
)

// serve runs a guarded handler that answers 200 "ok" on a real server.
func serve(t *testing.T, cfg guard.Config, opts guard.Options) *httptest.Server {
	t.Helper()
	h := guard.New(cfg, opts, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// do sends method to srv with the given Host and headers and returns the
// status and the error code of a refusal.
func do(t *testing.T, srv *httptest.Server, method, path, host string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if host != "" {
		req.Host = host
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct{ Code, Type string }
	}
	_ = json.Unmarshal(body, &e)
	return resp, e.Error.Code
}

func TestCrossOriginWritesAreRefused(t *testing.T) {
	srv := serve(t, guard.Config{}, guard.Options{})
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct {
		name   string
		method string
		hdr    map[string]string
		want   int
	}{
		{"cross-site POST (Origin)", "POST", map[string]string{"Origin": "http://evil.example"}, 403},
		{"cross-site DELETE (Origin)", "DELETE", map[string]string{"Origin": "http://evil.example"}, 403},
		{"cross-site POST (Sec-Fetch-Site)", "POST", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site but other origin", "PATCH", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"same-origin POST", "POST", map[string]string{"Origin": "http://" + host}, 200},
		{"same-origin (Sec-Fetch-Site)", "POST", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://" + host}, 200},
		{"a program (no Origin)", "POST", nil, 200},
		{"cross-site GET reads nothing it may not", "GET", map[string]string{"Origin": "http://evil.example"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, code := do(t, srv, tc.method, "/api/conversations", "", tc.hdr)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want == 403 && code != "cross_origin_request" {
				t.Errorf("code %q, want cross_origin_request", code)
			}
		})
	}
}

// Behind the web service the Host is the api's address; the browser's is
// forwarded, and believed from trusted proxies only.
func TestCrossOriginThroughProxy(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	trusting := serve(t, guard.Config{}, guard.Options{Proxies: loopback})
	fwd := map[string]string{"Origin": "http://chat.example:7860", "X-Forwarded-Host": "chat.example:7860"}
	if resp, _ := do(t, trusting, "POST", "/chat", "", fwd); resp.StatusCode != 200 {
		t.Errorf("same-origin POST through a trusted proxy: %d, want 200", resp.StatusCode)
	}
	cross := map[string]string{"Origin": "http://evil.example", "X-Forwarded-Host": "chat.example:7860"}
	if resp, _ := do(t, trusting, "POST", "/chat", "", cross); resp.StatusCode != 403 {
		t.Errorf("cross-site POST through a trusted proxy: %d, want 403", resp.StatusCode)
	}
	distrusting := serve(t, guard.Config{}, guard.Options{})
	if resp, _ := do(t, distrusting, "POST", "/chat", "", fwd); resp.StatusCode != 403 {
		t.Errorf("X-Forwarded-Host from an untrusted peer was believed: %d, want 403", resp.StatusCode)
	}
}

func TestForeignHostIsRefused(t *testing.T) {
	srv := serve(t, guard.Config{AllowedHosts: []string{"chat.example"}}, guard.Options{CheckHost: true})
	for _, tc := range []struct {
		host, path string
		hdr        map[string]string
		want       int
	}{
		{"evil.example:8080", "/api/conversations", nil, 403},
		{"evil.example", "/", nil, 403},
		{"127.0.0.1:8080", "/api/conversations", map[string]string{"X-Forwarded-Host": "evil.example:8080"}, 403},
		{"localhost:8080", "/api/conversations", nil, 200},
		{"LOCALHOST.:8080", "/api/conversations", nil, 200},
		{"app.localhost", "/", nil, 200},
		{"127.0.0.1:8080", "/", nil, 200},
		{"[::1]:8080", "/", nil, 200},
		{"chat.example:7860", "/", nil, 200},
		{"evil.example:8080", "/healthz", nil, 200}, // probes use addresses
		{"evil.example:8080", "/readyz", nil, 200},
	} {
		resp, code := do(t, srv, "GET", tc.path, tc.host, tc.hdr)
		if resp.StatusCode != tc.want {
			t.Errorf("Host %s %s: status %d, want %d", tc.host, tc.path, resp.StatusCode, tc.want)
		}
		if tc.want == 403 && code != "host_not_allowed" {
			t.Errorf("Host %s: code %q, want host_not_allowed", tc.host, code)
		}
	}
	open := serve(t, guard.Config{}, guard.Options{})
	if resp, _ := do(t, open, "GET", "/", "evil.example", nil); resp.StatusCode != 200 {
		t.Errorf("Host checked without CheckHost: %d", resp.StatusCode)
	}
	any := serve(t, guard.Config{AllowedHosts: []string{"*"}}, guard.Options{CheckHost: true})
	if resp, _ := do(t, any, "GET", "/", "evil.example", nil); resp.StatusCode != 200 {
		t.Errorf("--allowed-hosts '*' refused a host: %d", resp.StatusCode)
	}
}

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	srv := serve(t, guard.Config{}, guard.Options{CheckHost: true})
	for _, tc := range []struct {
		name, method, host string
		hdr                map[string]string
	}{
		{"answered", "GET", "", nil},
		{"refused cross-origin", "POST", "", map[string]string{"Origin": "http://evil.example"}},
		{"refused host", "GET", "evil.example", nil},
	} {
		resp, _ := do(t, srv, tc.method, "/x", tc.host, tc.hdr)
		for k, v := range guard.SecurityHeaders() {
			if got := resp.Header.Values(k); len(got) != 1 || got[0] != v {
				t.Errorf("%s: %s = %q, want [%q]", tc.name, k, got, v)
			}
		}
	}
	// A handler's own value wins and is not doubled.
	h := guard.New(guard.Config{}, guard.Options{}, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'")
		w.WriteHeader(204)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if got := rec.Header().Values("Content-Security-Policy"); len(got) != 1 || got[0] != "default-src 'none'" {
		t.Errorf("handler's CSP: %q", got)
	}
}
