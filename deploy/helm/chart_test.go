// Package helm_test checks the Helm chart in deploy/helm/parley: helm lint,
// and what helm template renders for several sets of values, read back
// and checked against Parley's own flags (every PARLEY_* variable a
// container gets must be a flag of its command, with a value that flag
// accepts) and against itself (ports, probes, Services, Secrets, the
// model pool, autoscalers, disruption budgets, the Ingress).
//
// helm is a Go module: the test builds it with `go install` (once per run,
// then from the build cache). Without the module proxy that cannot
// happen: the test skips, or fails under CI=true.
package helm_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/parley-chat/parley/internal/sharedtest"
)

// helmModule is the helm CLI the chart is checked with.
const helmModule = "helm.sh/helm/v3/cmd/helm@v3.22.0"

var helmBin struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

func TestMain(m *testing.M) {
	code := m.Run()
	if helmBin.dir != "" {
		os.RemoveAll(helmBin.dir)
	}
	os.Exit(code)
}

// helm runs the helm CLI with args and returns its output; failed says
// whether it exited non-zero. Its own files go to a temporary home.
func helm(t *testing.T, args ...string) (out string, failed bool) {
	t.Helper()
	helmBin.once.Do(func() {
		helmBin.dir, helmBin.err = os.MkdirTemp("", "parley-helm-")
		if helmBin.err != nil {
			return
		}
		// Compiling helm takes minutes on a cold cache; after that the
		// build cache makes this a copy.
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "install", helmModule)
		cmd.Env = append(os.Environ(), "GOBIN="+helmBin.dir)
		helmBin.out, helmBin.err = cmd.CombinedOutput()
		helmBin.path = filepath.Join(helmBin.dir, "helm")
	})
	if helmBin.err != nil {
		sharedtest.Missing(t, "cannot build %s (it needs the Go module proxy): %v\n%s", helmModule, helmBin.err, helmBin.out)
	}
	home := t.TempDir()
	cmd := exec.Command(helmBin.path, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	b, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("helm %s: %v", strings.Join(args, " "), err)
		}
		return string(b), true
	}
	return string(b), false
}

// chart is the chart's directory.
const chart = "parley"

func TestLint(t *testing.T) {
	for name, values := range valueSets {
		t.Run(name, func(t *testing.T) {
			out, failed := helm(t, append([]string{"lint", "--strict", chart}, valuesArgs(t, values)...)...)
			if failed || !strings.Contains(out, "0 chart(s) failed") {
				t.Fatalf("helm lint:\n%s", out)
			}
		})
	}
}

// valueSets are the values the chart is rendered with, beside its
// defaults (the scaled topology with in-cluster PostgreSQL and Redis).
var valueSets = map[string]string{
	"defaults": "",
	// One small instance: SQLite on a volume, no Redis.
	"small": `
api: {replicas: 1}
model: {replicas: 1}
postgresql: {enabled: false}
redisServer: {enabled: false}
`,
	// Your own PostgreSQL and Redis, a hosted model API behind the model
	// pods, autoscaling, an Ingress with TLS, keys, a claim for models.
	"external": `
database: {url: "postgres://parley:s3cret@db.example.com:5432/parley?sslmode=require"}
redis: {url: "redis://:pw@cache.example.com:6379/1"}
postgresql: {enabled: false}
redisServer: {enabled: false}
existingSecret: {api: my-api-keys}
secretEnv:
  api: {PARLEY_MODEL_KEY: model-key-1}
  model: {PARLEY_UPSTREAM_KEY: sk-upstream}
api:
  autoscaling: {enabled: true, minReplicas: 3, maxReplicas: 8}
  env: {PARLEY_MAX_TOKENS: 512, PARLEY_REPLY_TIMEOUT: 10m}
  readinessPath: /healthz
model:
  backend: openai
  upstreamURL: https://api.openai.com/v1
  model: gpt-4o-mini
  autoscaling: {enabled: true}
  persistence: {enabled: true}
  env: {PARLEY_UPSTREAM_IDLE_TIMEOUT: 2m}
modelPool:
  extraURLs: ["big-model=http://gpu-box.example.com:8082"]
  healthInterval: 2s
  maxFailures: 5
ingress:
  enabled: true
  className: nginx
  host: chat.example.com
  tls: [{secretName: chat-tls, hosts: [chat.example.com]}]
log: {level: debug}
`,
}

// valuesArgs writes values to a file and returns helm's flag for it.
func valuesArgs(t *testing.T, values string) []string {
	t.Helper()
	if values == "" {
		return nil
	}
	f := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(f, []byte(values), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"-f", f}
}

// render runs helm template with values and reads back what it made.
func render(t *testing.T, values string) *manifests {
	t.Helper()
	out, failed := helm(t, append([]string{"template", "rel", chart, "--namespace", "chat"}, valuesArgs(t, values)...)...)
	if failed {
		t.Fatalf("helm template:\n%s", out)
	}
	m := &manifests{}
	for _, doc := range strings.Split(out, "\n---\n") {
		if strings.TrimSpace(strings.TrimPrefix(doc, "---")) == "" {
			continue
		}
		var o object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("a rendered document is no valid YAML: %v\n%s", err, doc)
		}
		if o.Kind == "" || o.Metadata.Name == "" {
			t.Fatalf("a rendered document without kind or name:\n%s", doc)
		}
		o.raw = []byte(doc)
		m.objects = append(m.objects, o)
	}
	return m
}

