package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/sharedtest"
	"github.com/parley-chat/parley/internal/testupstream"
)

// maxImageBytes is the size budget of the image: the static binary, whose
// Redis client, Prometheus client and OpenTelemetry exporter (with the
// protobuf and gRPC status packages it pulls in) took it from 20 to about
// 36 MiB. The budget catches the next jump, not that one.
const maxImageBytes = 40 << 20

// TestImageAndStack builds the image, checks it, then runs the default
// compose stack from it and drives it through the web port.
func TestImageAndStack(t *testing.T) {
	d := requireDocker(t)
	testdata := d.testdata(t)

	tag := "parley-test:" + randomHex(t, 4)
	version := "docker-test-" + randomHex(t, 3)
	d.buildImage(t, tag, version)

	t.Run("image", func(t *testing.T) { checkImage(t, d, tag, version) })
	if t.Failed() {
		return
	}
	t.Run("stack", func(t *testing.T) { checkStack(t, d, tag, testdata) })
}

func checkImage(t *testing.T, d *docker, tag, version string) {
	var info []struct {
		Size   int64
		Config struct {
			User        string
			Entrypoint  []string
			Healthcheck struct{ Test []string }
		}
	}
	out := d.must(t, time.Minute, nil, "docker", "image", "inspect", tag)
	if err := json.Unmarshal([]byte(out), &info); err != nil || len(info) != 1 {
		t.Fatalf("docker image inspect %s: %v\n%s", tag, err, out)
	}
	img := info[0]
	t.Logf("image %s: %.1f MiB, user %q", tag, float64(img.Size)/(1<<20), img.Config.User)
	if img.Size >= maxImageBytes {
		t.Errorf("image is %d bytes, want under %d (40 MiB)", img.Size, maxImageBytes)
	}
	uid, _, _ := strings.Cut(img.Config.User, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("image user = %q, want a numeric non-root uid (65532)", img.Config.User)
	}
	if got := strings.Join(img.Config.Healthcheck.Test, " "); !strings.Contains(got, "parley healthcheck") {
		t.Errorf("image healthcheck = %q, want it to run `parley healthcheck`", got)
	}
	got := d.must(t, time.Minute, nil, "docker", "run", "--rm", tag, "version")
	if !strings.Contains(got, version) {
		t.Errorf("`parley version` in the image printed %q, want the stamped version %q", got, version)
	}
}

// stackVars returns the compose variables and override file that make the
// model service serve stories260K with the built-in engine, or the fake
// upstream when PARLEY_TEST_DOCKER_MODEL=fake.
func stackVars(t *testing.T, d *docker, tag, testdata string) (map[string]string, string) {
	vars := map[string]string{
		"PARLEY_IMAGE":           tag,
		"PARLEY_WEB_PORT":        "127.0.0.1:" + freePort(t),
		"PARLEY_HEALTH_INTERVAL": "1s",
		// A model that cannot load fails `up` after 90s, not after 10m.
		"PARLEY_MODEL_START_PERIOD": "90s",
		"PARLEY_MAX_TOKENS":         "40",
		"PARLEY_LOG_LEVEL":          "info",
	}
	switch mode := os.Getenv("PARLEY_TEST_DOCKER_MODEL"); mode {
	case "", "builtin":
		model := filepath.Join(testdata, "models", "stories260K.gguf")
		if _, err := os.Stat(model); err != nil {
			sharedtest.Missing(t, "stories260K model missing: %v", err)
		}
		vars["PARLEY_BACKEND"] = "builtin"
		vars["PARLEY_MODEL"] = "/testdata/stories260K.gguf"
		// A read-only bind mount: the model is read where it lies.
		return vars, fmt.Sprintf("services:\n  model:\n    volumes:\n      - %q\n",
			model+":/testdata/stories260K.gguf:ro")
	case "fake":
		t.Log("PARLEY_TEST_DOCKER_MODEL=fake: the model service uses the openai backend against a fake upstream")
		up := testupstream.New(t, testupstream.WithModels("test-model"))
		u, err := url.Parse(up.URL)
		if err != nil {
			t.Fatal(err)
		}
		// Containers reach the host on docker0's address; the fake server
		// only listens on 127.0.0.1, so a relay bridges the two.
		addr := forward(t, bridgeIP(t, d), u.Host)
		vars["PARLEY_BACKEND"] = "openai"
		vars["PARLEY_UPSTREAM_URL"] = "http://" + addr + "/v1"
		vars["PARLEY_MODEL"] = "test-model"
		return vars, ""
	default:
		t.Fatalf("PARLEY_TEST_DOCKER_MODEL=%q: want builtin or fake", mode)
		return nil, ""
	}
}

