package app

import (
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/parley-chat/parley/internal/sharedtest"
	"github.com/parley-chat/parley/internal/testupstream"
)

// runTarget runs target configured by args with Serve on a fresh
// loopback port, as the binary would, and returns its base URL.
func runTarget(t *testing.T, target string, args ...string) string {
	t.Helper()
	url, _ := serveUntil(t, target, args...)
	return url
}

// scrape reads url's /metrics, checks it with promtool when there is
// one (CI has), and returns the families by name.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s/metrics: %d %s", url, resp.StatusCode, body)
	}
	promtoolCheck(t, url, body)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("%s/metrics does not parse: %v", url, err)
	}
	return fams
}

// promtoolCheck runs `promtool check metrics`, which holds the names,
// units and help texts to Prometheus' conventions.
func promtoolCheck(t *testing.T, what string, exposition []byte) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		sharedtest.Missing(t, "promtool (Debian package prometheus) not installed: %v", err)
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(string(exposition))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics of %s: %v\n%s", what, err, out)
	}
}

// value is the sum of the samples of family name whose labels include
// want: counters and gauges by value, histograms by count.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	sum, found := 0.0, false
metrics:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue metrics
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum, found
}

func wantAtLeast(t *testing.T, service string, fams map[string]*dto.MetricFamily, name string, labels map[string]string, min float64) {
	t.Helper()
	v, ok := value(fams, name, labels)
	if !ok || v < min {
		t.Errorf("%s: %s%v = %v (present %v), want at least %v", service, name, labels, v, ok, min)
	}
}

// One chat through web, api and model in split mode shows in each
// service's /metrics, under route patterns rather than raw paths, and
// every exposition passes promtool.
func TestMetricsSplit(t *testing.T) {
	up := testupstream.New(t, testupstream.WithReply(testupstream.Scripted("hello there")))
	modelURL := runTarget(t, TargetModel, "--backend", "openai", "--upstream-url", up.URL)
	apiURL := runTarget(t, TargetAPI, "--model-url", modelURL, "--database", filepath.Join(t.TempDir(), "p.db"))
	webURL := runTarget(t, TargetWeb, "--api-url", apiURL)

	if status, body := postJSON(t, webURL+"/chat", `{"message":"hi"}`); status != 200 {
		t.Fatalf("POST /chat: %d %s", status, body)
	}
	resp, err := http.Get(webURL + "/c/some-conversation-id")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	web := scrape(t, webURL)
	wantAtLeast(t, "web", web, "parley_http_request_duration_seconds", map[string]string{"handler": "/chat", "method": "POST", "code": "200"}, 1)
	wantAtLeast(t, "web", web, "parley_http_request_duration_seconds", map[string]string{"handler": "GET /c/{id}", "code": "200"}, 1)
	wantAtLeast(t, "web", web, "go_goroutines", nil, 1)
	wantAtLeast(t, "web", web, "process_resident_memory_bytes", nil, 1)
	for _, m := range web["parley_http_request_duration_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			if strings.Contains(l.GetValue(), "some-conversation-id") {
				t.Errorf("a raw path became a label: %v", m.GetLabel())
			}
		}
	}

	api := scrape(t, apiURL)
	wantAtLeast(t, "api", api, "parley_http_request_duration_seconds", map[string]string{"handler": "POST /chat", "method": "POST", "code": "200"}, 1)
	wantAtLeast(t, "api", api, "parley_replies_total", map[string]string{"status": "complete"}, 1)
	wantAtLeast(t, "api", api, "parley_reply_time_to_first_token_seconds", nil, 1)
	wantAtLeast(t, "api", api, "parley_reply_duration_seconds", nil, 1)
	wantAtLeast(t, "api", api, "parley_replies_running", nil, 0)
	wantAtLeast(t, "api", api, "parley_db_query_duration_seconds", map[string]string{"operation": "start_reply"}, 1)
	wantAtLeast(t, "api", api, "parley_model_pool_backend_healthy", map[string]string{"backend": modelURL}, 1)
	wantAtLeast(t, "api", api, "parley_model_pool_backend_outstanding_requests", map[string]string{"backend": modelURL}, 0)
	wantAtLeast(t, "api", api, "parley_http_requests_in_flight", nil, 0)

	mod := scrape(t, modelURL)
	wantAtLeast(t, "model", mod, "parley_http_request_duration_seconds", map[string]string{"handler": "POST /v1/chat/completions", "code": "200"}, 1)
	wantAtLeast(t, "model", mod, "parley_model_requests_running", nil, 0)
	// Passed through, the tokens come from the usage the upstream reported.
	wantAtLeast(t, "model", mod, "parley_model_generated_tokens_total", nil, 2)
	wantAtLeast(t, "model", mod, "parley_model_prompt_tokens_total", nil, 1)
	wantAtLeast(t, "model", mod, "parley_model_upstream_errors_total", nil, 0)
}

// In serve everything is one process: one /metrics on its port holds the
// api's and the model's metrics, and --metrics-addr moves it.
func TestMetricsServe(t *testing.T) {
	up := testupstream.New(t, testupstream.WithReply(testupstream.Scripted("one two three")))
	metricsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := metricsLn.Addr().String()
	metricsLn.Close()
	url := runTarget(t, TargetServe, "--backend", "openai", "--upstream-url", up.URL,
		"--database", filepath.Join(t.TempDir(), "p.db"), "--metrics-addr", metricsAddr)
	if status, body := postJSON(t, url+"/chat", `{"message":"hi"}`); status != 200 {
		t.Fatalf("POST /chat: %d %s", status, body)
	}
	if resp, err := http.Get(url + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("with --metrics-addr the service's port still serves /metrics")
		}
	}
	fams := scrape(t, "http://"+metricsAddr)
	wantAtLeast(t, "serve", fams, "parley_http_request_duration_seconds", map[string]string{"handler": "POST /chat", "code": "200"}, 1)
	wantAtLeast(t, "serve", fams, "parley_replies_total", map[string]string{"status": "complete"}, 1)
	wantAtLeast(t, "serve", fams, "parley_model_generated_tokens_total", nil, 3)
	wantAtLeast(t, "serve", fams, "parley_model_prompt_tokens_total", nil, 1)
	wantAtLeast(t, "serve", fams, "parley_model_time_to_first_token_seconds", nil, 1)
	wantAtLeast(t, "serve", fams, "parley_model_time_per_output_token_seconds", nil, 1)
}
