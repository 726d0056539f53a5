package app

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/parley-chat/parley/internal/testupstream"
)

// The api given several model services sends each request to the one
// serving its model, whether it learns that by asking or is told so by
// NAME=URL.
func TestAPIRoutesByModelName(t *testing.T) {
	alpha := testupstream.New(t, testupstream.WithModels("alpha"), testupstream.WithReply(testupstream.Scripted("from alpha")))
	beta := testupstream.New(t, testupstream.WithModels("org/beta", "gamma"), testupstream.WithReply(testupstream.Scripted("from beta")))
	tests := []struct {
		name string
		urls []string
	}{
		{"discovered", []string{alpha.URL, beta.URL}},
		{"pinned", []string{"alpha=" + alpha.URL, "org/beta|gamma=" + beta.URL + "/v1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startAPI(t, tt.urls...)
			for model, want := range map[string]string{"alpha": "from alpha", "org/beta": "from beta", "gamma": "from beta"} {
				status, body := postJSON(t, srv.URL+"/v1/chat/completions",
					`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`)
				var out struct {
					Choices []struct{ Message struct{ Content string } }
				}
				json.Unmarshal(body, &out)
				if status != 200 || len(out.Choices) != 1 || out.Choices[0].Message.Content != want {
					t.Errorf("model %s: %d %s, want %q", model, status, body, want)
				}
			}
			if status, body := postJSON(t, srv.URL+"/v1/chat/completions",
				`{"model":"nobody-serves-this","messages":[{"role":"user","content":"hi"}]}`); status != 404 {
				t.Errorf("unknown model: %d %s, want 404", status, body)
			}
		})
	}
}

// With every model service down the api's /v1 answers 503 with an
// OpenAI-style JSON error, not a hang or an HTML page.
func TestAPIV1WithModelsDown(t *testing.T) {
	down := testupstream.New(t)
	down.Close()
	srv := startAPI(t, down.URL)
	check := func(name string, status int, body []byte) {
		var e struct {
			Error struct{ Message, Type string }
		}
		if status != 503 || json.Unmarshal(body, &e) != nil || e.Error.Message == "" || e.Error.Type == "" {
			t.Errorf("%s with the model down: %d %s, want a 503 JSON error", name, status, body)
		}
	}
	for _, body := range []string{
		`{"model":"test-model","messages":[{"role":"user","content":"hi"}]}`,
		`{"messages":[{"role":"user","content":"hi"}],"stream":true}`,
	} {
		status, b := postJSON(t, srv.URL+"/v1/chat/completions", body)
		check("POST /v1/chat/completions "+body, status, b)
	}
	resp, err := http.Get(srv.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	check("GET /v1/models", resp.StatusCode, b)
}

// The api is ready while its database answers and a model service lists a
// model, and not ready once the model service is gone.
func TestAPIReadiness(t *testing.T) {
	up := testupstream.New(t)
	srv := startAPI(t, up.URL)
	ready := func() int {
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := ready(); got != 200 {
		t.Fatalf("readyz %d with everything up", got)
	}
	up.Close()
	if got := ready(); got != 503 {
		t.Fatalf("readyz %d with the model down", got)
	}
}

// startAPI serves the api target, with its defaults, over the model
// services at modelURLs and a fresh SQLite database.
func startAPI(t *testing.T, modelURLs ...string) *httptest.Server {
	t.Helper()
	var cfg Config
	fs, _ := NewFlagSet(TargetAPI, &cfg, func(string) string { return "" })
	fs.SetOutput(io.Discard)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	cfg.API.ModelURLs = modelURLs
	cfg.API.Database = filepath.Join(t.TempDir(), "parley.db")
	svc, err := Build(t.Context(), TargetAPI, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	srv := httptest.NewServer(svc.Handler)
	t.Cleanup(srv.Close)
	return srv
}

func postJSON(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