// bridgeIP is the host's address on Docker's default bridge (docker0),
// which containers on any bridge network can reach: the IPAM gateway when
// the engine records one, else the bridge interface's own IPv4 address.
func bridgeIP(t *testing.T, d *docker) string {
	t.Helper()
	out := d.must(t, time.Minute, nil, "docker", "network", "inspect", "bridge", "-f",
		`{{range .IPAM.Config}}{{.Gateway}}{{end}} {{index .Options "com.docker.network.bridge.name"}}`)
	ifname := "docker0"
	for _, f := range strings.Fields(out) {
		if net.ParseIP(f) != nil {
			return f
		}
		ifname = f
	}
	iface, err := net.InterfaceByName(ifname)
	if err != nil {
		t.Fatalf("find the docker bridge %s: %v", ifname, err)
	}
	addrs, err := iface.Addrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
	}
	t.Fatalf("the docker bridge %s has no IPv4 address", ifname)
	return ""
}

func checkStack(t *testing.T, d *docker, tag, testdata string) {
	vars, override := stackVars(t, d, tag, testdata)
	p := d.newProject(t, vars, override)
	// Compose v1 returns once the containers run; readiness is polled below.
	p.compose(3*time.Minute, "up", "-d")
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, base: "http://" + vars["PARLEY_WEB_PORT"], http: http.Client{Jar: jar}}
	p.waitHealthy("model", 2*time.Minute)
	c.waitReady(2 * time.Minute)

	// The api listens on every interface of its container, so accounts
	// are on; the first signup is the admin (docs/DEPLOY.md), and its
	// session cookie comes back through web.
	if status, _, body := c.do("GET", "/api/conversations", nil); status != 401 {
		t.Fatalf("GET /api/conversations before signing in = %d, want 401\n%s", status, body)
	}
	c.mustJSON("POST", "/api/auth/signup", map[string]any{"username": "admin", "password": "docker test password"}, 201, &struct{}{})

	// The page, then a chat, as a browser does through the web port.
	status, ctype, body := c.do("GET", "/", nil)
	if status != 200 || !strings.HasPrefix(ctype, "text/html") {
		t.Fatalf("GET / = %d %s\n%s", status, ctype, body)
	}
	var conv struct{ ID string }
	c.mustJSON("POST", "/api/conversations", map[string]any{"title": "docker test"}, 201, &conv)
	if conv.ID == "" {
		t.Fatal("created conversation has no id")
	}
	c.sendOK(conv.ID, "Once upon a time")

	var seed struct {
		Response       string `json:"response"`
		ConversationID string `json:"conversation_id"`
	}
	c.mustJSON("POST", "/chat", map[string]any{"message": "Tell me a story"}, 200, &seed)
	if seed.Response == "" || seed.ConversationID == "" {
		t.Fatalf("POST /chat = %+v, want a response and a conversation id", seed)
	}

	t.Run("model down", func(t *testing.T) {
		c := c.with(t)
		p := p.with(t)
		p.compose(time.Minute, "stop", "-t", "5", "model")
		c.mustJSON("GET", "/api/conversations/"+conv.ID, nil, 200, &struct{}{})
		// The conversation API with stream:false answers 200 with the
		// failed reply (docs/API.md); the seed's /chat answers 502/503.
		const lost = "Are you there, model?"
		status, ctype, body := c.send(conv.ID, lost)
		switch status {
		case 200:
			var got struct {
				Assistant message `json:"assistant_message"`
			}
			if err := json.Unmarshal(body, &got); err != nil || got.Assistant.Status != "failed" || got.Assistant.Error == "" {
				t.Errorf("message while the model is down = 200, want the reply failed with an error\n%s", body)
			}
		case 502, 503:
			c.wantJSONError(ctype, body)
		default:
			t.Errorf("message while the model is down = %d %s, want a failed reply or 502/503\n%s", status, ctype, body)
		}
		const lostSeed = "Hello? Anyone?"
		status, ctype, body = c.do("POST", "/chat", map[string]any{"message": lostSeed, "conversation_id": conv.ID})
		if status != 502 && status != 503 {
			t.Errorf("POST /chat while the model is down = %d %s, want 502 or 503\n%s", status, ctype, body)
		}
		c.wantJSONError(ctype, body)
		msgs := c.messages(conv.ID)
		for _, content := range []string{lost, lostSeed} {
			if !hasMessage(msgs, "user", content) {
				t.Errorf("the user's message %q was not stored while the model was down: %+v", content, msgs)
			}
		}

		p.compose(time.Minute, "start", "model")
		p.waitHealthy("model", 2*time.Minute)
		c.waitReady(time.Minute)
		c.sendOK(conv.ID, "The model is back")
	})

	t.Run("api down", func(t *testing.T) {
		c := c.with(t)
		p := p.with(t)
		before := c.messages(conv.ID)
		p.compose(time.Minute, "stop", "-t", "10", "api")
		status, ctype, body := c.do("GET", "/", nil)
		if status != 200 || !strings.HasPrefix(ctype, "text/html") {
			t.Errorf("GET / with the api down = %d %s, want the page\n%s", status, ctype, body)
		}
		status, ctype, body = c.do("GET", "/api/conversations", nil)
		if status != 502 && status != 503 {
			t.Errorf("GET /api/conversations with the api down = %d, want 502 or 503\n%s", status, body)
		}
		c.wantJSONError(ctype, body)

		p.compose(time.Minute, "start", "api")
		p.waitHealthy("api", 2*time.Minute)
		c.waitReady(time.Minute)
		after := c.messages(conv.ID)
		if len(after) != len(before) {
			t.Errorf("after restarting the api the conversation has %d messages, had %d", len(after), len(before))
		}
		var list struct{ Data []struct{ ID string } }
		c.mustJSON("GET", "/api/conversations", nil, 200, &list)
		found := map[string]bool{}
		for _, cv := range list.Data {
			found[cv.ID] = true
		}
		if !found[conv.ID] || !found[seed.ConversationID] {
			t.Errorf("after restarting the api the list lacks a conversation: %v, want %s and %s",
				found, conv.ID, seed.ConversationID)
		}
	})

	// Several api replicas share the data volume; the stack keeps working.
	t.Run("api scaled", func(t *testing.T) {
		c := c.with(t)
		p := p.with(t)
		p.compose(3*time.Minute, "up", "-d", "--no-recreate", "--scale", "api=3")
		if n := p.waitHealthy("api", 2*time.Minute); n != 3 {
			t.Fatalf("%d api containers, want 3", n)
		}
		c.waitReady(time.Minute)
		for i := range 3 {
			var cv struct{ ID string }
			c.mustJSON("POST", "/api/conversations", map[string]any{"title": fmt.Sprint("scaled ", i)}, 201, &cv)
			c.sendOK(cv.ID, "Once upon a time")
		}
		if msgs := c.messages(conv.ID); len(msgs) == 0 {
			t.Error("the first conversation lost its messages after scaling the api")
		}
	})
}

