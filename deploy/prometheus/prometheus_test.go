// Package prometheus_test checks deploy/prometheus and deploy/grafana:
// the scrape configs and alert rules with promtool (Debian's prometheus
// package), and that every metric the dashboard and the rules query is
// one Parley exports.
package prometheus_test

import (
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/sharedtest"
	"github.com/parley-chat/parley/internal/testupstream"
)

func promtool(t *testing.T, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		sharedtest.Missing(t, "promtool (Debian package prometheus) not installed: %v", err)
		return
	}
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestScrapeConfigAndRules(t *testing.T) {
	promtool(t, "check", "config", "prometheus.yml") // checks alerts.yml too
	promtool(t, "check", "rules", "alerts.yml")
	promtool(t, "test", "rules", "alerts_test.yml")
	// Debian builds Prometheus without Kubernetes discovery, so promtool
	// cannot read this one: it is checked for what it must say.
	var k8s struct {
		RuleFiles     []string `json:"rule_files"`
		ScrapeConfigs []struct {
			KubernetesSD   []map[string]any `json:"kubernetes_sd_configs"`
			RelabelConfigs []struct {
				SourceLabels []string `json:"source_labels"`
				Regex        string   `json:"regex"`
			} `json:"relabel_configs"`
		} `json:"scrape_configs"`
	}
	b, err := os.ReadFile("prometheus-kubernetes.yml")
	if err == nil {
		err = yaml.Unmarshal(b, &k8s)
	}
	if err != nil {
		t.Fatalf("prometheus-kubernetes.yml: %v", err)
	}
	if len(k8s.RuleFiles) != 1 || k8s.RuleFiles[0] != "alerts.yml" || len(k8s.ScrapeConfigs) != 1 ||
		len(k8s.ScrapeConfigs[0].KubernetesSD) != 1 || len(k8s.ScrapeConfigs[0].RelabelConfigs) == 0 ||
		k8s.ScrapeConfigs[0].RelabelConfigs[0].SourceLabels[0] != "__meta_kubernetes_pod_annotation_prometheus_io_scrape" {
		t.Errorf("prometheus-kubernetes.yml does not keep the annotated pods: %+v", k8s)
	}
}

// exported lists the metric families a serve target exports (which has
// every service's metrics but the pool's) and an api's pool.
func exported(t *testing.T) map[string]bool {
	up := testupstream.New(t)
	names := map[string]bool{"up": true} // Prometheus' own per target
	for _, target := range []struct {
		name string
		args []string
	}{
		{app.TargetServe, []string{"--backend", "openai", "--upstream-url", up.URL}},
		{app.TargetAPI, []string{"--model-url", up.URL}},
		{app.TargetModel, []string{"--model", sharedtest.Stories260K(t), "--threads", "1"}},
	} {
		var cfg app.Config
		fs, check := app.NewFlagSet(target.name, &cfg, func(string) string { return "" })
		args := append(target.args, "--database", filepath.Join(t.TempDir(), "p.db"))
		if target.name == app.TargetModel {
			args = target.args
		}
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := check(); err != nil {
			t.Fatal(err)
		}
		svc, err := app.Build(t.Context(), target.name, cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		fams, err := svc.Registry.Gather()
		svc.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			names[f.GetName()] = true
		}
	}
	// Vectors without a series yet are not gathered; the HTTP metrics are
	// registered by Serve, not Build.
	for _, n := range []string{"parley_http_request_duration_seconds", "parley_http_requests_in_flight", "parley_model_pool_backend_healthy",
		"parley_model_pool_backend_outstanding_requests", "parley_model_pool_backend_consecutive_failures", "parley_db_query_duration_seconds"} {
		names[n] = true
	}
	return names
}

var metricName = regexp.MustCompile(`\b(?:parley|go|process)_[a-z_]+|\bup\b`)

// checkNames reports the metric names in expr that Parley does not export.
func checkNames(t *testing.T, where, expr string, names map[string]bool) {
	t.Helper()
	// Label values and matchers are not metric names.
	expr = regexp.MustCompile(`"[^"]*"`).ReplaceAllString(expr, `""`)
	for _, n := range metricName.FindAllString(expr, -1) {
		base := n
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			if b, ok := strings.CutSuffix(n, suffix); ok && names[b] {
				base = b
			}
		}
		if !names[base] {
			t.Errorf("%s queries %s, which Parley does not export", where, n)
		}
	}
}

func TestQueriesNameRealMetrics(t *testing.T) {
	names := exported(t)
	b, err := os.ReadFile("../grafana/dashboards/parley.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	queries := 0
	for _, p := range dash.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			queries++
			checkNames(t, "panel "+p.Title, tg.Expr, names)
		}
	}
	if dash.UID == "" || queries < 10 {
		t.Errorf("dashboard uid %q with %d queries", dash.UID, queries)
	}

	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
				Expr  string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	b, err = os.ReadFile("alerts.yml")
	if err == nil {
		err = yaml.Unmarshal(b, &rules)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			checkNames(t, "alert "+r.Alert, r.Expr, names)
		}
	}
}
