package helm_test

import (
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/cmdline"
)

// The parts of Kubernetes objects the checks read.
type (
	object struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   meta              `json:"metadata"`
		Spec       json.RawMessage   `json:"spec"`
		StringData map[string]string `json:"stringData"`
		raw        []byte
	}
	meta struct {
		Name        string            `json:"name"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	}
	workload struct { // Deployment, StatefulSet
		Replicas *int `json:"replicas"`
		Strategy struct {
			Type string `json:"type"`
		} `json:"strategy"`
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Template struct {
			Metadata meta    `json:"metadata"`
			Spec     podSpec `json:"spec"`
		} `json:"template"`
	}
	podSpec struct {
		SecurityContext struct {
			RunAsNonRoot *bool `json:"runAsNonRoot"`
		} `json:"securityContext"`
		TerminationGracePeriodSeconds int         `json:"terminationGracePeriodSeconds"`
		Containers                    []container `json:"containers"`
		Volumes                       []struct {
			Name                  string `json:"name"`
			EmptyDir              any    `json:"emptyDir"`
			PersistentVolumeClaim *struct {
				ClaimName string `json:"claimName"`
			} `json:"persistentVolumeClaim"`
		} `json:"volumes"`
	}
	container struct {
		Args []string `json:"args"`
		Env  []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"env"`
		EnvFrom []struct {
			SecretRef *struct {
				Name string `json:"name"`
			} `json:"secretRef"`
		} `json:"envFrom"`
		Ports []struct {
			Name          string `json:"name"`
			ContainerPort int    `json:"containerPort"`
		} `json:"ports"`
		LivenessProbe   *probe `json:"livenessProbe"`
		ReadinessProbe  *probe `json:"readinessProbe"`
		StartupProbe    *probe `json:"startupProbe"`
		SecurityContext struct {
			ReadOnlyRootFilesystem *bool `json:"readOnlyRootFilesystem"`
		} `json:"securityContext"`
		VolumeMounts []struct {
			Name      string `json:"name"`
			MountPath string `json:"mountPath"`
		} `json:"volumeMounts"`
	}
	probe struct {
		HTTPGet *struct {
			Path string `json:"path"`
			Port string `json:"port"`
		} `json:"httpGet"`
	}
	pdbSpec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
	}
	hpaSpec struct {
		ScaleTargetRef struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
		} `json:"scaleTargetRef"`
		MinReplicas int `json:"minReplicas"`
	}
	serviceSpec struct {
		ClusterIP string            `json:"clusterIP"`
		Selector  map[string]string `json:"selector"`
		Ports     []struct {
			Port       int    `json:"port"`
			TargetPort string `json:"targetPort"`
		} `json:"ports"`
	}
)

type manifests struct{ objects []object }

