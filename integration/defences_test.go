package integration

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testupstream"
)

// TestDefencesAcrossProcesses wires model, api and web as separate
// processes, as compose does: the model makes its key on first start and
// the api reads it; the browser defences hold through the web service's
// proxy, where the api sees the browser's Host and Origin.
func TestDefencesAcrossProcesses(t *testing.T) {
	up := testupstream.New(t)
	keyFile := filepath.Join(t.TempDir(), "model-key")
	model := start(t, "model", freeAddr(t), true, "model", "--backend", "openai", "--upstream-url", up.URL,
		"--api-key-file", keyFile)
	api := start(t, "api", freeAddr(t), true, "api", "--model-url", model.url(), "--model-key-file", keyFile,
		"--database", filepath.Join(t.TempDir(), "parley.db"))
	web := start(t, "web", freeAddr(t), true, "web", "--api-url", api.url())

	send := func(method, url, ctype, body string, hdr map[string]string) (int, string) {
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
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	t.Run("model key", func(t *testing.T) {
		if code, body := send("GET", model.url()+"/v1/models", "", "", nil); code != 401 {
			t.Errorf("model /v1 without its key: %d %s, want 401", code, body)
		}
		if code, body := send("POST", web.url()+"/chat", "application/json", `{"message":"hi"}`, nil); code != 200 {
			t.Errorf("/chat through web, api (with the key from the file) and model: %d %s", code, body)
		}
	})
	t.Run("browser", func(t *testing.T) {
		for _, tc := range []struct {
			name, ctype string
			hdr         map[string]string
			want        int
		}{
			{"same-origin", "application/json", map[string]string{"Origin": web.url()}, 201},
			{"cross-site", "application/json", map[string]string{"Origin": "http://evil.example"}, 403},
			{"text/plain", "text/plain", nil, 415},
			{"foreign Host", "application/json", map[string]string{"Host": "evil.example:8080"}, 403},
		} {
			if code, body := send("POST", web.url()+"/api/conversations", tc.ctype, `{}`, tc.hdr); code != tc.want {
				t.Errorf("%s through web: %d %s, want %d", tc.name, code, body, tc.want)
			}
		}
	})
}

// A model service on every interface without a key does not start.
func TestKeylessModelBeyondLoopbackRefusesToStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "model", "--addr", "0.0.0.0:0", "--backend", "openai",
		"--upstream-url", "http://127.0.0.1:1").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--auth none") {
		t.Fatalf("keyless model on 0.0.0.0: err %v, output %s; want a refusal naming --auth none", err, out)
	}
}
