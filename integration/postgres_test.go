package integration

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/parley-chat/parley/internal/sharedtest"
)

// pgBin is where Debian's PostgreSQL 15 keeps initdb and pg_ctl.
const pgBin = "/usr/lib/postgresql/15/bin"

// postgres is a private PostgreSQL server for one test, which the test
// may crash and start again.
type postgres struct {
	dir  string // data directory
	port string
	URL  string
}

// startPostgres initdb's and starts a PostgreSQL of its own on a free
// port, as the postgres user when the test runs as root (PostgreSQL
// refuses to run as root). It skips when PostgreSQL is not installed, or
// fails under CI=true.
func startPostgres(t *testing.T) *postgres {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBin, "pg_ctl")); err != nil {
		sharedtest.Missing(t, "PostgreSQL 15 is not installed at %s (apt-get install postgresql)", pgBin)
	}
	// Not t.TempDir: its parents are private to root, out of the postgres
	// user's reach.
	root, err := os.MkdirTemp("", "parley-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p := &postgres{dir: filepath.Join(root, "data")}
	if os.Geteuid() == 0 {
		if err := exec.Command("chown", "postgres:postgres", root).Run(); err != nil {
			t.Fatalf("chown %s to postgres: %v", root, err)
		}
	}
	t.Cleanup(func() {
		p.command(filepath.Join(pgBin, "pg_ctl"), "-D", p.dir, "-m", "immediate", "stop").Run()
		os.RemoveAll(root)
	})
	p.port = stablePort(t)
	p.URL = fmt.Sprintf("postgres://parley@127.0.0.1:%s/postgres?sslmode=disable", p.port)
	p.run(t, filepath.Join(pgBin, "initdb"), "-D", p.dir, "-U", "parley", "--auth=trust", "-E", "UTF8", "--no-sync")
	p.start(t)
	return p
}

// command is a PostgreSQL program to run, as the postgres user when root.
func (p *postgres) command(prog string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", prog}, args...)...)
	}
	return exec.Command(prog, args...)
}

// stablePort returns a free port below Linux's ephemeral range (32768 and
// up). The server is restarted on it after a crash, and meanwhile its
// clients keep trying to connect: a connect to a free ephemeral port on
// 127.0.0.1 can get that same port as its own source and connect to
// itself, taking the port from the server.
func stablePort(t *testing.T) string {
	t.Helper()
	for range 100 {
		port := strconv.Itoa(20000 + rand.IntN(12000))
		if ln, err := net.Listen("tcp", "127.0.0.1:"+port); err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port between 20000 and 32000")
	return ""
}

// run runs a PostgreSQL program and fails the test if it fails.
func (p *postgres) run(t *testing.T, prog string, args ...string) {
	t.Helper()
	if out, err := p.command(prog, args...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "server.log"))
		t.Fatalf("%s %v: %v\n%s\nserver log:\n%s", filepath.Base(prog), args, err, out, log)
	}
}

// start starts the server and waits until it accepts connections.
func (p *postgres) start(t *testing.T) {
	t.Helper()
	p.run(t, filepath.Join(pgBin, "pg_ctl"), "-D", p.dir, "-l", filepath.Join(p.dir, "server.log"), "-w", "start", "-o",
		"-p "+p.port+" -c listen_addresses=127.0.0.1 -c unix_socket_directories='"+p.dir+"' -c fsync=off")
}

// crash stops the server as a power cut would: no shutdown checkpoint,
// connections dropped.
func (p *postgres) crash(t *testing.T) {
	t.Helper()
	p.run(t, filepath.Join(pgBin, "pg_ctl"), "-D", p.dir, "-m", "immediate", "-w", "stop")
}