func (m *manifests) all(kind string) []object {
	var out []object
	for _, o := range m.objects {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

func (m *manifests) get(kind, name string) (object, bool) {
	for _, o := range m.all(kind) {
		if o.Metadata.Name == name {
			return o, true
		}
	}
	return object{}, false
}

// component finds the workload of a component ("api").
func (m *manifests) component(t *testing.T, kind, name string) (object, workload) {
	t.Helper()
	for _, o := range m.all(kind) {
		if o.Metadata.Labels["app.kubernetes.io/component"] == name {
			return o, spec[workload](t, o)
		}
	}
	t.Fatalf("no %s of component %s", kind, name)
	return object{}, workload{}
}

func spec[T any](t *testing.T, o object) T {
	t.Helper()
	var s T
	if err := json.Unmarshal(o.Spec, &s); err != nil {
		t.Fatalf("%s %s: %v", o.Kind, o.Metadata.Name, err)
	}
	return s
}

// selected returns the workloads whose pods carry every label of sel.
func (m *manifests) selected(t *testing.T, sel map[string]string) []object {
	t.Helper()
	var out []object
	for _, o := range append(m.all("Deployment"), m.all("StatefulSet")...) {
		if len(sel) > 0 && subset(sel, spec[workload](t, o).Template.Metadata.Labels) {
			out = append(out, o)
		}
	}
	return out
}

func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// service is one Parley container as configured: its command and the
// configuration its environment gives, parsed by its own flag set.
type service struct {
	obj       object
	pod       podSpec
	target    string
	env       map[string]string
	cfg       app.Config
	port      int
	claimedAt map[string]string // mount path → claim name
}

// checkWiring checks what every set of values must render right.
func checkWiring(t *testing.T, m *manifests) map[string]*service {
	t.Helper()
	svcs := map[string]*service{}
	for _, o := range m.all("Deployment") {
		s := parleyService(t, m, o)
		if svcs[s.target] != nil {
			t.Fatalf("two Deployments run %s", s.target)
		}
		svcs[s.target] = s
	}
	for _, target := range []string{"web", "api"} {
		if svcs[target] == nil {
			t.Fatalf("no Deployment runs parley %s", target)
		}
	}
	// web → api through the api's Service.
	checkReaches(t, m, "web's --api-url", svcs["web"].cfg.Web.APIURL, svcs["api"], false)
	// api → each model pod: the headless Service its URL resolves.
	if model := svcs["model"]; model != nil {
		if !svcs["api"].cfg.Router.Resolve {
			t.Errorf("the api does not resolve the model Service into its pods (PARLEY_MODEL_RESOLVE)")
		}
		checkReaches(t, m, "api's --model-url", svcs["api"].cfg.Router.URLs[0], model, true)
		// Only the api may use the model services: it sends their key.
		if key := model.cfg.ModelAuth.Key; key == "" || svcs["api"].cfg.Router.Key != key {
			t.Errorf("model key %q, api's --model-key %q: want the same key, not empty", key, svcs["api"].cfg.Router.Key)
		}
	}
	checkDatabase(t, m, svcs["api"])
	if raw := svcs["api"].cfg.Cluster.RedisURL; raw != "" {
		if u, err := url.Parse(raw); err != nil {
			t.Errorf("PARLEY_REDIS_URL: %v", err)
		} else if _, ours := m.get("Service", u.Hostname()); ours {
			checkBackingService(t, m, "PARLEY_REDIS_URL", raw, "redis")
		}
	}
	for _, o := range m.all("Service") {
		s := spec[serviceSpec](t, o)
		targets := m.selected(t, s.Selector)
		if len(targets) != 1 {
			t.Errorf("Service %s selects %d workloads, want 1", o.Metadata.Name, len(targets))
			continue
		}
		for _, p := range s.Ports {
			if portOf(spec[workload](t, targets[0]).Template.Spec.Containers[0], p.TargetPort) == 0 {
				t.Errorf("Service %s: targetPort %q is no port of %s", o.Metadata.Name, p.TargetPort, targets[0].Metadata.Name)
			}
		}
	}
	for _, o := range m.all("PodDisruptionBudget") {
		if n := len(m.selected(t, spec[pdbSpec](t, o).Selector.MatchLabels)); n != 1 {
			t.Errorf("PodDisruptionBudget %s selects %d workloads", o.Metadata.Name, n)
		}
	}
	for _, o := range m.all("HorizontalPodAutoscaler") {
		ref := spec[hpaSpec](t, o).ScaleTargetRef
		d, ok := m.get(ref.Kind, ref.Name)
		if !ok {
			t.Errorf("HPA %s scales %s %s, which is not there", o.Metadata.Name, ref.Kind, ref.Name)
		} else if spec[workload](t, d).Replicas != nil {
			t.Errorf("%s sets replicas though an HPA scales it (each upgrade would reset them)", d.Metadata.Name)
		}
	}
	for _, o := range m.all("Ingress") {
		checkIngress(t, m, o)
	}
	return svcs
}

// parleyService reads a Parley Deployment and checks its container: every
// variable a flag of its command, the flag set accepting them all, the
// port, probes, security context and grace period.
func parleyService(t *testing.T, m *manifests, o object) *service {
	t.Helper()
	w := spec[workload](t, o)
	pod := w.Template.Spec
	if len(pod.Containers) != 1 || len(pod.Containers[0].Args) != 1 {
		t.Fatalf("%s: want one container with one argument (the target)", o.Metadata.Name)
	}
	c := pod.Containers[0]
	s := &service{obj: o, pod: pod, target: c.Args[0], env: map[string]string{}, claimedAt: map[string]string{}}
	for _, e := range c.Env {
		s.env[e.Name] = e.Value
	}
	for i, ef := range c.EnvFrom {
		sec, ok := m.get("Secret", ef.SecretRef.Name)
		if !ok {
			if i == 0 {
				t.Errorf("%s reads Secret %s, which the chart does not make", o.Metadata.Name, ef.SecretRef.Name)
			}
			continue // one the user manages (existingSecret)
		}
		for k, v := range sec.StringData {
			if _, dup := s.env[k]; dup {
				t.Errorf("%s: %s both in env and in Secret %s (env would win)", o.Metadata.Name, k, sec.Metadata.Name)
			}
			s.env[k] = v
		}
	}
	flags := flagEnv(t, s.target)
	for name := range s.env {
		if !flags[name] {
			t.Errorf("%s: %s is no flag of parley %s", o.Metadata.Name, name, s.target)
		}
	}
	fs, check := app.NewFlagSet(s.target, &s.cfg, func(k string) string { return s.env[k] })
	fs.SetOutput(io.Discard)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := check(); err != nil {
		t.Errorf("%s: parley %s refuses its environment: %v", o.Metadata.Name, s.target, err)
	}
	_, port, err := net.SplitHostPort(s.cfg.Server.Addr)
	if s.port, _ = strconv.Atoi(port); err != nil || !strings.HasPrefix(s.cfg.Server.Addr, "0.0.0.0:") || portOf(c, "http") != s.port {
		t.Errorf("%s listens on %q; its container port http is %d", o.Metadata.Name, s.cfg.Server.Addr, portOf(c, "http"))
	}
	wantReady := map[string][]string{"web": {"/healthz"}, "api": {"/readyz", "/healthz"}, "model": {"/readyz"}}[s.target]
	if !probes(c.LivenessProbe, "/healthz") || !slices.ContainsFunc(wantReady, func(p string) bool { return probes(c.ReadinessProbe, p) }) {
		t.Errorf("%s: probes %+v %+v, want /healthz alive and %v ready on port http", o.Metadata.Name, c.LivenessProbe, c.ReadinessProbe, wantReady)
	}
	if s.target == "model" && !probes(c.StartupProbe, "/healthz") {
		t.Errorf("%s: the model's loading needs a startup probe on /healthz", o.Metadata.Name)
	}
	if grace := time.Duration(pod.TerminationGracePeriodSeconds) * time.Second; grace <= s.cfg.Server.ShutdownTimeout {
		t.Errorf("%s: grace period %s, not longer than --shutdown-timeout %s: running replies would be killed", o.Metadata.Name, grace, s.cfg.Server.ShutdownTimeout)
	}
	if pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot ||
		c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
		t.Errorf("%s: want runAsNonRoot and a read-only root filesystem", o.Metadata.Name)
	}
	volumes := map[string]string{} // name → claim ("" for emptyDir)
	for _, v := range pod.Volumes {
		if v.PersistentVolumeClaim != nil {
			volumes[v.Name] = v.PersistentVolumeClaim.ClaimName
		} else if v.EmptyDir != nil {
			volumes[v.Name] = ""
		} else {
			t.Errorf("%s: volume %s is neither a claim nor an emptyDir", o.Metadata.Name, v.Name)
		}
	}
	for _, vm := range c.VolumeMounts {
		claim, ok := volumes[vm.Name]
		if !ok {
			t.Errorf("%s mounts %s, which is no volume", o.Metadata.Name, vm.Name)
		}
		if claim != "" {
			s.claimedAt[vm.MountPath] = claim
		}
	}
	if _, ok := volumes["tmp"]; !ok {
		t.Errorf("%s: no /tmp on its read-only filesystem", o.Metadata.Name)
	}
	return s
}

// flagEnv returns the variables of parley target's flags.
func flagEnv(t *testing.T, target string) map[string]bool {
	t.Helper()
	var cfg app.Config
	fs, _ := app.NewFlagSet(target, &cfg, nil)
	out := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { out[cmdline.EnvName(f.Name)] = true })
	if len(out) == 0 {
		t.Fatalf("parley %s has no flags", target)
	}
	return out
}

