package modelhub

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImport(t *testing.T) {
	src := filepath.Join(t.TempDir(), "tiny.gguf")
	content := bytes.Repeat([]byte("GGUF weights "), 100000)
	if err := os.WriteFile(src, content, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "models") // created on demand
	var last Progress
	path, err := Import(src, dir, func(p Progress) { last = p })
	if err != nil || path != filepath.Join(dir, "tiny.gguf") {
		t.Fatalf("Import = %q, %v", path, err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, content) || !last.Finished() {
		t.Fatalf("imported %d bytes, progress %+v", len(got), last)
	}
	models, _ := List(dir)
	if len(models) != 1 || models[0].Name != "tiny" || models[0].SHA256 != digest(content) {
		t.Fatalf("List = %+v", models)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 { // the model and its .sha256
		t.Fatalf("left %v", entries)
	}

	// Again, and the copy itself: nothing to do.
	for _, from := range []string{src, path} {
		if p, err := Import(from, dir, nil); err != nil || p != path {
			t.Errorf("Import(%s) again = %q, %v", from, p, err)
		}
	}
	// Another file of that name is not overwritten.
	other := filepath.Join(t.TempDir(), "tiny.gguf")
	os.WriteFile(other, []byte("other"), 0o644)
	if _, err := Import(other, dir, nil); err == nil || !strings.Contains(err.Error(), "already holds a different tiny.gguf") {
		t.Fatalf("clash: %v", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, content) {
		t.Fatal("a clash overwrote the model")
	}
	// A file without the extension gets it, so that List finds it.
	bare := filepath.Join(t.TempDir(), "model-bin")
	os.WriteFile(bare, []byte("GGUF"), 0o644)
	if p, err := Import(bare, dir, nil); err != nil || p != filepath.Join(dir, "model-bin.gguf") {
		t.Fatalf("Import(bare) = %q, %v", p, err)
	}
}
