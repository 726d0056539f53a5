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
	"time"

	"github.com/parley-chat/parley/internal/sharedtest"
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

// The api's /readyz shows each model service of its pool with its state,
// found by the readiness checks its flags set up; the api is ready while
// one of them is in rotation.
func TestAPIReadinessShowsThePool(t *testing.T) {
	a := testupstream.New(t)
	b := testupstream.New(t)
	srv := startTarget(t, TargetAPI, "--model-url", a.URL+","+b.URL, "--database", filepath.Join(t.TempDir(), "parley.db"),
		"--model-health-interval", "10ms", "--model-max-failures", "1", "--model-backoff", "1h", "--model-max-backoff", "1h")
	type service struct{ URL, State, Error string }
	readyz := func() (int, []service) {
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			ModelServices []service `json:"model_services"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.ModelServices) != 2 {
			t.Fatalf("readyz: %+v %v", out, err)
		}
		return resp.StatusCode, out.ModelServices
	}
	if status, svcs := readyz(); status != 200 || svcs[0].URL != a.URL || svcs[0].State != "up" || svcs[1].State != "up" {
		t.Fatalf("both up: %d %+v", status, svcs)
	}
	b.Close()
	for {
		status, svcs := readyz()
		if svcs[1].State == "down" {
			if status != 200 || svcs[0].State != "up" || svcs[1].Error == "" {
				t.Fatalf("b down: %d %+v", status, svcs)
			}
			break
		}
		select {
		case <-t.Context().Done():
			t.Fatal("b never shown down")
		case <-time.After(10 * time.Millisecond):
		}
	}
	a.Close()
	if status, _ := readyz(); status != 503 {
		t.Fatalf("readyz %d with every model service down", status)
	}
}

// The model service's own flags reach its parts: --max-tokens the server,
// --ctx-size the built-in engine.
func TestModelServiceFlags(t *testing.T) {
	t.Run("max-tokens", func(t *testing.T) {
		up := testupstream.New(t)
		srv := startTarget(t, TargetModel, "--backend", "openai", "--upstream-url", up.URL, "--max-tokens", "2")
		status, body := postJSON(t, srv.URL+"/v1/chat/completions",
			`{"model":"test-model","max_tokens":100,"messages":[{"role":"user","content":"a b c d e"}]}`)
		var out struct {
			Choices []struct {
				Message      struct{ Content string }
				FinishReason string `json:"finish_reason"`
			}
		}
		if json.Unmarshal(body, &out); status != 200 || len(out.Choices) != 1 ||
			out.Choices[0].Message.Content != "a b" || out.Choices[0].FinishReason != "length" {
			t.Fatalf("with --max-tokens 2: %d %s", status, body)
		}
	})
	t.Run("ctx-size", func(t *testing.T) {
		srv := startTarget(t, TargetModel, "--model", sharedtest.Stories260K(t), "--ctx-size", "64", "--threads", "1")
		resp, err := http.Get(srv.URL + "/v1/models")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var list struct {
			Data []struct {
				ContextLength int `json:"context_length"`
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Data) != 1 || list.Data[0].ContextLength != 64 {
			t.Fatalf("with --ctx-size 64: %+v (%v)", list, err)
		}
	})
}

// startTarget serves target configured by args, as the command line would.
func startTarget(t *testing.T, target string, args ...string) *httptest.Server {
	t.Helper()
	return serveBuilt(t, target, parseTarget(t, target, args...))
}

// parseTarget is target's configuration from args, as the command line
// parses and checks it (no environment).
func parseTarget(t *testing.T, target string, args ...string) Config {
	t.Helper()
	var cfg Config
	fs, check := NewFlagSet(target, &cfg, func(string) string { return "" })
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := check(); err != nil {
		t.Fatal(err)
	}
	return cfg
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
	cfg.Router.URLs = modelURLs
	cfg.Store.Database = filepath.Join(t.TempDir(), "parley.db")
	return serveBuilt(t, TargetAPI, cfg)
}

func serveBuilt(t *testing.T, target string, cfg Config) *httptest.Server {
	t.Helper()
	svc, err := Build(t.Context(), target, cfg, slog.New(slog.DiscardHandler))
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

// The api asks for accounts unless it listens on loopback only, or is
// told otherwise.
func TestAuthModeFollowsAddress(t *testing.T) {
	up := testupstream.New(t)
	for _, tt := range []struct {
		addr, mode string
		status     int
	}{
		{"127.0.0.1:8081", "", 200},
		{"0.0.0.0:8081", "", 401},
		{":8081", "", 401},
		{"0.0.0.0:8081", "none", 200},
		{"127.0.0.1:8081", "password", 401},
	} {
		var cfg Config
		fs, check := NewFlagSet(TargetAPI, &cfg, func(string) string { return "" })
		fs.SetOutput(io.Discard)
		args := []string{"--addr", tt.addr, "--model-url", up.URL, "--database", filepath.Join(t.TempDir(), "p.db")}
		if tt.mode != "" {
			args = append(args, "--auth", tt.mode)
		}
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := check(); err != nil {
			t.Fatal(err)
		}
		srv := serveBuilt(t, TargetAPI, cfg)
		resp, err := http.Get(srv.URL + "/api/conversations")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("--addr %s --auth %q: GET /api/conversations = %d, want %d", tt.addr, tt.mode, resp.StatusCode, tt.status)
		}
	}
}
