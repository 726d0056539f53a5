package obs

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// collector is an OTLP/HTTP receiver decoding with the collector's own
// generated types; answer, when set, replies instead of a plain success.
type collector struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
	got      []*collectortrace.ExportTraceServiceRequest
	answer   func(w http.ResponseWriter, n int) bool // true: answered
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.requests = append(c.requests, r)
		n := len(c.requests)
		answer := c.answer
		c.mu.Unlock()
		if answer != nil && answer(w, n) {
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				t.Errorf("gzip: %v", err)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			t.Errorf("the collector cannot decode the export: %v", err)
		}
		c.mu.Lock()
		c.got = append(c.got, &req)
		c.mu.Unlock()
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", protobufContentType)
		w.Write(out)
	}))
	t.Cleanup(c.Close)
	return c
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func testExporter(t *testing.T, env map[string]string) *otlpExporter {
	t.Helper()
	cfg, err := newOTLPConfig(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	cfg.retry = retryPolicy{initial: time.Millisecond, max: 4 * time.Millisecond, maxElapsed: 5 * time.Second}
	return newOTLPExporter(cfg)
}

// A span with every kind of field reaches the collector as the SDK made
// it, gzipped and with the configured headers.
func TestOTLPExportsEverySpanField(t *testing.T) {
	c := newCollector(t)
	exp := testExporter(t, map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":    c.URL + "/otel/",
		"OTEL_EXPORTER_OTLP_HEADERS":     "authorization=Bearer%20s3cret, x-tenant = blue ,malformed",
		"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
	})
	res := resource.NewSchemaless(attribute.String("service.name", "parley-test"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
	defer tp.Shutdown(context.Background())

	parent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5}, TraceFlags: trace.FlagsSampled, Remote: true,
	})
	linked := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{9}, SpanID: trace.SpanID{8}})
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), parent)
	_, span := tp.Tracer("parley/test", trace.WithInstrumentationVersion("v1")).Start(ctx, "POST /v1/chat/completions",
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithLinks(trace.Link{SpanContext: linked, Attributes: []attribute.KeyValue{attribute.Bool("retry", true)}}),
		trace.WithAttributes(
			attribute.String("s", "x"), attribute.Int("i", 7), attribute.Float64("f", 0.5), attribute.Bool("b", true),
			attribute.StringSlice("ss", []string{"a", "b"}), attribute.Int64Slice("is", []int64{1, 2}),
		))
	span.AddEvent("first token", trace.WithAttributes(attribute.Int("tokens", 1)))
	span.SetStatus(codes.Error, "upstream failed")
	span.End()

	if len(c.got) != 1 {
		t.Fatalf("collector got %d requests, want 1", len(c.got))
	}
	r := c.requests[0]
	if r.URL.Path != "/otel/v1/traces" || r.Header.Get("Authorization") != "Bearer s3cret" || r.Header.Get("X-Tenant") != "blue" ||
		r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("Content-Type") != protobufContentType {
		t.Errorf("request %s with headers %v", r.URL.Path, r.Header)
	}
	rs := c.got[0].GetResourceSpans()
	if len(rs) != 1 || len(rs[0].GetScopeSpans()) != 1 || len(rs[0].GetScopeSpans()[0].GetSpans()) != 1 {
		t.Fatalf("got %v", c.got[0])
	}
	if a := rs[0].GetResource().GetAttributes(); len(a) != 1 || a[0].GetValue().GetStringValue() != "parley-test" {
		t.Errorf("resource attributes %v", a)
	}
	scope := rs[0].GetScopeSpans()[0].GetScope()
	if scope.GetName() != "parley/test" || scope.GetVersion() != "v1" {
		t.Errorf("scope %v", scope)
	}
	s := rs[0].GetScopeSpans()[0].GetSpans()[0]
	if hex.EncodeToString(s.GetTraceId()) != "01020300000000000000000000000000" || hex.EncodeToString(s.GetParentSpanId()) != "0405000000000000" ||
		len(s.GetSpanId()) != 8 || s.GetName() != "POST /v1/chat/completions" || s.GetKind() != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("span ids, name or kind: %v", s)
	}
	if want := uint32(0x301); s.GetFlags() != want { // sampled, remote parent
		t.Errorf("flags %#x, want %#x", s.GetFlags(), want)
	}
	if s.GetStartTimeUnixNano() == 0 || s.GetEndTimeUnixNano() < s.GetStartTimeUnixNano() {
		t.Errorf("times %d..%d", s.GetStartTimeUnixNano(), s.GetEndTimeUnixNano())
	}
	attrs := map[string]string{}
	for _, kv := range s.GetAttributes() {
		attrs[kv.GetKey()] = kv.GetValue().String()
	}
	for k, want := range map[string]string{"s": `string_value:"x"`, "i": "int_value:7", "f": "double_value:0.5", "b": "bool_value:true",
		"ss": `array_value:{values:{string_value:"a"} values:{string_value:"b"}}`, "is": "array_value:{values:{int_value:1} values:{int_value:2}}"} {
		if got := strings.Join(strings.Fields(attrs[k]), " "); got != want {
			t.Errorf("attribute %s = %s, want %s", k, got, want)
		}
	}
	if ev := s.GetEvents(); len(ev) != 1 || ev[0].GetName() != "first token" || ev[0].GetAttributes()[0].GetValue().GetIntValue() != 1 || ev[0].GetTimeUnixNano() == 0 {
		t.Errorf("events %v", ev)
	}
	if l := s.GetLinks(); len(l) != 1 || hex.EncodeToString(l[0].GetSpanId()) != "0800000000000000" || !l[0].GetAttributes()[0].GetValue().GetBoolValue() || l[0].GetFlags() != 0x100 {
		t.Errorf("links %v", l)
	}
	if st := s.GetStatus(); st.GetCode() != tracepb.Status_STATUS_CODE_ERROR || st.GetMessage() != "upstream failed" {
		t.Errorf("status %v", st)
	}
}

