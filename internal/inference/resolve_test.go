package inference_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/parley-chat/parley/internal/inference"
	"github.com/parley-chat/parley/internal/testupstream"
)

// With Resolve a URL's host name stands for every address it resolves
// to, each a model service of the pool, followed as the answer changes: a
// headless Kubernetes Service, a scaled compose service. The name
// resolution is the test's; the services are real, one per loopback
// address on one port.
func TestPoolResolvesANameIntoServices(t *testing.T) {
	a := testupstream.New(t, testupstream.WithReply(testupstream.Scripted("from a")))
	b := testupstream.New(t, testupstream.WithReply(testupstream.Scripted("from b")))
	port := sharedPort(t, modelHandler(a), modelHandler(b))
	var mu sync.Mutex
	addrs := []string{"127.0.0.1", "127.0.0.2"}
	lookupErr := error(nil)
	lookup := func(_ context.Context, host string) ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		if host != "models.test" {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		return slices.Clone(addrs), lookupErr
	}
	set := func(list []string, err error) {
		mu.Lock()
		addrs, lookupErr = list, err
		mu.Unlock()
	}
	logs := &logBuf{}
	r := pool(t, inference.RouterConfig{Resolve: true, Lookup: lookup}, logs, "http://models.test:"+port)
	from := func(n int) map[string]int {
		got := map[string]int{}
		for range n {
			text, _, err := ask(t, r, testupstream.DefaultModel, "x")
			if err != nil {
				t.Fatal(err)
			}
			got[text]++
		}
		return got
	}
	if got := from(4); got["from a"] != 2 || got["from b"] != 2 {
		t.Fatalf("two addresses: %v", got)
	}
	states := r.States()
	if len(states) != 2 || states[0].URL != "http://models.test:"+port || states[0].Addr != "127.0.0.1:"+port || states[1].Addr != "127.0.0.2:"+port {
		t.Fatalf("states %+v", states)
	}

	set([]string{"127.0.0.2"}, nil) // a scaled down
	if _, err := r.Models(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := from(3); got["from b"] != 3 {
		t.Fatalf("one address left: %v", got)
	}
	set(nil, &net.DNSError{Err: "server misbehaving", Name: "models.test", IsTemporary: true})
	for range 2 {
		if _, err := r.Models(t.Context()); err != nil {
			t.Fatalf("with the resolver failing: %v", err)
		}
	}
	if got := from(2); got["from b"] != 2 {
		t.Fatalf("the resolver failing keeps the known address: %v", got)
	}
	set([]string{"127.0.0.1", "127.0.0.2"}, nil)
	if _, err := r.Models(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := from(4); got["from a"] != 2 || got["from b"] != 2 {
		t.Fatalf("scaled up again: %v", got)
	}
	if n := logs.count("cannot resolve model services"); n != 1 {
		t.Fatalf("logged the resolver failing %d times, want once:\n%s", n, logs.buf.String())
	}
	if n := logs.count("model service gone"); n != 1 {
		t.Fatalf("logged a service gone %d times, want once:\n%s", n, logs.buf.String())
	}
}

// sharedPort serves each handler on its own loopback address (127.0.0.1,
// 127.0.0.2, ...), all on one port, which it returns.
func sharedPort(t *testing.T, handlers ...http.Handler) string {
	t.Helper()
	for range 20 {
		first, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(first.Addr().String())
		lns := []net.Listener{first}
		for i := 2; i <= len(handlers); i++ {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:%s", i, port))
			if err != nil {
				break
			}
			lns = append(lns, ln)
		}
		if len(lns) < len(handlers) {
			for _, ln := range lns {
				ln.Close()
			}
			continue // the port is taken on another address: another one
		}
		for i, h := range handlers {
			srv := &httptest.Server{Listener: lns[i], Config: &http.Server{Handler: h}}
			srv.Start()
			t.Cleanup(srv.Close)
		}
		return port
	}
	t.Fatal("found no port free on every loopback address")
	return ""
}
