package httpx

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

// When the work beforeShutdown ends takes the whole shutdown timeout, the
// requests following that work still get to write their last words (a
// reply stream's final event) before the server closes.
func TestServeLetsEndedWorkFinishItsAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan struct{}) // closed when beforeShutdown ends the work
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial ")
		w.(http.Flusher).Flush()
		close(started)
		<-ended
		io.WriteString(w, "stopped")
	})
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, ln, h, ServerConfig{ShutdownTimeout: 20 * time.Millisecond}, slog.New(slog.DiscardHandler),
			func(sctx context.Context) {
				<-sctx.Done() // the work would not end by itself
				close(ended)
			})
	}()
	resp, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-started
	cancel()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "partial stopped" {
		t.Fatalf("client got %q, want the final words too", body)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// Once shutdown begins the readiness probe says 503 at once, while the
// running work still finishes and other requests are still answered.
func TestServeNotReadyWhileDraining(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	Health(mux, HealthConfig{}, slog.New(slog.DiscardHandler), map[string]Check{"ok": func(context.Context) error { return nil }})
	ctx, cancel := context.WithCancel(t.Context())
	draining, release := make(chan struct{}), make(chan struct{})
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, ln, mux, ServerConfig{ShutdownTimeout: 10 * time.Second}, slog.New(slog.DiscardHandler),
			func(context.Context) { close(draining); <-release })
	}()
	base := "http://" + ln.Addr().String()
	status := func(path string) int {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := status("/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz before shutdown = %d", code)
	}
	cancel()
	<-draining
	if code := status("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while draining = %d, want 503", code)
	}
	if code := status("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while draining = %d, want 200", code)
	}
	close(release)
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}
