package inference_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/inference"
	"github.com/parley-chat/parley/internal/openai"
	"github.com/parley-chat/parley/internal/testupstream"
)

const upstreamKey = "sk-proj-Secret0123456789abcdefXYZ"

// hops runs an upstream that quotes the Authorization header in its
// errors, a model service in front of it holding the key, and the api's
// /v1 (a Router) in front of that: the chain of split mode.
func hops(t *testing.T, opts testupstream.Options) (up *testupstream.Server, model, api string) {
	t.Helper()
	opts.APIKey, opts.EchoAuthorization = upstreamKey, true
	up = testupstream.New(t, opts)
	log := slog.New(slog.DiscardHandler)
	hc := &http.Client{Transport: httpx.Transport(openai.NewTransport(time.Second))}
	ms := httptest.NewServer(httpx.Middleware(log, inference.NewServer(openai.NewClient(up.URL, upstreamKey, hc), inference.Config{}, log)))
	t.Cleanup(ms.Close)
	router := inference.NewRouter([]inference.Route{{Name: ms.URL, Gen: openai.NewClient(ms.URL, "", hc)}}, inference.RouterConfig{}, nil)
	as := httptest.NewServer(httpx.Middleware(log, inference.NewServer(router, inference.Config{}, log)))
	t.Cleanup(as.Close)
	return up, ms.URL, as.URL
}

// An upstream's error reaches the client through both hops with Parley's
// message, said once, the status kept, and never the key.
func TestUpstreamErrorsThroughTwoHops(t *testing.T) {
	tests := []struct {
		status   int
		code     int
		typ, msg string
	}{
		{400, 400, "invalid_request_error", "the model server refused the request (HTTP 400): the request is invalid for this model"},
		{401, 502, "upstream_error", "the model server rejected the API key (HTTP 401)"},
		{429, 429, "rate_limit_error", "the model server is over its rate limit or quota (HTTP 429)"},
		{500, 502, "upstream_error", "the model server failed (HTTP 500)"},
		{503, 503, "service_unavailable", "the model server is unavailable (HTTP 503)"},
	}
	up, model, api := hops(t, testupstream.Options{})
	for _, tt := range tests {
		up.SetOptions(func(o *testupstream.Options) { o.Status, o.StatusMessage = tt.status, "upstream says no" })
		for _, stream := range []string{"false", "true"} {
			body := `{"model":"test-model","messages":[{"role":"user","content":"x"}],"stream":` + stream + `}`
			for name, url := range map[string]string{"model": model, "api": api} {
				status, got := rawPost(t, url+"/v1/chat/completions", body)
				if status != tt.code || !strings.Contains(got, `"type":"`+tt.typ+`"`) || !strings.Contains(got, tt.msg) {
					t.Errorf("upstream %d, %s /v1, stream %s: got %d %s; want %d %s %q", tt.status, name, stream, status, got, tt.code, tt.typ, tt.msg)
				}
				if strings.Count(got, "the model server") != 1 {
					t.Errorf("upstream %d, %s /v1: message said twice: %s", tt.status, name, got)
				}
				if strings.Contains(got, upstreamKey) || strings.Contains(got, "upstream says no") {
					t.Errorf("upstream %d, %s /v1: the upstream's text reached the client: %s", tt.status, name, got)
				}
			}
		}
	}
}
