// Package integration holds whole-system tests: the parley binary started
// as separate model, api and web processes on 127.0.0.1, driven over real
// HTTP the way a browser or a client would.
package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the parley executable built once for all tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "parley-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "parley")
	build := exec.Command("go", "build", "-o", binary, "../cmd/parley")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build parley:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running parley process.
type proc struct {
	t    *testing.T
	name string
	args []string
	env  []string
	addr string
	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan struct{}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// freeAddr returns a 127.0.0.1 address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs `parley <args...> --addr addr` and waits until /readyz (or
// /healthz when ready is false) answers 200. It is stopped when the test
// ends, with its logs printed if the test failed.
func start(t *testing.T, name, addr string, ready bool, args ...string) *proc {
	t.Helper()
	return startEnv(t, name, addr, ready, nil, args...)
}

// startEnv is start with env (KEY=value) added to the process's environment.
func startEnv(t *testing.T, name, addr string, ready bool, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, args: args, env: env, addr: addr, logs: &lockedBuffer{}}
	p.run()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("--- %s logs ---\n%s", name, p.logs.String())
		}
	})
	p.waitHealthy(ready)
	return p
}

func (p *proc) run() {
	p.t.Helper()
	args := append(append([]string{}, p.args...), "--addr", p.addr, "--log-format", "json")
	p.cmd = exec.Command(binary, args...)
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	p.done = make(chan struct{})
	go func() { p.cmd.Wait(); close(p.done) }()
}

func (p *proc) url() string { return "http://" + p.addr }

func (p *proc) waitHealthy(ready bool) {
	p.t.Helper()
	path := "/healthz"
	if ready {
		path = "/readyz"
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			p.t.Fatalf("%s exited early:\n%s", p.name, p.logs.String())
		default:
		}
		resp, err := http.Get(p.url() + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("%s not ready at %s after 30s:\n%s", p.name, p.url()+path, p.logs.String())
}

// kill ends the process at once, as a crash would.
func (p *proc) kill() {
	if p.cmd.Process != nil {
		p.cmd.Process.Kill()
		<-p.done
	}
}

// terminate sends SIGTERM and waits for a graceful exit.
func (p *proc) terminate() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.t.Fatalf("%s did not exit within 20s of SIGTERM", p.name)
	}
}

// restart starts the process again with the same arguments.
func (p *proc) restart(ready bool) {
	p.t.Helper()
	p.run()
	p.waitHealthy(ready)
}

// client helpers

type apiError struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    string `json:"code"`
	} `json:"error"`
}

func doJSON(t *testing.T, method, url string, body any, out any) int {
	t.Helper()
	return call(t, http.DefaultClient, method, url, body, out)
}

type message struct {
	ID           string `json:"id"`
	Role         string `json:"role"`
	Content      string `json:"content"`
	Status       string `json:"status"`
	Error        string `json:"error"`
	Model        string `json:"model"`
	PromptTokens int    `json:"prompt_tokens"`
	OutputTokens int    `json:"completion_tokens"`
	FirstTokenMS int64  `json:"ttft_ms"`
	DurationMS   int64  `json:"duration_ms"`
	FinishReason string `json:"finish_reason"`
	ContextFrom  string `json:"context_from"`
}

type conversation struct {
	ID       string    `json:"id"`
	Title    string    `json:"title"`
	Running  bool      `json:"running"`
	Messages []message `json:"messages"`
}

type event struct {
	Name string
	Data json.RawMessage
}

// stream POSTs body to url and reads the SSE reply stream, calling each
// for every event; each may return false to stop reading.
func stream(t *testing.T, ctx context.Context, url string, body any, each func(event) bool) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		data, _ := io.ReadAll(resp.Body)
		t.Logf("POST %s: %d %s", url, resp.StatusCode, data)
		return resp.StatusCode
	}
	sc := bufio.NewScanner(resp.Body)
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
				return resp.StatusCode
			}
			ev = event{}
		}
	}
	return resp.StatusCode
}

// collect streams a reply to its end and returns the text of the deltas
// and the final message.
func collect(t *testing.T, url string, body any) (string, message) {
	t.Helper()
	var text strings.Builder
	var final message
	stream(t, context.Background(), url, body, func(ev event) bool {
		switch ev.Name {
		case "delta":
			var d struct{ Content string }
			json.Unmarshal(ev.Data, &d)
			text.WriteString(d.Content)
		case "done":
			json.Unmarshal(ev.Data, &final)
			return false
		}
		return true
	})
	return text.String(), final
}

// getText GETs url into out and returns the status.
func getText(t *testing.T, url string, out *strings.Builder) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out.Write(b)
	return resp.StatusCode
}

// waitLog reports whether the process logs a line containing substr within
// timeout.
func (p *proc) waitLog(substr string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(p.logs.String(), substr) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// decode unmarshals an event's data, failing the test on bad JSON.
func decode[T any](t *testing.T, data json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Errorf("event data %s: %v", data, err)
	}
	return v
}
