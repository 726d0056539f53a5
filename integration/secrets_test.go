package integration

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/testupstream"
)

// TestNoSecretLeaks runs a model service holding an upstream key in front
// of an upstream that quotes the Authorization header in every error it
// sends, and an api in front of that. Whatever the upstream answers, the
// key reaches no client (the model's /v1, the api's /v1, /chat) and no
// log line of either service.
func TestNoSecretLeaks(t *testing.T) {
	const canary = "LeakCanary0123456789abcdef"
	const key = "sk-proj-" + canary
	up := testupstream.New(t, testupstream.Options{APIKey: key, EchoAuthorization: true})
	model := start(t, "model", freeAddr(t), true, "model", "--backend", "openai", "--upstream-url", up.URL+"/v1",
		"--upstream-key", key, "--log-level", "debug")
	api := start(t, "api", freeAddr(t), true, "api", "--database", filepath.Join(t.TempDir(), "parley.db"),
		"--model-url", model.url(), "--log-level", "debug")

	post := func(url, body string) (int, string) {
		t.Helper()
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The upstream does quote the key, so this test can fail.
	up.SetOptions(func(o *testupstream.Options) { o.Status, o.StatusMessage = 400, "no" })
	req, _ := http.NewRequest("POST", up.URL+"/v1/chat/completions", bytes.NewReader([]byte(`{"model":"test-model","messages":[{"role":"user","content":"x"}]}`)))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	echo, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(echo), canary) {
		t.Fatalf("the upstream does not echo the key: %s", echo)
	}

	chatBody := `{"model":"test-model","messages":[{"role":"user","content":"one two three"}]`
	targets := []struct {
		name, url, body string
		streams         bool // the upstream is asked for a stream
	}{
		{"model /v1", model.url() + "/v1/chat/completions", chatBody + `}`, false},
		{"model /v1 streamed", model.url() + "/v1/chat/completions", chatBody + `,"stream":true}`, true},
		{"model /v1 legacy", model.url() + "/v1/completions", `{"model":"test-model","prompt":"one two three"}`, false},
		{"api /v1", api.url() + "/v1/chat/completions", chatBody + `}`, false},
		{"api /v1 streamed", api.url() + "/v1/chat/completions", chatBody + `,"stream":true}`, true},
		{"api /chat", api.url() + "/chat", `{"message":"one two three"}`, true},
	}
	faults := []struct {
		name     string
		fault    func(o *testupstream.Options)
		want     string // what the client is told instead
		inStream bool   // the fault strikes inside a stream; its text is kept, masked
	}{
		{"400", func(o *testupstream.Options) { o.Status = 400 }, "refused the request (HTTP 400)", false},
		{"401", func(o *testupstream.Options) { o.Status = 401 }, "rejected the API key (HTTP 401)", false},
		{"403", func(o *testupstream.Options) { o.Status = 403 }, "rejected the API key (HTTP 403)", false},
		{"404", func(o *testupstream.Options) { o.Status = 404 }, "not found", false},
		{"429", func(o *testupstream.Options) { o.Status = 429 }, "rate limit", false},
		{"500", func(o *testupstream.Options) { o.Status = 500 }, "failed (HTTP 500)", false},
		{"503", func(o *testupstream.Options) { o.Status = 503 }, "unavailable (HTTP 503)", false},
		{"error inside the stream", func(o *testupstream.Options) { o.StreamError, o.FaultAfter = "CUDA out of memory", 1 }, "CUDA out of memory", true},
	}
	for _, f := range faults {
		up.SetOptions(func(o *testupstream.Options) {
			*o = testupstream.Options{APIKey: key, EchoAuthorization: true, StatusMessage: "request refused"}
			f.fault(o)
		})
		for _, tg := range targets {
			if f.inStream && !tg.streams {
				continue // no stream, no fault inside it
			}
			status, got := post(tg.url, tg.body)
			if strings.Contains(got, canary) {
				t.Errorf("%s, %s: the key reached the client (%d): %s", f.name, tg.name, status, got)
			}
			if !f.inStream && strings.Contains(got, "request refused") {
				t.Errorf("%s, %s: the upstream's text reached the client (%d): %s", f.name, tg.name, status, got)
			}
			if !strings.Contains(got, f.want) {
				t.Errorf("%s, %s: answer %d %s does not say %q", f.name, tg.name, status, got, f.want)
			}
		}
	}
	for _, p := range []*proc{model, api} {
		logs := p.logs.String()
		if strings.Contains(logs, canary) {
			t.Errorf("the %s service logged the key:\n%s", p.name, logs)
		}
	}
	// The failures were logged, key masked.
	if logs := model.logs.String(); !strings.Contains(logs, "answered HTTP 401") || !strings.Contains(logs, "[REDACTED]") {
		t.Errorf("the model service did not log the upstream's failures:\n%s", logs)
	}
}