func oneSpan(t *testing.T) []sdktrace.ReadOnlySpan {
	t.Helper()
	var spans []sdktrace.ReadOnlySpan
	rec := spanRecorder{&spans}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(rec))
	_, s := tp.Tracer("t").Start(context.Background(), "s")
	s.End()
	return spans
}

type spanRecorder struct{ spans *[]sdktrace.ReadOnlySpan }

func (r spanRecorder) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	*r.spans = append(*r.spans, s...)
	return nil
}
func (spanRecorder) Shutdown(context.Context) error { return nil }

// A collector that is restarting or busy is asked again; one that
// refuses the export is not, and its answer is in the error, without the
// headers' secrets.
func TestOTLPRetriesAndErrors(t *testing.T) {
	spans := oneSpan(t)
	env := func(c *collector) map[string]string {
		return map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": c.URL + "/v1/traces", "OTEL_EXPORTER_OTLP_HEADERS": "authorization=s3cret"}
	}

	t.Run("busy, then accepted", func(t *testing.T) {
		c := newCollector(t)
		c.answer = func(w http.ResponseWriter, n int) bool {
			if n > 2 {
				return false
			}
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", []int{http.StatusServiceUnavailable, http.StatusTooManyRequests}[n-1])
			return true
		}
		if err := testExporter(t, env(c)).ExportSpans(context.Background(), spans); err != nil {
			t.Fatal(err)
		}
		if len(c.requests) != 3 || len(c.got) != 1 {
			t.Errorf("%d requests, %d decoded; want 3 and 1", len(c.requests), len(c.got))
		}
	})

	t.Run("refused", func(t *testing.T) {
		c := newCollector(t)
		c.answer = func(w http.ResponseWriter, n int) bool {
			http.Error(w, "bad\nspans", http.StatusBadRequest)
			return true
		}
		err := testExporter(t, env(c)).ExportSpans(context.Background(), spans)
		if err == nil || !strings.Contains(err.Error(), "400 Bad Request: bad spans") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error %v", err)
		}
		if len(c.requests) != 1 {
			t.Errorf("%d requests, want 1", len(c.requests))
		}
	})

	t.Run("partly rejected", func(t *testing.T) {
		c := newCollector(t)
		c.answer = func(w http.ResponseWriter, n int) bool {
			out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{PartialSuccess: &collectortrace.ExportTracePartialSuccess{
				RejectedSpans: 2, ErrorMessage: "too old"}})
			w.Header().Set("Content-Type", protobufContentType)
			w.Write(out)
			return true
		}
		err := testExporter(t, env(c)).ExportSpans(context.Background(), spans)
		if err == nil || !strings.Contains(err.Error(), "rejected 2 spans: too old") {
			t.Errorf("error %v", err)
		}
	})

	t.Run("busy until the export's deadline", func(t *testing.T) {
		c := newCollector(t)
		c.answer = func(w http.ResponseWriter, n int) bool {
			w.Header().Set("Retry-After", "30")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return true
		}
		exp := testExporter(t, env(c))
		exp.cfg.retry.maxElapsed = time.Hour
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := exp.ExportSpans(ctx, spans)
		if err == nil || !strings.Contains(err.Error(), "503") || time.Since(start) > 10*time.Second {
			t.Errorf("error %v after %s", err, time.Since(start))
		}
	})

	t.Run("shut down", func(t *testing.T) {
		exp := testExporter(t, nil)
		if err := exp.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := exp.ExportSpans(context.Background(), spans); err == nil {
			t.Error("an export after Shutdown succeeded")
		}
	})
}

func TestOTLPConfig(t *testing.T) {
	for _, tc := range []struct {
		env     map[string]string
		url     string
		timeout time.Duration
		err     string
	}{
		{nil, "http://localhost:4318/v1/traces", 10 * time.Second, ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c.example:4318"}, "https://c.example:4318/v1/traces", 10 * time.Second, ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c/base/", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:9/custom"},
			"http://t:9/custom", 10 * time.Second, ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "2500", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "500"}, "http://localhost:4318/v1/traces", 500 * time.Millisecond, ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "c:4318"}, "", 0, "want an http:// or https:// URL"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://u:pw@c"}, "", 0, "ftp://u:xxxxx@c"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "10s"}, "", 0, "milliseconds"},
		{map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}, "", 0, "gzip or none"},
		{map[string]string{"OTEL_EXPORTER_OTLP_CLIENT_KEY": "k.pem"}, "", 0, "together"},
		{map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": "/nonexistent/ca.pem"}, "", 0, "no such file"},
	} {
		cfg, err := newOTLPConfig(envOf(tc.env))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), ":pw@") {
				t.Errorf("%v: error %v, want one saying %q", tc.env, err, tc.err)
			}
			continue
		}
		if err != nil || cfg.url.String() != tc.url || cfg.timeout != tc.timeout {
			t.Errorf("%v: %v, %v, %v; want %s, %v", tc.env, cfg.url, cfg.timeout, err, tc.url, tc.timeout)
		}
	}
}