func probes(p *probe, path string) bool {
	return p != nil && p.HTTPGet != nil && p.HTTPGet.Path == path && p.HTTPGet.Port == "http"
}

func portOf(c container, name string) int {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// checkReaches checks that raw, a URL a service is configured with, gets
// to to: through a Service selecting its pods, at a port that reaches its
// container; headless says the Service must be headless (its name then
// resolves to the pods, so the URL's port is the container's).
func checkReaches(t *testing.T, m *manifests, what, raw string, to *service, headless bool) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s %q: %v", what, raw, err)
	}
	o, ok := m.get("Service", u.Hostname())
	if !ok {
		t.Fatalf("%s %q: no Service %s", what, raw, u.Hostname())
	}
	s := spec[serviceSpec](t, o)
	if sel := m.selected(t, s.Selector); len(sel) != 1 || sel[0].Metadata.Name != to.obj.Metadata.Name {
		t.Fatalf("%s %q: Service %s does not select %s", what, raw, o.Metadata.Name, to.obj.Metadata.Name)
	}
	port, _ := strconv.Atoi(u.Port())
	if headless {
		if s.ClusterIP != "None" || port != to.port {
			t.Errorf("%s %q: Service %s must be headless (clusterIP %q) and the port %d the container's", what, raw, o.Metadata.Name, s.ClusterIP, to.port)
		}
		return
	}
	for _, p := range s.Ports {
		if p.Port == port && portOf(to.pod.Containers[0], p.TargetPort) == to.port {
			return
		}
	}
	t.Errorf("%s %q: Service %s has no port %d reaching %s's port %d", what, raw, o.Metadata.Name, port, to.obj.Metadata.Name, to.port)
}

