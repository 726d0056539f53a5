package modelhub

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// cutServer sends the first half of content and then breaks the
// connection; ranges says whether it announces byte ranges (and honours
// them on the next request).
func cutServer(t *testing.T, content []byte, ranges bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ranges {
			w.Header().Set("Accept-Ranges", "bytes")
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		w.WriteHeader(200)
		w.Write(content[:len(content)/2])
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}))
	t.Cleanup(srv.Close)
	return srv
}

func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	return "http://" + ln.Addr().String()
}

// A pull that fails leaves nothing in the models directory unless the
// next pull can resume, and then its error says so.
func TestFailedPullLeavesNoPartial(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789abcdef"), 1<<14)
	notFound := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notFound.Close)
	tests := []struct {
		name, base string
		wantErr    string
		kept       bool
	}{
		{"offline", closedURL(t), "cannot reach", false},
		{"not found", notFound.URL, "not found", false},
		{"cut, no ranges", cutServer(t, content, false).URL, "cannot resume", false},
		{"cut, ranges", cutServer(t, content, true).URL, "the next pull resumes there", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := &Puller{Dir: dir, BaseURL: tt.base}
			ref, _ := ParseRef("org/repo/m.gguf")
			_, err := p.Pull(context.Background(), ref)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			entries, _ := os.ReadDir(dir)
			if kept := len(entries) == 1 && entries[0].Name() == "m.gguf.partial"; kept != tt.kept || !tt.kept && len(entries) != 0 {
				t.Fatalf("left %v, want a partial file: %v", entries, tt.kept)
			}
		})
	}
}

// A cancelled pull (Ctrl-C) from a server that takes ranges keeps its
// part; the next pull announces that it resumes, and an offline attempt
// in between keeps the part too.
func TestCancelledPullResumes(t *testing.T) {
	content := bytes.Repeat([]byte("model bytes "), 1<<17) // 1.5 MiB: more than one read
	// The first answer sends a part and then waits for the client to go,
	// so the cancel always lands mid-download (a fast loopback could
	// otherwise finish before the cancel is seen).
	var started atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Linked-Etag", `"`+digest(content)+`"`)
		if started.CompareAndSwap(false, true) {
			w.Header().Set("Accept-Ranges", "bytes")
			w.Header().Set("Content-Length", strconv.Itoa(len(content)))
			w.WriteHeader(200)
			w.Write(content[:len(content)/3])
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		http.ServeContent(w, r, "m.gguf", time.Time{}, bytes.NewReader(content))
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	ref, _ := ParseRef("org/repo/m.gguf")
	ctx, cancel := context.WithCancel(context.Background())
	p := &Puller{Dir: dir, BaseURL: srv.URL, Progress: func(pr Progress) {
		if pr.Done > 0 {
			cancel()
		}
	}}
	_, err := p.Pull(ctx, ref)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "resumes") {
		t.Fatalf("cancelled pull: %v", err)
	}
	st, err := os.Stat(dir + "/m.gguf.partial")
	if err != nil || st.Size() == 0 || st.Size() >= int64(len(content)) {
		t.Fatalf("partial after cancel: %v, %v", st, err)
	}

	offline := &Puller{Dir: dir, BaseURL: closedURL(t)}
	if _, err := offline.Pull(context.Background(), ref); !errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), "kept") {
		t.Fatalf("offline with a partial: %v", err)
	}

	var first *Progress
	p = &Puller{Dir: dir, BaseURL: srv.URL, Progress: func(pr Progress) {
		if first == nil {
			first = &pr
		}
	}}
	path, err := p.Pull(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, content) {
		t.Fatal("resumed file differs")
	}
	if first == nil || first.Resumed != st.Size() || first.Done != st.Size() {
		t.Fatalf("first progress of the resumed pull: %+v, want it to start at %d", first, st.Size())
	}
	if _, err := os.Stat(path + ".partial"); err == nil {
		t.Fatal("partial left after success")
	}
}
