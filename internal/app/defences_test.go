package app

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testupstream"
)

// request sends method url with body as JSON (or as ctype) and headers,
// and returns the answer with its body read.
func request(t *testing.T, method, url, ctype, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// errType is the OpenAI-style error type of an answer.
func errType(body string) string {
	var e struct{ Error struct{ Type, Code string } }
	_ = json.Unmarshal([]byte(body), &e)
	return e.Error.Type + "/" + e.Error.Code
}

// A model service with a key answers /v1 only to callers sending it, its
// health endpoints to everyone; the api's --model-key is that key.
func TestModelServiceKey(t *testing.T) {
	up := testupstream.New(t)
	model := startTarget(t, TargetModel, "--backend", "openai", "--upstream-url", up.URL, "--api-key", "pmk-right")
	for _, tc := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer pmk-wrong", 401}, {"Basic pmk-right", 401}, {"Bearer pmk-right", 200}} {
		resp, body := request(t, "GET", model.URL+"/v1/models", "", "", map[string]string{"Authorization": tc.auth})
		if resp.StatusCode != tc.want {
			t.Errorf("GET /v1/models with %q: %d %s, want %d", tc.auth, resp.StatusCode, body, tc.want)
		}
		if tc.want == 401 && errType(body) != "authentication_error/invalid_api_key" {
			t.Errorf("401 body %s", body)
		}
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if resp, body := request(t, "GET", model.URL+p, "", "", nil); resp.StatusCode != 200 {
			t.Errorf("GET %s without a key: %d %s, want 200", p, resp.StatusCode, body)
		}
	}
	chat := func(key string) (int, string) {
		var cfg Config
		fs, check := NewFlagSet(TargetAPI, &cfg, func(string) string { return "" })
		fs.SetOutput(io.Discard)
		if err := fs.Parse([]string{"--model-url", model.URL, "--model-key", key, "--model-health-interval", "0",
			"--database", filepath.Join(t.TempDir(), "p.db")}); err != nil {
			t.Fatal(err)
		}
		if err := check(); err != nil {
			t.Fatal(err)
		}
		api := serveBuilt(t, TargetAPI, cfg)
		resp, body := request(t, "POST", api.URL+"/chat", "application/json", `{"message":"hi"}`, nil)
		return resp.StatusCode, body
	}
	if got, body := chat("pmk-right"); got != 200 {
		t.Errorf("api with the model's key: /chat %d %s, want 200", got, body)
	}
	// The client's own credentials were fine: the api's key was not.
	if got, body := chat("pmk-wrong"); got != 502 || !strings.Contains(body, "upstream_auth") {
		t.Errorf("api with a wrong key: /chat %d %s, want 502 upstream_auth", got, body)
	}
}

// A model service beyond loopback without a key does not start, unless
// told --auth none; a key file is made on first start and read by the api.
func TestModelServiceNeedsKeyBeyondLoopback(t *testing.T) {
	up := testupstream.New(t)
	build := func(args ...string) (*Service, error) {
		var cfg Config
		fs, check := NewFlagSet(TargetModel, &cfg, func(string) string { return "" })
		fs.SetOutput(io.Discard)
		if err := fs.Parse(append([]string{"--addr", "0.0.0.0:8082", "--backend", "openai", "--upstream-url", up.URL}, args...)); err != nil {
			t.Fatal(err)
		}
		if err := check(); err != nil {
			return nil, err
		}
		return Build(t.Context(), TargetModel, cfg, slog.New(slog.DiscardHandler))
	}
	if svc, err := build(); err == nil || !strings.Contains(err.Error(), "--auth none") {
		if svc != nil {
			svc.Close()
		}
		t.Fatalf("keyless model service on 0.0.0.0: %v, want a refusal naming --auth none", err)
	}
	svc, err := build("--auth", "none")
	if err != nil {
		t.Fatalf("with --auth none: %v", err)
	}
	svc.Close()

	keyFile := filepath.Join(t.TempDir(), "model-key")
	var cfg Config
	fs, check := NewFlagSet(TargetModel, &cfg, func(string) string { return "" })
	fs.SetOutput(io.Discard)
	if err := fs.Parse([]string{"--addr", "0.0.0.0:8082", "--backend", "openai", "--upstream-url", up.URL, "--api-key-file", keyFile}); err != nil {
		t.Fatal(err)
	}
	if err := check(); err != nil {
		t.Fatal(err)
	}
	model := serveBuilt(t, TargetModel, cfg)
	b, err := os.ReadFile(keyFile)
	if err != nil || !strings.HasPrefix(string(b), "pmk-") {
		t.Fatalf("key file: %q %v", b, err)
	}
	if resp, _ := request(t, "GET", model.URL+"/v1/models", "", "", nil); resp.StatusCode != 401 {
		t.Errorf("keyed by file, no key sent: %d, want 401", resp.StatusCode)
	}
	var acfg Config
	afs, acheck := NewFlagSet(TargetAPI, &acfg, func(string) string { return "" })
	afs.SetOutput(io.Discard)
	if err := afs.Parse([]string{"--model-url", model.URL, "--model-key-file", keyFile, "--model-health-interval", "0",
		"--database", filepath.Join(t.TempDir(), "p.db")}); err != nil {
		t.Fatal(err)
	}
	if err := acheck(); err != nil {
		t.Fatal(err)
	}
	api := serveBuilt(t, TargetAPI, acfg)
	if resp, body := request(t, "POST", api.URL+"/chat", "application/json", `{"message":"hi"}`, nil); resp.StatusCode != 200 {
		t.Errorf("api with --model-key-file: /chat %d %s", resp.StatusCode, body)
	}
}

