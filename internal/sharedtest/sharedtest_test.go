package sharedtest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder stands in for a test's T to see whether Missing and Dir skip or
// fail; like the real one, Skip and Fatal end the goroutine.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Skip(args ...any) {
	r.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) {
	r.failed = fmt.Sprint(args...)
	runtime.Goexit()
}

// run calls f with a recorder on its own goroutine, as the testing package
// runs a test, so that Goexit ends only f.
func run(f func(t testing.TB)) *recorder {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestMissingSkipsOutsideCIAndFailsInCI(t *testing.T) {
	for _, tc := range []struct {
		ci       string
		wantFail bool
	}{{"", false}, {"false", false}, {"true", true}, {"1", true}} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := run(func(t testing.TB) { Missing(t, "no %s here", "widget") })
			if tc.wantFail {
				if r.failed == "" || !strings.Contains(r.failed, "no widget here") || r.skipped != "" {
					t.Errorf("failed %q, skipped %q; want a failure naming what is missing", r.failed, r.skipped)
				}
				return
			}
			if r.skipped != "no widget here" || r.failed != "" {
				t.Errorf("skipped %q, failed %q; want a skip with the message", r.skipped, r.failed)
			}
		})
	}
}

// layout makes a main checkout and a linked worktree of it side by side in
// a temporary directory, the way `git worktree add` leaves them, and
// returns the directory holding both and the worktree's package directory.
func layout(t *testing.T) (top, pkg string) {
	top = t.TempDir()
	gitdir := filepath.Join(top, "main", ".git", "worktrees", "wt")
	wt := filepath.Join(top, "wt")
	pkg = filepath.Join(wt, "internal", "x")
	for _, d := range []string{gitdir, pkg} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string]string{
		filepath.Join(gitdir, "commondir"): "../..\n",
		filepath.Join(wt, ".git"):          "gitdir: " + gitdir + "\n",
		filepath.Join(wt, "go.mod"):        "module example.com/x\n",
	} {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return top, pkg
}

func TestDirFindsDataBesideTheMainCheckoutOfAWorktree(t *testing.T) {
	top, pkg := layout(t)
	want := filepath.Join(top, "shared", "testdata")
	if err := os.MkdirAll(want, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(pkg)
	t.Setenv("CI", "true")
	var got string
	r := run(func(t testing.TB) { got = Dir(t) })
	if r.failed != "" || r.skipped != "" || got != want {
		t.Errorf("Dir = %q (failed %q, skipped %q), want %q", got, r.failed, r.skipped, want)
	}
}

func TestDirWithoutDataFailsInCI(t *testing.T) {
	_, pkg := layout(t)
	t.Chdir(pkg)
	t.Setenv("CI", "true")
	r := run(func(t testing.TB) { Dir(t) })
	if !strings.Contains(r.failed, "shared test data not present") || r.skipped != "" {
		t.Errorf("failed %q, skipped %q; want a failure saying the data is missing", r.failed, r.skipped)
	}
	t.Setenv("CI", "")
	r = run(func(t testing.TB) { Dir(t) })
	if !strings.Contains(r.skipped, "shared test data not present") || r.failed != "" {
		t.Errorf("outside CI: skipped %q, failed %q; want a skip", r.skipped, r.failed)
	}
}
