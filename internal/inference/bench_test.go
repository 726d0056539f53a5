package inference_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/inference"
	"github.com/parley-chat/parley/internal/obs"
	"github.com/parley-chat/parley/internal/openai"
)

// cannedUpstream answers every chat completion at once with the same
// pre-rendered reply (16 tokens), one write and flush per event when
// streamed: it costs the benchmarks below next to nothing.
func cannedUpstream(b *testing.B) *httptest.Server {
	chunk := func(delta, finish string) string {
		return `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","choices":[{"index":0,"delta":` +
			delta + `,"finish_reason":` + finish + `}]}` + "\n\n"
	}
	events := []string{chunk(`{"role":"assistant","content":""}`, "null")}
	for range 16 {
		events = append(events, chunk(`{"content":" word"}`, "null"))
	}
	events = append(events, chunk(`{}`, `"stop"`), "data: [DONE]\n\n")
	whole := []byte(`{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":"` +
		strings.Repeat(" word", 16) + `"},"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":16,"total_tokens":40}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			io.WriteString(w, `{"object":"list","data":[{"id":"bench-model","object":"model","owned_by":"bench"}]}`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if !bytes.Contains(body, []byte(`"stream":true`)) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(whole)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, e := range events {
			io.WriteString(w, e)
			w.(http.Flusher).Flush()
		}
	}))
	b.Cleanup(srv.Close)
	return srv
}

// meteredModelService is the model service's pass-through as the model
// target builds it: HTTP metrics around a metered backend.
func meteredModelService(client *openai.Client, log *slog.Logger) http.Handler {
	reg := obs.NewRegistry()
	gen := inference.Metered(client, inference.NewMetrics(reg, inference.MetricsOptions{Upstream: true, Backend: client}))
	return httpx.NewHTTPMetrics(reg).Middleware(log, inference.NewServer(gen, inference.Config{}, log))
}

// meteredAPIV1 is the api's /v1 as the api target builds it: HTTP
// metrics, the pool and its state collector.
func meteredAPIV1(name string, client *openai.Client, log *slog.Logger) http.Handler {
	reg := obs.NewRegistry()
	router := inference.NewRouter([]inference.Route{{Name: name, Gen: client}}, inference.RouterConfig{}, log)
	router.RegisterMetrics(reg)
	return httpx.NewHTTPMetrics(reg).Middleware(log, inference.NewServer(router, inference.Config{}, log))
}

// BenchmarkProxy measures one request through each proxy over loopback,
// client, proxy and upstream all in this process: the floor
// (httputil.ReverseProxy), the model service's pass-through, its decoding
// path, and the api's pass-through over its pool (one model service).
// Compare allocs/op and ns/op between them.
func BenchmarkProxy(b *testing.B) {
	up := cannedUpstream(b)
	u, _ := url.Parse(up.URL)
	floor := httputil.NewSingleHostReverseProxy(u)
	floor.Transport = httpx.StreamingTransport(0)
	log := slog.New(slog.DiscardHandler)
	client := openai.NewClient(up.URL, "", &http.Client{Transport: httpx.Transport(openai.NewTransport(0))})
	proxies := []struct {
		name string
		h    http.Handler
	}{
		{"floor", floor},
		{"passthrough", httpx.Middleware(log, inference.NewServer(client, inference.Config{}, log))},
		{"decoding", httpx.Middleware(log, inference.NewServer(decoded{client}, inference.Config{}, log))},
		// The api's /v1: the pass-through behind the pool of model services.
		{"pool", httpx.Middleware(log, inference.NewServer(
			inference.NewRouter([]inference.Route{{Name: up.URL, Gen: client}}, inference.RouterConfig{}, log), inference.Config{}, log))},
		// The same two with the metrics the targets run with (app.Serve):
		// compare with the rows above for what metrics cost.
		{"passthrough-metrics", meteredModelService(client, log)},
		{"pool-metrics", meteredAPIV1(up.URL, client, log)},
	}
	hc := &http.Client{Transport: httpx.StreamingTransport(0)}
	for _, kind := range []string{"plain", "stream"} {
		body := []byte(`{"model":"bench-model","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello."}],"max_tokens":64`)
		if kind == "stream" {
			body = append(body, `,"stream":true`...)
		}
		body = append(body, '}')
		for _, p := range proxies {
			srv := httptest.NewServer(p.h)
			b.Run(fmt.Sprintf("%s/%s", kind, p.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					resp, err := hc.Post(srv.URL+"/v1/chat/completions", "application/json", bytes.NewReader(body))
					if err != nil {
						b.Fatal(err)
					}
					n, _ := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || n < 100 {
						b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
					}
				}
			})
			srv.Close()
		}
	}
}