// Each browser defence refuses what it is for, in the api as in the
// web service in front of it.
func TestBrowserDefences(t *testing.T) {
	up := testupstream.New(t)
	api := startAPI(t, up.URL) // loopback: --auth none
	web := startTarget(t, TargetWeb, "--api-url", api.URL)
	for _, srv := range []struct{ name, url string }{{"api", api.URL}, {"web", web.URL}} {
		host := strings.TrimPrefix(srv.url, "http://")
		t.Run(srv.name, func(t *testing.T) {
			for _, tc := range []struct {
				name, ctype string
				hdr         map[string]string
				want        int
				typ         string
			}{
				{"same-origin", "application/json", map[string]string{"Origin": srv.url}, 201, ""},
				{"a program", "application/json", nil, 201, ""},
				{"cross-site", "application/json", map[string]string{"Origin": "http://evil.example"}, 403, "permission_error/cross_origin_request"},
				{"cross-site, fetch metadata", "application/json", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "permission_error/cross_origin_request"},
				{"text/plain", "text/plain", nil, 415, "invalid_request_error/unsupported_media_type"},
				{"form", "application/x-www-form-urlencoded", nil, 415, "invalid_request_error/unsupported_media_type"},
				{"foreign Host", "application/json", map[string]string{"Host": "evil.example:8080"}, 403, "permission_error/host_not_allowed"},
				{"rebound Host, same origin", "application/json", map[string]string{"Host": "evil.example:8080", "Origin": "http://evil.example:8080"}, 403, "permission_error/host_not_allowed"},
				{"localhost", "application/json", map[string]string{"Host": "localhost:" + host[strings.LastIndex(host, ":")+1:]}, 201, ""},
			} {
				resp, body := request(t, "POST", srv.url+"/api/conversations", tc.ctype, `{}`, tc.hdr)
				if resp.StatusCode != tc.want || (tc.typ != "" && errType(body) != tc.typ) {
					t.Errorf("%s: %d %s, want %d %s", tc.name, resp.StatusCode, body, tc.want, tc.typ)
				}
				for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"} {
					if got := resp.Header.Values(k); len(got) != 1 || got[0] != v {
						t.Errorf("%s: %s = %q, want [%s]", tc.name, k, got, v)
					}
				}
				if resp.Header.Get("Content-Security-Policy") == "" {
					t.Errorf("%s: no Content-Security-Policy", tc.name)
				}
			}
		})
	}
}

// Over --rate-limit a client gets 429 with Retry-After; over
// --max-running-replies too, for as long as the replies run, whether
// anyone still reads them or not.
func TestLimits(t *testing.T) {
	t.Run("rate", func(t *testing.T) {
		up := testupstream.New(t)
		api := startTarget(t, TargetAPI, "--model-url", up.URL, "--rate-limit", "3",
			"--database", filepath.Join(t.TempDir(), "p.db"))
		for i := range 3 {
			if resp, body := request(t, "GET", api.URL+"/api/conversations", "", "", nil); resp.StatusCode != 200 {
				t.Fatalf("request %d: %d %s", i+1, resp.StatusCode, body)
			}
		}
		resp, body := request(t, "GET", api.URL+"/api/conversations", "", "", nil)
		if resp.StatusCode != 429 || errType(body) != "rate_limit_error/rate_limit_exceeded" || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("4th request of 3 a minute: %d %s (Retry-After %q)", resp.StatusCode, body, resp.Header.Get("Retry-After"))
		}
		if resp, _ := request(t, "GET", api.URL+"/healthz", "", "", nil); resp.StatusCode != 200 {
			t.Errorf("health check rate limited: %d", resp.StatusCode)
		}
	})
	t.Run("running", func(t *testing.T) {
		up := testupstream.New(t, testupstream.Options{Hang: true, FaultAfter: 1})
		api := startTarget(t, TargetAPI, "--model-url", up.URL, "--max-running-replies", "1",
			"--database", filepath.Join(t.TempDir(), "p.db"))
		newConv := func() string {
			_, body := request(t, "POST", api.URL+"/api/conversations", "application/json", `{}`, nil)
			var c struct{ ID string }
			json.Unmarshal([]byte(body), &c)
			return c.ID
		}
		first, second := newConv(), newConv()
		// Started, read a little, abandoned.
		resp, err := http.Post(api.URL+"/api/conversations/"+first+"/messages", "application/json", strings.NewReader(`{"content":"hi"}`))
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		_, _ = resp.Body.Read(buf)
		resp.Body.Close()
		send := func(conv string) (*http.Response, string) {
			return request(t, "POST", api.URL+"/api/conversations/"+conv+"/messages", "application/json", `{"content":"hi","stream":false}`, nil)
		}
		resp, body := send(second)
		if resp.StatusCode != 429 || errType(body) != "rate_limit_error/too_many_running_replies" || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("second reply while one runs: %d %s", resp.StatusCode, body)
		}
		if resp, body := request(t, "POST", api.URL+"/v1/chat/completions", "application/json",
			`{"messages":[{"role":"user","content":"hi"}]}`, nil); resp.StatusCode != 429 {
			t.Errorf("/v1 while a reply runs: %d %s, want 429", resp.StatusCode, body)
		}
		if resp, body := request(t, "POST", api.URL+"/api/conversations/"+first+"/stop", "application/json", `{}`, nil); resp.StatusCode/100 != 2 {
			t.Fatalf("stop: %d %s", resp.StatusCode, body)
		}
		up.SetOptions(func(o *testupstream.Options) { o.Hang = false })
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, body = send(second)
			if resp.StatusCode == 200 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if resp.StatusCode != 200 {
			t.Errorf("after the first reply was stopped: %d %s", resp.StatusCode, body)
		}
	})
}