func TestRender(t *testing.T) {
	for name, values := range valueSets {
		t.Run(name, func(t *testing.T) {
			m := render(t, values)
			svcs := checkWiring(t, m)
			switch name {
			case "defaults":
				checkTopology(t, m, map[string]int{"web": 2, "api": 3, "model": 2}, "postgresql", "redis")
			case "small":
				checkTopology(t, m, map[string]int{"web": 2, "api": 1, "model": 1})
				checkSQLite(t, m)
			case "external":
				checkExternal(t, m, svcs)
			}
		})
	}
}

// Values that cannot work are refused with a message saying why.
func TestRenderRefuses(t *testing.T) {
	for values, want := range map[string]string{
		"postgresql: {enabled: false}": "need PostgreSQL",
		"postgresql: {enabled: false}\napi: {replicas: 1, autoscaling: {enabled: true}}": "need PostgreSQL",
		"model: {enabled: false}": "needs model services",
	} {
		out, failed := helm(t, append([]string{"template", "rel", chart}, valuesArgs(t, values)...)...)
		if !failed || !strings.Contains(out, want) {
			t.Errorf("values %q: failed %v, output %s; want a failure saying %q", values, failed, out, want)
		}
	}
}

// has reports whether the rendered document holds s.
func (o object) has(s string) bool { return bytes.Contains(o.raw, []byte(s)) }

// checkTopology checks each component's replicas and the backing
// services run in the cluster.
func checkTopology(t *testing.T, m *manifests, replicas map[string]int, stateful ...string) {
	t.Helper()
	for component, n := range replicas {
		if _, w := m.component(t, "Deployment", component); w.Replicas == nil || *w.Replicas != n {
			t.Errorf("%s replicas %v, want %d", component, w.Replicas, n)
		}
	}
	var got []string
	for _, o := range m.all("StatefulSet") {
		got = append(got, o.Metadata.Labels["app.kubernetes.io/component"])
	}
	if strings.Join(got, ",") != strings.Join(stateful, ",") {
		t.Errorf("StatefulSets %v, want %v", got, stateful)
	}
	if n := len(m.all("PodDisruptionBudget")); n != 3 {
		t.Errorf("%d PodDisruptionBudgets, want one per Parley service", n)
	}
}

// checkSQLite: one api replica on a volume it takes along.
func checkSQLite(t *testing.T, m *manifests) {
	t.Helper()
	_, w := m.component(t, "Deployment", "api")
	if w.Strategy.Type != "Recreate" {
		t.Errorf("api strategy %q: a rolling update would need the ReadWriteOnce volume twice", w.Strategy.Type)
	}
	for _, o := range m.all("Secret") {
		if o.StringData["PARLEY_REDIS_URL"] != "" || o.StringData["PARLEY_DATABASE"] != "" {
			t.Errorf("Secret %s: %v without PostgreSQL or Redis", o.Metadata.Name, o.StringData)
		}
	}
}

// checkExternal: your own servers and keys reach the api and model.
func checkExternal(t *testing.T, m *manifests, svcs map[string]*service) {
	t.Helper()
	api, model := svcs["api"], svcs["model"]
	if api.cfg.Store.Database != "postgres://parley:s3cret@db.example.com:5432/parley?sslmode=require" ||
		api.cfg.Cluster.RedisURL != "redis://:pw@cache.example.com:6379/1" || api.cfg.Router.Key != "model-key-1" {
		t.Errorf("api: database %q, redis %q, model key %q", api.cfg.Store.Database, api.cfg.Cluster.RedisURL, api.cfg.Router.Key)
	}
	if urls := api.cfg.Router.URLs; len(urls) != 2 || urls[1] != "big-model=http://gpu-box.example.com:8082" {
		t.Errorf("api model URLs %v", urls)
	}
	if api.cfg.Router.HealthInterval != 2*time.Second || api.cfg.Router.MaxFailures != 5 || api.cfg.Conversation.MaxTokens != 512 {
		t.Errorf("api pool/limits: %+v, max tokens %d", api.cfg.Router, api.cfg.Conversation.MaxTokens)
	}
	if refs := api.pod.Containers[0].EnvFrom; len(refs) != 2 || refs[1].SecretRef.Name != "my-api-keys" {
		t.Errorf("api envFrom %+v, want the chart's Secret, then my-api-keys", refs)
	}
	if model.cfg.Backend.Backend != "openai" || model.cfg.Upstream.Key != "sk-upstream" || model.cfg.Upstream.URL != "https://api.openai.com/v1" {
		t.Errorf("model: backend %q, upstream %q", model.cfg.Backend.Backend, model.cfg.Upstream.URL)
	}
	if claim := model.claimedAt["/models"]; claim == "" {
		t.Errorf("model: /models is not on the claim")
	} else if _, ok := m.get("PersistentVolumeClaim", claim); !ok {
		t.Errorf("model claim %s is not there", claim)
	}
	if n := len(m.all("HorizontalPodAutoscaler")); n != 2 {
		t.Errorf("%d HPAs, want api and model", n)
	}
	if len(m.all("StatefulSet")) != 0 || len(m.all("Ingress")) != 1 {
		t.Errorf("want no in-cluster servers and an Ingress")
	}
	for _, o := range m.all("Secret") {
		if o.has("s3cret") && o.Metadata.Name != api.pod.Containers[0].EnvFrom[0].SecretRef.Name {
			t.Errorf("the database password is in Secret %s too", o.Metadata.Name)
		}
	}
	for _, o := range m.all("Deployment") {
		if o.has("s3cret") || o.has("sk-upstream") || o.has("model-key-1") {
			t.Errorf("a secret is in Deployment %s, not in a Secret", o.Metadata.Name)
		}
	}
}
