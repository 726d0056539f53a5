// Package sharedtest locates the project's shared test data — the
// stories260K model, tokenizer vocabularies and llama.cpp goldens kept in
// ../shared/testdata beside the repository, never copied into it. It is for
// tests only.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the shared test data directory, or skips the test with a
// clear message when it is absent (CI always has it).
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("go.mod not found above the test directory; cannot locate ../shared/testdata")
		}
		dir = parent
	}
	td := filepath.Join(dir, "..", "shared", "testdata")
	if _, err := os.Stat(td); err != nil {
		t.Skipf("shared test data not present at %s (CI provides it): %v", td, err)
	}
	return td
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
