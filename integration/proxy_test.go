package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testupstream"
)

// TestWebProxyKeepsEveryStream pushes many streamed replies through `parley
// web`, many at a time, as the compose topology does: every one must reach
// its done event. Go's HTTP/1 server used to end the proxied request body as
// soon as the proxy wrote the api's response headers, and the proxy's
// transport then dropped its connection to the api mid-answer (golang/go#40747).
func TestWebProxyKeepsEveryStream(t *testing.T) {
	const streams, concurrent = 200, 32
	up := testupstream.New(t, testupstream.WithTokenDelay(2*time.Millisecond))
	model := start(t, "model", freeAddr(t), true, "model", "--backend", "openai", "--upstream-url", up.URL)
	// One local user with 32 replies at once: far over a user's limits.
	api := start(t, "api", freeAddr(t), true, "api", "--model-url", model.url(),
		"--database", filepath.Join(t.TempDir(), "parley.db"), "--max-running-replies", "0", "--rate-limit", "0")
	// One P, as in a container limited to one CPU (Go sizes GOMAXPROCS to
	// the cgroup's limit): the web service's goroutines then wait for each
	// other, which is when the proxy lost the race.
	web := startEnv(t, "web", freeAddr(t), true, []string{"GOMAXPROCS=1"}, "web", "--api-url", api.url())

	var next, cut atomic.Int64
	var mu sync.Mutex
	var failures []string
	var wg sync.WaitGroup
	for range concurrent {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > streams {
					return
				}
				var c conversation
				if code := doJSON(t, "POST", web.url()+"/api/conversations", map[string]string{}, &c); code != 201 {
					t.Errorf("create conversation %d: %d", i, code)
					return
				}
				content := fmt.Sprintf("stream %d %s", i, words(40))
				var events []string
				var final message
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				stream(t, ctx, web.url()+"/api/conversations/"+c.ID+"/messages", map[string]string{"content": content}, func(ev event) bool {
					events = append(events, ev.Name)
					if ev.Name == "done" {
						final = decode[message](t, ev.Data)
						return false
					}
					return true
				})
				cancel()
				if final.Status != "complete" || final.Content != content {
					cut.Add(1)
					mu.Lock()
					failures = append(failures, fmt.Sprintf("stream %d: %d events, last %v, final %q", i, len(events), events[max(0, len(events)-3):], final.Status))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if n := cut.Load(); n > 0 {
		t.Errorf("%d of %d streams through web ended without done; first: %v", n, streams, failures[:min(5, len(failures))])
	}
}
