package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/cluster/redistest"
	"github.com/parley-chat/parley/internal/sharedtest"
	"github.com/parley-chat/parley/internal/testupstream"
)

// TestReplicas runs the scaled topology as real processes: three api
// replicas on one PostgreSQL and one Redis, two model services, and nginx
// in front with the load balancer's own configuration
// (deploy/nginx/parley.conf), no sticky sessions. A reply started on one
// replica is followed from another and stopped from a third; a replica
// killed mid-reply has its reply ended as interrupted by the others once
// its lease runs out; a model service killed leaves the chats going; and
// under load over every replica while one of them is killed, every user
// message that was acknowledged is stored and no reply stays streaming.
func TestReplicas(t *testing.T) {
	database := postgresSchema(t)
	redis := redistest.Start(t)
	long := strings.Repeat("word ", 120) + "end"
	up := testupstream.New(t, testupstream.WithTokenDelay(20*time.Millisecond),
		testupstream.WithReply(func(turns []chat.Turn) string {
			last := turns[len(turns)-1]
			if last.Role == chat.RoleUser && strings.HasPrefix(last.Content, "long") {
				return long
			}
			return "short reply"
		}))
	models := []*proc{
		start(t, "model-1", freeAddr(t), true, "model", "--backend", "openai", "--upstream-url", up.URL),
		start(t, "model-2", freeAddr(t), true, "model", "--backend", "openai", "--upstream-url", up.URL),
	}
	args := []string{"api", "--model-url", models[0].url() + "," + models[1].url(), "--database", database,
		"--redis-url", redis.URL, "--reply-lease", "3s", "--reply-sweep-interval", "500ms",
		"--model-health-interval", "200ms", "--model-backoff", "200ms", "--shutdown-timeout", "1s",
		"--auth", "password", "--signup", "open"}
	var apis []*proc
	for _, name := range []string{"api-a", "api-b", "api-c"} {
		apis = append(apis, start(t, name, freeAddr(t), true, args...))
	}
	a, b, c := apis[0], apis[1], apis[2]
	// A replica on the same database without Redis: it knows a reply runs
	// elsewhere, and says it cannot reach it.
	var alone []string
	for i := 0; i < len(args); i++ {
		if args[i] == "--redis-url" {
			i++
			continue
		}
		alone = append(alone, args[i])
	}
	d := start(t, "api-d-without-redis", freeAddr(t), true, alone...)
	lb := startNginx(t, apis)
	// Two users, each with an API key; sessions and keys are in the
	// database, so every replica knows them.
	alice, bob := keyClient(t, lb, "alice"), keyClient(t, lb, "bob")

	t.Run("follow from B, stop from C, continue on B", func(t *testing.T) {
		id := newConv(t, alice, a.url())
		onA := postStream(t, alice, a.url()+"/api/conversations/"+id+"/messages", map[string]string{"content": "long please"})
		onA.awaitDeltas(t, 3)
		var e apiError
		if code := call(t, alice, "POST", b.url()+"/api/conversations/"+id+"/messages", map[string]any{"content": "x", "stream": false}, &e); code != 409 || e.Error.Code != "reply_running" {
			t.Errorf("a second reply on B while A runs one: %d %+v, want 409 reply_running", code, e)
		}
		onB := getStream(t, alice, b.url()+"/api/conversations/"+id+"/stream")
		onB.awaitDeltas(t, 2)
		// Bob reaches neither the reply nor its stop, on any replica.
		for _, p := range apis {
			if code := call(t, bob, "GET", p.url()+"/api/conversations/"+id+"/stream", nil, &e); code != 404 {
				t.Errorf("bob's /stream of alice's reply on %s: %d, want 404", p.name, code)
			}
			if code := call(t, bob, "POST", p.url()+"/api/conversations/"+id+"/stop", nil, &e); code != 404 {
				t.Errorf("bob's stop of alice's reply on %s: %d, want 404", p.name, code)
			}
		}
		for _, req := range [][2]string{{"GET", "/stream"}, {"POST", "/stop"}} {
			if code := call(t, alice, req[0], d.url()+"/api/conversations/"+id+req[1], nil, &e); code != 503 || e.Error.Code != "reply_elsewhere" {
				t.Errorf("%s %s on a replica without Redis: %d %+v, want 503 reply_elsewhere", req[0], req[1], code, e)
			}
		}
		if m := lastMsg(t, alice, c.url(), id); m.Status != "streaming" {
			t.Fatalf("after bob's attempts alice's reply is %s", m.Status)
		}
		var out struct{ Stopped bool }
		if code := call(t, alice, "POST", c.url()+"/api/conversations/"+id+"/stop", nil, &out); code != 200 || !out.Stopped {
			t.Fatalf("stop on C: %d %+v", code, out)
		}
		// Answered once stored: any replica shows it stopped at once.
		stored := lastMsg(t, alice, b.url(), id)
		if stored.Status != "stopped" || stored.Content == "" || stored.Content == long {
			t.Fatalf("right after the stop, B shows %+v", stored)
		}
		for name, s := range map[string]*sseClient{"A": onA, "B": onB} {
			final := s.awaitDone(t)
			if final.Status != "stopped" || final.Content != stored.Content || s.text() != stored.Content {
				t.Errorf("%s's client was shown %q, then done %+v; stored %q", name, s.text(), final, stored.Content)
			}
		}
		cont := postStream(t, alice, b.url()+"/api/conversations/"+id+"/continue", map[string]any{})
		if final := cont.awaitDone(t); final.Status != "complete" || final.Content != stored.Content+"short reply" {
			t.Errorf("continued on B: %+v", final)
		}
	})

	t.Run("kill -9 A mid-reply: interrupted after the lease", func(t *testing.T) {
		id := newConv(t, alice, b.url())
		onA := postStream(t, alice, a.url()+"/api/conversations/"+id+"/messages", map[string]string{"content": "long again"})
		onA.awaitDeltas(t, 3)
		onB := getStream(t, alice, b.url()+"/api/conversations/"+id+"/stream")
		onB.awaitDeltas(t, 1)
		a.kill()
		final := onB.awaitDone(t)
		stored := lastMsg(t, alice, c.url(), id)
		if final.Status != "interrupted" || stored.Status != "interrupted" || final.Content != stored.Content || !strings.HasPrefix(onB.text(), stored.Content) {
			t.Fatalf("after A was killed, B's client was shown %q, then %+v; stored %+v", onB.text(), final, stored)
		}
		a.restart(true)
	})

	t.Run("a model service killed: chats go on", func(t *testing.T) {
		models[0].kill()
		for i := range 6 {
			var out struct{ Response string }
			if code := call(t, alice, "POST", lb+"/chat", map[string]string{"message": fmt.Sprint("hi ", i)}, &out); code != 200 || out.Response != "short reply" {
				t.Fatalf("chat %d with one model service killed: %d %+v", i, code, out)
			}
		}
	})

	t.Run("load over all replicas while one is killed", func(t *testing.T) {
		type acked struct {
			hc         *http.Client
			conv, user string
		}
		var (
			mu    sync.Mutex
			got   []acked
			fails int
		)
		ctx, cancel := context.WithTimeout(t.Context(), 4*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := 0; ctx.Err() == nil; i++ {
					hc := alice
					if w%2 == 1 {
						hc = bob
					}
					id, ok := tryNewConv(hc, lb)
					if !ok {
						mu.Lock()
						fails++
						mu.Unlock()
						continue
					}
					content := fmt.Sprintf("message %d of worker %d", i, w)
					if w%3 == 0 {
						content = "long " + content
					}
					user := trySend(hc, lb+"/api/conversations/"+id+"/messages", content)
					mu.Lock()
					if user != "" {
						got = append(got, acked{hc, id, user})
					} else {
						fails++
					}
					mu.Unlock()
				}
			})
		}
		time.Sleep(1500 * time.Millisecond)
		b.kill()
		wg.Wait()
		t.Logf("%d user messages acknowledged, %d requests failed", len(got), fails)
		if len(got) < 8 {
			t.Fatalf("only %d messages acknowledged under load", len(got))
		}
		// Every acknowledged message is stored; every reply ends, those
		// of the killed replica as interrupted once their lease ran out.
		deadline := time.Now().Add(30 * time.Second)
		ended := map[string]int{}
		for _, m := range got {
			for {
				cv := getConv(t, m.hc, lb, m.conv)
				found, streaming := false, false
				for _, msg := range cv.Messages {
					found = found || msg.ID == m.user
					streaming = streaming || msg.Status == "streaming"
				}
				if !found {
					t.Fatalf("acknowledged message %s is not stored in %s: %+v", m.user, m.conv, cv.Messages)
				}
				if !streaming {
					for _, msg := range cv.Messages {
						if msg.Role == "assistant" {
							ended[msg.Status]++
						}
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("conversation %s still has a reply streaming: %+v", m.conv, cv.Messages)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		t.Logf("replies by status: %v", ended)
	})
}

// startNginx runs Debian's nginx in front of apis with the compose
// profile's load balancer configuration: deploy/nginx/parley.conf, its
// Docker-only lines (the embedded DNS, the service name, the port)
// replaced by an upstream of the replicas' addresses.
func startNginx(t *testing.T, apis []*proc) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin, err = exec.LookPath("/usr/sbin/nginx") // root's PATH has sbin, others' may not
	}
	if err != nil {
		sharedtest.Missing(t, "nginx not installed (apt-get install nginx-light)")
	}
	src, err := os.ReadFile("../deploy/nginx/parley.conf")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	conf := string(src)
	for _, r := range [][2]string{
		{"resolver 127.0.0.11 valid=5s ipv6=off;", ""},
		{"listen 8000;", "listen " + addr + ";"},
		{"set $parley_api http://api:8000;", "set $parley_api http://parley_api;"},
		{"include /etc/nginx/parley-proxy.conf;", "include " + mustAbs(t, "../deploy/nginx/parley-proxy.conf") + ";"},
	} {
		if !strings.Contains(conf, r[0]) {
			t.Fatalf("deploy/nginx/parley.conf has no line %q to replace", r[0])
		}
		conf = strings.ReplaceAll(conf, r[0], r[1])
	}
	var servers strings.Builder
	for _, p := range apis {
		fmt.Fprintf(&servers, "    server %s max_fails=1 fail_timeout=5s;\n", p.addr)
	}
	main := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  upstream parley_api {
%[2]s  }
%[3]s
}
`, dir, servers.String(), conf)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	cmd := exec.Command(bin, "-p", dir, "-c", path)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			errs, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("--- nginx ---\n%s%s", logs.String(), errs)
		}
	})
	url := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-done:
			t.Fatalf("nginx exited: %s", logs.String())
		default:
		}
		if resp, err := http.Get(url + "/lb-healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx never answered on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustAbs(t *testing.T, path string) string {
	p, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// keyClient signs a new user up and returns a client that sends their
// API key with every request.
func keyClient(t *testing.T, base, name string) *http.Client {
	t.Helper()
	c := newClient(t, base)
	c.must(201, "POST", "/api/auth/signup", map[string]string{"username": name, "password": name + "'s password"}, nil)
	var k struct{ Key string }
	c.must(201, "POST", "/api/keys", map[string]string{"name": "replicas test"}, &k)
	if k.Key == "" {
		t.Fatalf("no API key for %s", name)
	}
	return &http.Client{Transport: bearer(k.Key)}
}

// bearer sends its API key with each request.
type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

// call is doJSON as the user of hc.
func call(t *testing.T, hc *http.Client, method, url string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: status %d, body %q: %v", method, url, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

func newConv(t *testing.T, hc *http.Client, base string) string {
	t.Helper()
	var c conversation
	if code := call(t, hc, "POST", base+"/api/conversations", map[string]any{}, &c); code != 201 && code != 200 {
		t.Fatalf("create conversation: %d", code)
	}
	return c.ID
}

func getConv(t *testing.T, hc *http.Client, base, id string) conversation {
	t.Helper()
	var c conversation
	if code := call(t, hc, "GET", base+"/api/conversations/"+id, nil, &c); code != 200 {
		t.Fatalf("GET conversation %s: %d", id, code)
	}
	return c
}

func lastMsg(t *testing.T, hc *http.Client, base, id string) message {
	t.Helper()
	c := getConv(t, hc, base, id)
	if len(c.Messages) == 0 {
		t.Fatalf("conversation %s has no messages", id)
	}
	return c.Messages[len(c.Messages)-1]
}

// tryNewConv creates a conversation, reporting failure rather than
// failing: under load a request may meet the replica being killed.
func tryNewConv(hc *http.Client, base string) (string, bool) {
	resp, err := hc.Post(base+"/api/conversations", "application/json", strings.NewReader("{}"))
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	var c conversation
	if resp.StatusCode/100 != 2 || json.NewDecoder(resp.Body).Decode(&c) != nil {
		return "", false
	}
	return c.ID, true
}

// trySend posts a message and reads the reply's stream to its end, or
// until it breaks; it returns the id of the user message once the server
// acknowledged it (its "user" event), "" when it never did.
func trySend(hc *http.Client, url, content string) string {
	b, _ := json.Marshal(map[string]string{"content": content})
	resp, err := hc.Post(url, "application/json", strings.NewReader(string(b)))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return ""
	}
	user := ""
	readSSE(resp.Body, func(ev event) bool {
		if ev.Name == "user" {
			var m message
			if json.Unmarshal(ev.Data, &m) == nil {
				user = m.ID
			}
		}
		return ev.Name != "done"
	})
	return user
}

// sseClient reads a reply stream in the background: the assistant
// message first shown, the deltas, and done.
type sseClient struct {
	mu     sync.Mutex
	shown  strings.Builder
	deltas int
	final  *message
	ended  chan struct{}
	status int
}

func postStream(t *testing.T, hc *http.Client, url string, body any) *sseClient {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(t.Context(), "POST", url, strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return openStream(t, hc, req)
}

func getStream(t *testing.T, hc *http.Client, url string) *sseClient {
	req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return openStream(t, hc, req)
}

func openStream(t *testing.T, hc *http.Client, req *http.Request) *sseClient {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	if resp.StatusCode != 200 {
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("%s %s: %d %s", req.Method, req.URL, resp.StatusCode, data)
	}
	s := &sseClient{ended: make(chan struct{}), status: resp.StatusCode}
	go func() {
		defer close(s.ended)
		defer resp.Body.Close()
		readSSE(resp.Body, func(ev event) bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			switch ev.Name {
			case "assistant":
				var m message
				json.Unmarshal(ev.Data, &m)
				s.shown.WriteString(m.Content)
			case "delta":
				var d struct{ Content string }
				json.Unmarshal(ev.Data, &d)
				s.shown.WriteString(d.Content)
				s.deltas++
			case "done":
				var m message
				json.Unmarshal(ev.Data, &m)
				s.final = &m
				return false
			}
			return true
		})
	}()
	return s
}

func (s *sseClient) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shown.String()
}

func (s *sseClient) awaitDeltas(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s.mu.Lock()
		got := s.deltas
		s.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-s.ended:
			t.Fatalf("the stream ended after %d deltas, want %d", got, n)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deltas after 15s, want %d", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *sseClient) awaitDone(t *testing.T) message {
	t.Helper()
	select {
	case <-s.ended:
	case <-time.After(30 * time.Second):
		t.Fatalf("no end of the stream after 30s; shown %q", s.text())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.final == nil {
		t.Fatalf("the stream broke off without done; shown %q", s.shown.String())
	}
	return *s.final
}

// readSSE calls each for every event of an SSE stream until it returns
// false or the stream ends.
func readSSE(r io.Reader, each func(event) bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var ev event
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			ev.Name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.Data = json.RawMessage(strings.TrimPrefix(line, "data: "))
		case line == "" && ev.Name != "":
			if !each(ev) {
				return
			}
			ev = event{}
		}
	}
}
