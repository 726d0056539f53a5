package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/sharedtest"
	"github.com/parley-chat/parley/internal/testupstream"
)

// startPrometheus runs Debian's Prometheus server scraping targets (job
// name → address) every second, and returns its base URL. It is stopped
// when the test ends.
func startPrometheus(t *testing.T, targets map[string]string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		sharedtest.Missing(t, "prometheus (Debian package prometheus) not installed: %v", err)
		return ""
	}
	dir := t.TempDir()
	var cfg strings.Builder
	cfg.WriteString("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n")
	for service, addr := range targets {
		fmt.Fprintf(&cfg, "  - job_name: parley-%s\n    static_configs:\n      - targets: [%q]\n        labels: {service: %s}\n", service, addr, service)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	logs := &lockedBuffer{}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("--- prometheus logs ---\n%s", logs.String())
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 30s: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// awaitQuery polls Prometheus' HTTP API with an instant query until its
// first sample's value is at least min, and fails after 30 seconds.
func awaitQuery(t *testing.T, prom, query string, min float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var last string
	for ctx.Err() == nil {
		resp, err := http.Get(prom + "/api/v1/query?query=" + url.QueryEscape(query))
		if err == nil {
			var out struct {
				Status string
				Data   struct {
					Result []struct {
						Value [2]any
					}
				}
			}
			err = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			last = fmt.Sprintf("%+v (%v)", out, err)
			if err == nil && out.Status == "success" && len(out.Data.Result) > 0 {
				if s, ok := out.Data.Result[0].Value[1].(string); ok {
					if v, err := strconv.ParseFloat(s, 64); err == nil && v >= min {
						return
					}
				}
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("query %s never reached %v; last answer %s", query, min, last)
}

// Prometheus scrapes a running Parley, in serve and in split mode, and
// after a chat its HTTP API answers for Parley's metrics.
func TestPrometheusScrapesParley(t *testing.T) {
	chat := func(t *testing.T, base string) {
		var out struct{ Response string }
		if status := doJSON(t, http.MethodPost, base+"/chat", map[string]string{"message": "hello"}, &out); status != 200 || out.Response == "" {
			t.Fatalf("POST /chat: %d %+v", status, out)
		}
	}
	t.Run("serve", func(t *testing.T) {
		up := testupstream.New(t)
		serve := start(t, "serve", freeAddr(t), true, "serve", "--backend", "openai", "--upstream-url", up.URL,
			"--database", filepath.Join(t.TempDir(), "parley.db"))
		prom := startPrometheus(t, map[string]string{"serve": serve.addr})
		chat(t, serve.url())
		awaitQuery(t, prom, `sum(parley_replies_total{service="serve",status="complete"})`, 1)
		awaitQuery(t, prom, `sum(parley_model_generated_tokens_total{service="serve"})`, 1)
		awaitQuery(t, prom, `up{service="serve"}`, 1)
	})
	t.Run("split", func(t *testing.T) {
		up := testupstream.New(t)
		model := start(t, "model", freeAddr(t), true, "model", "--backend", "openai", "--upstream-url", up.URL)
		api := start(t, "api", freeAddr(t), true, "api", "--model-url", model.url(),
			"--database", filepath.Join(t.TempDir(), "parley.db"))
		web := start(t, "web", freeAddr(t), true, "web", "--api-url", api.url())
		prom := startPrometheus(t, map[string]string{"web": web.addr, "api": api.addr, "model": model.addr})
		chat(t, web.url())
		awaitQuery(t, prom, `sum(parley_http_request_duration_seconds_count{service="web",handler="/chat",code="200"})`, 1)
		awaitQuery(t, prom, `sum(parley_replies_total{service="api",status="complete"})`, 1)
		awaitQuery(t, prom, `sum(parley_reply_time_to_first_token_seconds_count{service="api"})`, 1)
		awaitQuery(t, prom, `sum(parley_model_pool_backend_healthy{service="api"})`, 1)
		awaitQuery(t, prom, `sum(parley_model_generated_tokens_total{service="model"})`, 1)
		awaitQuery(t, prom, `count(up{job=~"parley-.*"} == 1)`, 3)
	})
}
