package modelhub

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func touch(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("GGUF"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The start of a model service without a model named: the default model
// if it is there, else the only model there is, else a download; offline,
// an error that names the file to put where.
func TestLocateDefault(t *testing.T) {
	def, _ := ParseRef(DefaultAlias)
	tests := []struct {
		name    string
		files   []string
		want    string   // file chosen
		wantLog string   // in the log
		wantErr []string // in the error
	}{
		{name: "default there", files: []string{def.File, "other.gguf"}, want: def.File},
		{name: "only one model", files: []string{"stories.gguf", "stories.gguf.sha256", "x.gguf.partial"}, want: "stories.gguf",
			wantLog: "using the only model in the models directory"},
		{name: "empty, offline", wantErr: []string{"To start without internet", "save it as DIR/" + def.File,
			"/resolve/main/" + def.File, "`parley pull ./path/to/model.gguf`", "--model ./path/to/model.gguf"}},
		{name: "two models, offline", files: []string{"a.gguf", "b.gguf"}, wantErr: []string{"DIR/" + def.File, "--model a | b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			touch(t, dir, tt.files...)
			var logs bytes.Buffer
			path, err := Locate(context.Background(), Source{Dir: dir, BaseURL: closedURL(t)}, slog.New(slog.NewTextHandler(&logs, nil)))
			if tt.wantErr != nil {
				if !errors.Is(err, ErrOffline) {
					t.Fatalf("err = %v, want ErrOffline", err)
				}
				for _, w := range tt.wantErr {
					if w = strings.ReplaceAll(w, "DIR", dir); !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q:\n%v", w, err)
					}
				}
				if _, serr := os.Stat(filepath.Join(dir, def.File+".partial")); serr == nil {
					t.Error("the failed download left a partial file")
				}
				return
			}
			if err != nil || path != filepath.Join(dir, tt.want) || !strings.Contains(logs.String(), tt.wantLog) {
				t.Fatalf("Locate = %q, %v; log %q", path, err, logs.String())
			}
		})
	}
}

// A model that is named is used or pulled, never swapped for another.
func TestLocateNamed(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "only.gguf")
	log := slog.New(slog.DiscardHandler)
	if p, err := Locate(context.Background(), Source{Dir: dir, Model: "only"}, log); err != nil || p != filepath.Join(dir, "only.gguf") {
		t.Fatalf("by id: %q, %v", p, err)
	}
	_, err := Locate(context.Background(), Source{Dir: dir, Model: "nope", BaseURL: closedURL(t)}, log)
	if err == nil || errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), "holds only only") {
		t.Fatalf("unknown name: %v (it must not be pulled)", err)
	}
	_, err = Locate(context.Background(), Source{Dir: dir, Model: "smollm2-135m", BaseURL: closedURL(t)}, log)
	if !errors.Is(err, ErrOffline) {
		t.Fatalf("alias not there: %v, want a pull that fails offline", err)
	}
}

// Resolve's error suggests `parley pull X` only when X can be pulled.
func TestResolveErrorSuggestsWhatWorks(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		ref     string
		want    []string
		notWant string
	}{
		{"nope", []string{`model "nope" not found`, "holds no models yet", "parley pull ./file.gguf", "parley models --catalogue"}, "parley pull nope"},
		{"./missing.gguf", []string{"model file ./missing.gguf not found"}, "parley pull ./missing"},
		{"smollm2-135m", []string{"not in " + dir, "`parley pull smollm2-135m`"}, ""},
	}
	for _, tt := range tests {
		_, err := Resolve(dir, tt.ref)
		if err == nil {
			t.Fatalf("Resolve(%q) found something", tt.ref)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Resolve(%q): %q lacks %q", tt.ref, err, w)
			}
		}
		if tt.notWant != "" && strings.Contains(err.Error(), tt.notWant) {
			t.Errorf("Resolve(%q): %q suggests %q", tt.ref, err, tt.notWant)
		}
	}
}
