package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/httpx"
)

// lateEOF delays every read of a request body after the first, as a busy
// machine delays the proxy transport's goroutine between sending the body
// and reading its end: by then the api has answered and the proxy has
// written the response headers.
type lateEOF struct {
	io.ReadCloser
	delay time.Duration
	reads int
}

func (b *lateEOF) Read(p []byte) (int, error) {
	if b.reads++; b.reads > 1 {
		time.Sleep(b.delay)
	}
	return b.ReadCloser.Read(p)
}

// The proxied stream must survive the proxy's transport reading the end of
// the request body after the response has begun (golang/go#40747): Go's
// HTTP/1 server then used to have closed the body, the transport took the
// failed read for a broken request and closed its connection to the api,
// and the browser's stream ended without its done event.
func TestAPIProxyStreamOutlivesLateBodyRead(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			t.Errorf("api read body: %v", err)
		}
		sse, err := httpx.NewSSE(w)
		if err != nil {
			t.Error(err)
			return
		}
		for range 5 {
			if sse.Event("delta", map[string]string{"content": "x"}) != nil {
				return
			}
			time.Sleep(40 * time.Millisecond)
		}
		_ = sse.Event("done", map[string]string{"status": "complete"})
	}))
	t.Cleanup(api.Close)
	proxy, err := NewAPIProxy(api.URL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = &lateEOF{ReadCloser: r.Body, delay: 100 * time.Millisecond}
		proxy.ServeHTTP(w, r)
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/api/conversations/x/messages", strings.NewReader(`{"content":"hi"}`))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || strings.Count(string(body), "event: delta") != 5 || !strings.Contains(string(body), "event: done") {
		t.Fatalf("stream through the proxy: %v\n%s", err, body)
	}
}

// The api sees the host the browser used: as its Host, and as
// X-Forwarded-Host, which a trusted proxy in front may have named and an
// untrusted client may not.
func TestAPIProxyPassesTheBrowsersHost(t *testing.T) {
	type seen struct{ host, fwd string }
	got := make(chan seen, 1)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Host, r.Header.Get("X-Forwarded-Host")}
	}))
	t.Cleanup(api.Close)
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		want    seen
	}{
		{"from a trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, seen{"web.internal:7860", "chat.example"}},
		{"from anyone else", nil, seen{"web.internal:7860", "web.internal:7860"}},
	} {
		proxy, err := NewAPIProxy(api.URL, nil, tc.trusted...)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(proxy)
		req, _ := http.NewRequest("GET", srv.URL+"/api/conversations", nil)
		req.Host = "web.internal:7860"
		req.Header.Set("X-Forwarded-Host", "chat.example")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		srv.Close()
		if s := <-got; s != tc.want {
			t.Errorf("%s: the api saw %+v, want %+v", tc.name, s, tc.want)
		}
	}
}
