// Package sharedtest is what tests need from outside the repository: it
// locates the project's shared test data — the stories260K model, tokenizer
// vocabularies and llama.cpp goldens kept in ../shared/testdata beside the
// repository, never copied into it — and decides what a test does when
// something it needs from outside is absent: skip on a developer's machine,
// fail under CI=true, so that CI cannot pass by skipping. It is for tests
// only.
package sharedtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// InCI reports whether the tests run in CI: the CI environment variable is
// true (CI=true, as .ci/run and most CI systems set it, or CI=1).
func InCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// Missing ends a test that cannot run because something it needs from
// outside the repository is absent: it skips with the message, or, under
// CI=true, where everything must be present, it fails with it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatal("CI=true, so this test may not skip: " + msg)
	}
	t.Skip(msg)
}

// Dir returns the shared test data directory. When it is absent the test
// skips with a clear message, or fails under CI=true (see Missing).
func Dir(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		Missing(t, "cannot locate ../shared/testdata: %v", err)
	}
	tried := []string{}
	for _, base := range []string{root, mainCheckout(root)} {
		if base == "" {
			continue
		}
		td := filepath.Join(filepath.Dir(base), "shared", "testdata")
		if _, err := os.Stat(td); err == nil {
			return td
		}
		tried = append(tried, td)
	}
	Missing(t, "shared test data not present at %s (it lives in ../shared/testdata beside the repository; CI provides it)",
		strings.Join(tried, " or "))
	return ""
}

// moduleRoot is the nearest directory at or above the working directory
// (a test's package directory) that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test directory")
		}
		dir = parent
	}
}

// mainCheckout returns the main working tree when root is a linked git
// worktree (`git worktree add`), whose .git is a file naming a directory
// inside the main checkout's .git; "" otherwise. A worktree may live
// anywhere, so the shared data beside the main checkout counts too.
func mainCheckout(root string) string {
	b, err := os.ReadFile(filepath.Join(root, ".git"))
	if err != nil {
		return "" // a directory (the main checkout itself) or no git at all
	}
	gitdir, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:")
	if !ok {
		return ""
	}
	gitdir = strings.TrimSpace(gitdir)
	if !filepath.IsAbs(gitdir) {
		gitdir = filepath.Join(root, gitdir)
	}
	common, err := os.ReadFile(filepath.Join(gitdir, "commondir"))
	if err != nil {
		return ""
	}
	dir := strings.TrimSpace(string(common))
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(gitdir, dir)
	}
	dir = filepath.Clean(dir)
	if filepath.Base(dir) != ".git" {
		return "" // a bare repository has no checkout beside it
	}
	return filepath.Dir(dir)
}

// Path returns a file or directory inside the shared test data.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Dir(t)}, elem...)...)
}

// Stories260K returns the path of the tiny trained llama model.
func Stories260K(t testing.TB) string {
	t.Helper()
	return Path(t, "models", "stories260K.gguf")
}
