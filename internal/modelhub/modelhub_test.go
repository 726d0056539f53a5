package modelhub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in      string
		repo    string
		file    string
		wantErr bool
	}{
		{in: "qwen2.5-0.5b", repo: "Qwen/Qwen2.5-0.5B-Instruct-GGUF", file: "qwen2.5-0.5b-instruct-q4_k_m.gguf"},
		{in: "SMOLLM2-135M", repo: "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF", file: "smollm2-135m-instruct-q8_0.gguf"},
		{in: "org/repo/model.Q8_0.gguf", repo: "org/repo", file: "model.Q8_0.gguf"},
		{in: "https://huggingface.co/org/repo/resolve/main/m.gguf", repo: "org/repo", file: "m.gguf"},
		{in: "org/repo/readme.md", wantErr: true},
		{in: "nonsense", wantErr: true},
		{in: "org/../x.gguf", wantErr: true},
	}
	for _, tt := range tests {
		ref, err := ParseRef(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseRef(%q) err = %v", tt.in, err)
			continue
		}
		if !tt.wantErr && (ref.Repo != tt.repo || ref.File != tt.file) {
			t.Errorf("ParseRef(%q) = %+v", tt.in, ref)
		}
	}
}

// hub serves one file like Hugging Face does: Range requests, and the
// digest in X-Linked-Etag. The first request can be cut after cutAt bytes.
func hub(t *testing.T, content []byte, announce string, cutAt int64) (*httptest.Server, *atomic.Int32) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		if !strings.HasSuffix(r.URL.Path, "/org/repo/resolve/main/m.gguf") {
			http.NotFound(w, r)
			return
		}
		if announce != "" {
			w.Header().Set("X-Linked-Etag", `"`+announce+`"`)
		}
		if n == 1 && cutAt > 0 {
			w.Header().Set("Accept-Ranges", "bytes") // as Hugging Face's CDN answers
			w.Header().Set("Content-Length", strconv.Itoa(len(content)))
			w.WriteHeader(200)
			w.Write(content[:cutAt])
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		http.ServeContent(w, r, "m.gguf", time.Time{}, bytes.NewReader(content))
	}))
	t.Cleanup(srv.Close)
	return srv, &requests
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestPullResumesAndVerifies(t *testing.T) {
	content := bytes.Repeat([]byte("GGUF-model-bytes-"), 50000)
	srv, requests := hub(t, content, digest(content), 300000)
	dir := t.TempDir()
	var lastDone int64
	p := &Puller{Dir: dir, BaseURL: srv.URL, Progress: func(pr Progress) { lastDone = pr.Done }}
	ref, _ := ParseRef("org/repo/m.gguf")

	if _, err := p.Pull(context.Background(), ref); err == nil {
		t.Fatal("first pull should fail: the connection was cut")
	}
	if st, err := os.Stat(filepath.Join(dir, "m.gguf.partial")); err != nil || st.Size() == 0 {
		t.Fatalf("no partial download kept: %v", err)
	}
	path, err := p.Pull(context.Background(), ref)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, content) {
		t.Fatalf("resumed file differs: %d bytes, want %d", len(got), len(content))
	}
	if requests.Load() != 2 || lastDone != int64(len(content)) {
		t.Fatalf("requests %d, progress %d", requests.Load(), lastDone)
	}
	models, err := List(dir)
	if err != nil || len(models) != 1 || models[0].Name != "m" || models[0].SHA256 != digest(content) {
		t.Fatalf("List = %+v, %v", models, err)
	}
	if p, err := Resolve(dir, "m"); err != nil || p != path {
		t.Fatalf("Resolve = %q, %v", p, err)
	}
}

func TestPullRejectsWrongDigest(t *testing.T) {
	content := []byte("not the file you wanted")
	srv, _ := hub(t, content, strings.Repeat("ab", 32), 0)
	dir := t.TempDir()
	p := &Puller{Dir: dir, BaseURL: srv.URL}
	ref, _ := ParseRef("org/repo/m.gguf")
	_, err := p.Pull(context.Background(), ref)
	if err == nil || !strings.Contains(err.Error(), "sha256 mismatch") {
		t.Fatalf("err = %v, want sha256 mismatch", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("bad download left behind: %v", entries)
	}
}

func TestPullOfflineFailsFast(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	p := &Puller{Dir: t.TempDir(), BaseURL: "http://" + addr}
	ref, _ := ParseRef("org/repo/m.gguf")
	start := time.Now()
	_, err := p.Pull(context.Background(), ref)
	if err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("offline pull took %v", time.Since(start))
	}
}

func TestPullNotFound(t *testing.T) {
	srv, _ := hub(t, []byte("x"), "", 0)
	p := &Puller{Dir: t.TempDir(), BaseURL: srv.URL}
	_, err := p.Pull(context.Background(), Ref{Repo: "org/other", File: "x.gguf"})
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("err = %v", err)
	}
}