// waitHealthy waits until every container of service reports healthy and
// returns how many there are.
func (p *project) waitHealthy(service string, timeout time.Duration) int {
	p.t.Helper()
	ids := strings.Fields(p.compose(time.Minute, "ps", "-q", service))
	if len(ids) == 0 {
		p.t.Fatalf("no container for service %s", service)
	}
	deadline := time.Now().Add(timeout)
	var status string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := p.d.run(ctx, nil, "docker", append([]string{"inspect", "-f",
			"{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}"}, ids...)...)
		cancel()
		status = strings.Join(strings.Fields(out), " ")
		if err == nil && status == strings.TrimSpace(strings.Repeat("running/healthy ", len(ids))) {
			return len(ids)
		}
		time.Sleep(500 * time.Millisecond)
	}
	p.t.Fatalf("service %s not healthy after %v: %s", service, timeout, status)
	return 0
}

func (p *project) with(t *testing.T) *project {
	cp := *p
	cp.t = t
	return &cp
}

// client talks to the published web port.
type client struct {
	t    *testing.T
	base string
	http http.Client
}

// with is c in subtest t, signed in as c is.
func (c *client) with(t *testing.T) *client {
	return &client{t: t, base: c.base, http: http.Client{Jar: c.http.Jar}}
}

func (c *client) do(method, path string, body any) (int, string, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func (c *client) mustJSON(method, path string, body any, want int, into any) {
	c.t.Helper()
	status, _, b := c.do(method, path, body)
	if status != want {
		c.t.Fatalf("%s %s = %d, want %d\n%s", method, path, status, want, b)
	}
	if err := json.Unmarshal(b, into); err != nil {
		c.t.Fatalf("%s %s: %v\n%s", method, path, err, b)
	}
}

func (c *client) send(convID, content string) (int, string, []byte) {
	c.t.Helper()
	return c.do("POST", "/api/conversations/"+convID+"/messages",
		map[string]any{"content": content, "stream": false})
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
	Status  string `json:"status"`
	Error   string `json:"error"`
}

// sendOK sends a message and wants a complete, non-empty reply.
func (c *client) sendOK(convID, content string) {
	c.t.Helper()
	status, _, b := c.send(convID, content)
	if status != 200 {
		c.t.Fatalf("send %q = %d, want 200\n%s", content, status, b)
	}
	var got struct {
		User      message `json:"user_message"`
		Assistant message `json:"assistant_message"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		c.t.Fatalf("send %q: %v\n%s", content, err, b)
	}
	if got.User.Content != content || got.Assistant.Status != "complete" || got.Assistant.Content == "" {
		c.t.Fatalf("send %q: want the stored message and a complete, non-empty reply, got %s", content, b)
	}
}

func (c *client) messages(convID string) []message {
	c.t.Helper()
	var conv struct{ Messages []message }
	c.mustJSON("GET", "/api/conversations/"+convID, nil, 200, &conv)
	return conv.Messages
}

func hasMessage(msgs []message, role, content string) bool {
	for _, m := range msgs {
		if m.Role == role && m.Content == content {
			return true
		}
	}
	return false
}

// wantJSONError checks an error answer is the API's JSON error shape with
// a message a person can read.
func (c *client) wantJSONError(ctype string, body []byte) {
	c.t.Helper()
	var e struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		} `json:"error"`
	}
	if !strings.HasPrefix(ctype, "application/json") || json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
		c.t.Errorf("want a JSON error with a message, got %s\n%s", ctype, body)
	}
}

// waitReady polls the web service's /readyz until it answers 200.
func (c *client) waitReady(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/readyz", nil)
		resp, err := c.http.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				cancel()
				return
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
		} else {
			last = err.Error()
		}
		cancel()
		time.Sleep(300 * time.Millisecond)
	}
	c.t.Fatalf("%s/readyz not ready after %v: %s", c.base, timeout, last)
}