// checkDatabase checks the api's database: a PostgreSQL URL whose server
// is either outside or the chart's own (then the password must be its
// Secret's), or a SQLite file on a volume.
func checkDatabase(t *testing.T, m *manifests, api *service) {
	t.Helper()
	if !api.cfg.Store.Postgres() {
		if claim := api.claimedAt[path.Dir(api.cfg.Store.SQLitePath())]; claim == "" {
			t.Errorf("the api's SQLite file %s is not on a volume claim", api.cfg.Store.SQLitePath())
		} else if _, ok := m.get("PersistentVolumeClaim", claim); !ok {
			t.Errorf("the api's SQLite claim %s is not there", claim)
		}
		return
	}
	u, err := url.Parse(api.cfg.Store.Database)
	if err != nil {
		t.Fatalf("PARLEY_DATABASE: %v", err)
	}
	if _, ok := m.get("Service", u.Hostname()); !ok {
		return // a server of your own
	}
	pg := checkBackingService(t, m, "PARLEY_DATABASE", api.cfg.Store.Database, "postgresql")
	sec, ok := m.get("Secret", pg.Metadata.Name)
	pw, _ := u.User.Password()
	if !ok || sec.StringData["POSTGRES_PASSWORD"] == "" || sec.StringData["POSTGRES_PASSWORD"] != pw {
		t.Errorf("the api's PostgreSQL password is not the server's")
	}
}

// checkBackingService checks that raw's host is the Service of the
// chart's component name, at its port, and returns the workload.
func checkBackingService(t *testing.T, m *manifests, what, raw, component string) object {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	o, ok := m.get("Service", u.Hostname())
	if !ok {
		t.Fatalf("%s: no Service %s", what, u.Hostname())
	}
	s := spec[serviceSpec](t, o)
	sel := m.selected(t, s.Selector)
	if len(sel) != 1 || sel[0].Metadata.Labels["app.kubernetes.io/component"] != component {
		t.Fatalf("%s: Service %s does not select the %s", what, o.Metadata.Name, component)
	}
	if port, _ := strconv.Atoi(u.Port()); len(s.Ports) != 1 || s.Ports[0].Port != port {
		t.Errorf("%s: port %s, Service %s has %+v", what, u.Port(), o.Metadata.Name, s.Ports)
	}
	return sel[0]
}

func checkIngress(t *testing.T, m *manifests, o object) {
	t.Helper()
	var s struct {
		TLS []struct {
			Hosts []string `json:"hosts"`
		} `json:"tls"`
		Rules []struct {
			Host string `json:"host"`
			HTTP struct {
				Paths []struct {
					Path    string `json:"path"`
					Backend struct {
						Service struct {
							Name string `json:"name"`
							Port struct {
								Name string `json:"name"`
							} `json:"port"`
						} `json:"service"`
					} `json:"backend"`
				} `json:"paths"`
			} `json:"http"`
		} `json:"rules"`
	}
	if err := yaml.Unmarshal(o.Spec, &s); err != nil || len(s.Rules) != 1 || len(s.Rules[0].HTTP.Paths) != 1 {
		t.Fatalf("Ingress %s: %v %+v", o.Metadata.Name, err, s)
	}
	b := s.Rules[0].HTTP.Paths[0].Backend.Service
	web, ok := m.get("Service", b.Name)
	if !ok || web.Metadata.Labels["app.kubernetes.io/component"] != "web" || b.Port.Name != "http" {
		t.Errorf("Ingress %s goes to %+v, want the web Service's port http", o.Metadata.Name, b)
	}
	if o.Metadata.Annotations["nginx.ingress.kubernetes.io/proxy-buffering"] != "off" {
		t.Errorf("Ingress %s buffers: streamed replies would arrive at once", o.Metadata.Name)
	}
	for _, tls := range s.TLS {
		if !slices.Contains(tls.Hosts, s.Rules[0].Host) {
			t.Errorf("Ingress %s: TLS for %v, rule for %s", o.Metadata.Name, tls.Hosts, s.Rules[0].Host)
		}
	}
}
