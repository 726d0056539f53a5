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
