// Package docker tests Parley's container deliverables for real: the image
// built by scripts/image.sh (the Dockerfile's prebuilt target) and the
// default compose.yaml stack, driven through the published web port the way
// a user's browser would, including the fault isolation the split services
// promise. It needs a Docker engine and Compose (v2 `docker compose` or v1
// `docker-compose`) and runs whenever the engine answers `docker info`
// (PARLEY_TEST_DOCKER=1 makes an absent engine a failure, =0 turns the tests
// off outside CI).
//
// PARLEY_TEST_DOCKER_MODEL picks what the model service runs:
//   - builtin (default): the built-in engine on
//     ../shared/testdata/models/stories260K.gguf, bind-mounted read-only;
//   - fake: the openai backend against internal/testupstream, a fake
//     OpenAI server run by the test and reached through the docker0 gateway
//     (for builds whose built-in engine cannot serve that model yet).
package docker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/sharedtest"
)

// docker is what a test needs to drive the engine: the repo, the docker
// CLI and the compose command that exists here.
type docker struct {
	repo    string
	compose []string // "docker compose" or "docker-compose"
}

// requireDocker returns what the Docker tests need, or ends the test. They
// run whenever a Docker engine answers `docker info`, and log that they do.
// With no engine they skip — loudly under CI=true, because a CI host may
// truly have no Docker; .ci/run lists every skip — unless
// PARLEY_TEST_DOCKER=1 asked for them, which makes it a failure. An engine
// without Compose fails in CI and when asked for, and skips otherwise.
// PARLEY_TEST_DOCKER=0 turns the tests off, except under CI=true.
func requireDocker(t *testing.T) *docker {
	t.Helper()
	switch os.Getenv("PARLEY_TEST_DOCKER") {
	case "0":
		if sharedtest.InCI() {
			t.Fatal("PARLEY_TEST_DOCKER=0 turns the Docker tests off, which CI=true does not allow")
		}
		t.Skip("PARLEY_TEST_DOCKER=0: the Docker tests are turned off")
	}
	asked := os.Getenv("PARLEY_TEST_DOCKER") == "1"
	noEngine := func(why string) {
		t.Helper()
		switch {
		case asked:
			t.Fatal("PARLEY_TEST_DOCKER=1 but " + why)
		case sharedtest.InCI():
			t.Skip("DOCKER TESTS NOT RUN on this CI host: " + why +
				" (set PARLEY_TEST_DOCKER=1 to make a missing engine fail the run)")
		default:
			t.Skip("Docker tests skipped: " + why + " (they run whenever `docker info` answers)")
		}
	}
	if _, err := exec.LookPath("docker"); err != nil {
		noEngine("no docker CLI in PATH")
	}
	d := &docker{repo: repoRoot(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	version, err := d.run(ctx, nil, "docker", "info", "--format", "{{.ServerVersion}}")
	if err != nil {
		noEngine(fmt.Sprintf("the Docker engine does not answer `docker info` (%v): %s", err, strings.TrimSpace(version)))
	}
	switch {
	case exec.Command("docker", "compose", "version").Run() == nil:
		d.compose = []string{"docker", "compose"}
	default:
		if _, err := exec.LookPath("docker-compose"); err != nil {
			const why = "the Docker engine answers but neither `docker compose` nor `docker-compose` exists (apt-get install docker-compose)"
			if asked {
				t.Fatal(why)
			}
			sharedtest.Missing(t, "%s", why)
		}
		d.compose = []string{"docker-compose"}
	}
	t.Logf("Docker engine %s answers: running the Docker tests (compose: %s)",
		strings.TrimSpace(version), strings.Join(d.compose, " "))
	return d
}

// repoRoot walks up from the test's directory to the one holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// testdata is ../shared/testdata next to the repo (see sharedtest.Dir).
func (d *docker) testdata(t *testing.T) string {
	t.Helper()
	return sharedtest.Dir(t)
}

// run executes a command with env (nil: the current one) and returns its
// combined output.
func (d *docker) run(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = d.repo
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	return out.String(), err
}

// must runs a command, failing the test with its output if it fails.
func (d *docker) must(t *testing.T, timeout time.Duration, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := d.run(ctx, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// cleanEnv is the environment without PARLEY_* and COMPOSE_* variables:
// compose interpolates compose.yaml from the shell first, so a developer's
// own settings must not leak into the stack under test.
func cleanEnv(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PARLEY_") || strings.HasPrefix(kv, "COMPOSE_") {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// buildImage runs scripts/image.sh (host build, prebuilt target) and
// removes the image when the test ends.
func (d *docker) buildImage(t *testing.T, tag, version string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		d.run(ctx, nil, "docker", "image", "rm", "-f", tag)
	})
	d.must(t, 5*time.Minute, cleanEnv(map[string]string{"VERSION": version}),
		"bash", filepath.Join(d.repo, "scripts", "image.sh"), tag)
}

// project is one compose project under test, torn down with its volumes
// when the test ends (and its logs printed if the test failed).
type project struct {
	d    *docker
	t    *testing.T
	name string
	args []string // compose arguments before the subcommand
	env  []string
}

// newProject prepares `compose -p name -f compose.yaml -f override` with
// the variables in vars; override may be empty.
func (d *docker) newProject(t *testing.T, vars map[string]string, override string) *project {
	t.Helper()
	dir := t.TempDir()
	// An empty env file, so a .env in the developer's checkout is not read.
	envFile := filepath.Join(dir, "test.env")
	if err := os.WriteFile(envFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p := &project{d: d, t: t, name: "parleytest" + randomHex(t, 4), env: cleanEnv(vars)}
	p.args = []string{"-p", p.name, "--env-file", envFile, "-f", filepath.Join(d.repo, "compose.yaml")}
	if override != "" {
		file := filepath.Join(dir, "compose.override.yaml")
		if err := os.WriteFile(file, []byte(override), 0o644); err != nil {
			t.Fatal(err)
		}
		p.args = append(p.args, "-f", file)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if t.Failed() {
			out, _ := p.run(ctx, "ps")
			t.Logf("--- compose ps ---\n%s", out)
			out, _ = p.run(ctx, "logs", "--no-color", "--tail", "80")
			t.Logf("--- compose logs ---\n%s", out)
		}
		if out, err := p.run(ctx, "down", "-v", "--remove-orphans", "-t", "5"); err != nil {
			t.Errorf("compose down: %v\n%s", err, out)
		}
	})
	return p
}

func (p *project) run(ctx context.Context, args ...string) (string, error) {
	all := append(append(append([]string{}, p.d.compose[1:]...), p.args...), args...)
	return p.d.run(ctx, p.env, p.d.compose[0], all...)
}

// compose runs a compose subcommand, failing the test if it fails.
func (p *project) compose(timeout time.Duration, args ...string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := p.run(ctx, args...)
	if err != nil {
		p.t.Fatalf("compose %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// forwarder relays TCP connections accepted on addr to target. It lets
// containers reach a server the test runs on 127.0.0.1.
type forwarder struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// forward listens on host:0 and relays to target until the test ends.
func forward(t *testing.T, host, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("listen on %s for the containers: %v", host, err)
	}
	f := &forwarder{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(f.close)
	return ln.Addr().String()
}

func (f *forwarder) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return // closed
		}
		f.wg.Add(1)
		go f.relay(c)
	}
}

func (f *forwarder) relay(c net.Conn) {
	defer f.wg.Done()
	f.track(c)
	up, err := net.DialTimeout("tcp", f.target, 5*time.Second)
	if err != nil {
		f.untrack(c)
		c.Close()
		return
	}
	f.track(up)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
	f.untrack(c, up)
	c.Close()
	up.Close()
}

// track registers c so close can break it; one arriving after close is
// broken at once.
func (f *forwarder) track(c net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		c.Close()
		return
	}
	f.conns[c] = struct{}{}
}

func (f *forwarder) untrack(cs ...net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cs {
		delete(f.conns, c)
	}
}

// close stops accepting, breaks open relays and waits for them.
func (f *forwarder) close() {
	f.ln.Close()
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
