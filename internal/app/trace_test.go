package app

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/parley-chat/parley/internal/testupstream"
)

// otlpReceiver is an OTLP/HTTP trace receiver: it decodes what the
// exporters post to /v1/traces and keeps the spans by service name.
type otlpReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	spans map[string][]*tracepb.Span // by service.name
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	rc := &otlpReceiver{spans: map[string][]*tracepb.Span{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("OTLP receiver: %s %s (%s), want POST /v1/traces in protobuf", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			http.Error(w, "unsupported", http.StatusUnsupportedMediaType)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		var req collectortrace.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(b, &req)
		}
		if err != nil {
			t.Errorf("OTLP receiver: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			service := ""
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.GetKey() == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				rc.spans[service] = append(rc.spans[service], ss.GetSpans()...)
			}
		}
		rc.mu.Unlock()
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// traces returns, per service, the trace ids of its spans and their names.
func (rc *otlpReceiver) traces() map[string]map[string][]string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string]map[string][]string{}
	for service, spans := range rc.spans {
		out[service] = map[string][]string{}
		for _, s := range spans {
			id := hex.EncodeToString(s.GetTraceId())
			out[service][id] = append(out[service][id], s.GetName())
		}
	}
	return out
}

// serveUntil runs target like runTarget, but returns its stop: traces
// are flushed when a service stops.
func serveUntil(t *testing.T, target string, args ...string) (url string, stop func()) {
	t.Helper()
	cfg := parseTarget(t, target, args...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, target, cfg, slog.New(slog.DiscardHandler)) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("%s: %v", target, err)
			}
		})
	}
	t.Cleanup(stop)
	return "http://" + ln.Addr().String(), stop
}

// One chat through web, api and model is one trace: each service sends
// its spans to the OTLP endpoint under its own name, all with the trace
// id the browser's request began, and the upstream model server gets it
// in traceparent.
func TestOneChatIsOneTrace(t *testing.T) {
	rc := newOTLPReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rc.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_SERVICE_NAME", "")
	up := testupstream.New(t, testupstream.WithReply(testupstream.Scripted("traced words")))
	modelURL, stopModel := serveUntil(t, TargetModel, "--backend", "openai", "--upstream-url", up.URL)
	apiURL, stopAPI := serveUntil(t, TargetAPI, "--model-url", modelURL, "--database", filepath.Join(t.TempDir(), "p.db"))
	webURL, stopWeb := serveUntil(t, TargetWeb, "--api-url", apiURL)

	// The browser starts the trace.
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest(http.MethodPost, webURL+"/chat", strings.NewReader(`{"message":"hi"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "traced words") {
		t.Fatalf("POST /chat: %d %s", resp.StatusCode, body)
	}
	if tp := up.LastRequest().Header.Get("traceparent"); !strings.HasPrefix(tp, "00-"+traceID+"-") {
		t.Errorf("the upstream got traceparent %q, want one in trace %s", tp, traceID)
	}
	stopWeb()
	stopAPI()
	stopModel()

	got := rc.traces()
	want := map[string][]string{
		"parley-web":   {"POST /chat", "HTTP POST"},
		"parley-api":   {"POST /chat", "store start_reply", "reply", "HTTP POST"},
		"parley-model": {"POST /v1/chat/completions", "generate test-model", "HTTP POST"},
	}
	for service, names := range want {
		spans := got[service][traceID]
		for _, name := range names {
			found := false
			for _, s := range spans {
				found = found || s == name
			}
			if !found {
				t.Errorf("%s: no span %q in trace %s; its spans: %v (all: %v)", service, name, traceID, spans, got[service])
			}
		}
	}
}
