package obs

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/protobuf/encoding/protowire"
)

// otlpExporter posts spans to an OTLP/HTTP collector in protobuf
// (http/protobuf), configured by the standard OTEL_EXPORTER_OTLP_*
// variables. It stands in for the OpenTelemetry project's otlptracehttp,
// which brings gRPC and its gateway into the binary for the request
// message it posts: some sixty package initialisers and 2 MB that every
// process pays at start and in resident memory, tracing on or off.
// The spans are the SDK's; only their encoding (otlpspans.go) and the POST
// are here.
type otlpExporter struct {
	cfg    otlpConfig
	client *http.Client
	closed atomic.Bool
}

// otlpConfig is the exporter's part of the environment, as the
// OpenTelemetry specification defines it (signal-specific variables win).
type otlpConfig struct {
	url         *url.URL
	headers     http.Header
	timeout     time.Duration // per POST
	gzip        bool
	tls         *tls.Config // nil: the system's roots
	retry       retryPolicy
	maxRespBody int64
}

// retryPolicy is otlptracehttp's default: a collector that is busy or
// restarting (429, 502, 503, 504, or a connection that failed) is asked
// again with growing, jittered waits, or after its Retry-After, until
// maxElapsed has passed or the export's context ends.
type retryPolicy struct {
	initial, max, maxElapsed time.Duration
}

const (
	defaultOTLPEndpoint = "http://localhost:4318"
	otlpTracesPath      = "/v1/traces"
	protobufContentType = "application/x-protobuf"
)

// otlpEnv returns the signal-specific variable OTEL_EXPORTER_OTLP_TRACES_x
// when set, else OTEL_EXPORTER_OTLP_x.
func otlpEnv(getenv func(string) string, x string) string {
	if v := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_" + x)); v != "" {
		return v
	}
	return strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_" + x))
}

// newOTLPConfig reads the exporter's variables. The endpoint's URL is the
// traces endpoint as given, or the general endpoint with /v1/traces
// appended.
func newOTLPConfig(getenv func(string) string) (otlpConfig, error) {
	cfg := otlpConfig{
		timeout:     10 * time.Second,
		retry:       retryPolicy{initial: 5 * time.Second, max: 30 * time.Second, maxElapsed: time.Minute},
		maxRespBody: 64 << 10,
	}
	raw, base := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")), false
	if raw == "" {
		raw, base = strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")), true
	}
	if raw == "" {
		raw = defaultOTLPEndpoint
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, fmt.Errorf("OTLP endpoint %q: want an http:// or https:// URL such as %s", redactURL(raw), defaultOTLPEndpoint)
	}
	if base {
		u.Path = strings.TrimSuffix(u.Path, "/") + otlpTracesPath
	} else if u.Path == "" {
		u.Path = "/"
	}
	cfg.url = u
	cfg.headers = parseOTLPHeaders(otlpEnv(getenv, "HEADERS"))
	if v := otlpEnv(getenv, "TIMEOUT"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return cfg, fmt.Errorf("OTEL_EXPORTER_OTLP_TIMEOUT=%s: want a positive number of milliseconds", v)
		}
		cfg.timeout = time.Duration(ms) * time.Millisecond
	}
	switch v := strings.ToLower(otlpEnv(getenv, "COMPRESSION")); v {
	case "", "none":
	case "gzip":
		cfg.gzip = true
	default:
		return cfg, fmt.Errorf("OTEL_EXPORTER_OTLP_COMPRESSION=%s: want gzip or none", v)
	}
	cfg.tls, err = otlpTLS(otlpEnv(getenv, "CERTIFICATE"), otlpEnv(getenv, "CLIENT_CERTIFICATE"), otlpEnv(getenv, "CLIENT_KEY"))
	return cfg, err
}

// parseOTLPHeaders reads key=value pairs separated by commas, values
// percent-encoded (the specification's format); malformed pairs are
// skipped, as the SDKs do.
func parseOTLPHeaders(s string) http.Header {
	h := http.Header{}
	for pair := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			continue
		}
		if dv, err := url.PathUnescape(strings.TrimSpace(v)); err == nil {
			h.Set(k, dv)
		}
	}
	return h
}

// otlpTLS builds the client's TLS settings from PEM files: a CA to trust
// and a client certificate and key for mutual TLS.
func otlpTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	if caFile == "" && certFile == "" && keyFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("OTLP certificate: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("OTLP certificate %s: no PEM certificate in it", caFile)
		}
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("OTLP client certificate: set OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY together")
	}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("OTLP client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

func newOTLPExporter(cfg otlpConfig) *otlpExporter {
	tr := http.DefaultTransport.(*http.Transport).Clone() // proxies from the environment, as the SDK's
	tr.TLSClientConfig = cfg.tls
	tr.MaxIdleConnsPerHost = 2 // one batch at a time, and Shutdown's flush
	return &otlpExporter{cfg: cfg, client: &http.Client{Transport: tr, Timeout: cfg.timeout}}
}

// ExportSpans posts one batch; the SDK's batch processor calls it from
// one goroutine at a time and reports its error to OpenTelemetry's error
// handler.
func (e *otlpExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if e.closed.Load() {
		return errors.New("OTLP exporter is shut down")
	}
	if len(spans) == 0 {
		return nil
	}
	body, err := encodeTraceRequest(spans)
	if err != nil {
		return err
	}
	if e.cfg.gzip {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(body)
		if err := zw.Close(); err != nil {
			return fmt.Errorf("OTLP export: compressing: %w", err)
		}
		body = b.Bytes()
	}
	return e.post(ctx, body)
}

// post sends body, again while the collector asks to be retried.
func (e *otlpExporter) post(ctx context.Context, body []byte) error {
	start, wait := time.Now(), e.cfg.retry.initial
	for {
		after, err := e.postOnce(ctx, body)
		if after < 0 {
			return err // done, or not worth retrying
		}
		// Jitter of ±50%, so that many processes a collector dropped do
		// not come back together.
		d := wait/2 + rand.N(wait+1)
		d = max(d, after)
		if time.Since(start)+d > e.cfg.retry.maxElapsed {
			return fmt.Errorf("%w (gave up retrying after %s)", err, time.Since(start).Round(time.Millisecond))
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (then: %w)", err, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, e.cfg.retry.max)
	}
}

// postOnce makes one POST. after is -1 when the export is over (err says
// how), else how long the collector asked to be left alone (0: not said).
func (e *otlpExporter) postOnce(ctx context.Context, body []byte) (after time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.url.String(), bytes.NewReader(body))
	if err != nil {
		return -1, fmt.Errorf("OTLP export: %w", err)
	}
	for k, v := range e.cfg.headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", protobufContentType)
	req.Header.Set("User-Agent", "Parley OTLP exporter")
	if e.cfg.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	where := e.cfg.url.Redacted()
	resp, err := e.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return -1, fmt.Errorf("OTLP export to %s: %w", where, ctx.Err())
		}
		// Refused, reset or timed out: the collector may be restarting.
		return 0, fmt.Errorf("OTLP export to %s: %w", where, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	msg, err := io.ReadAll(io.LimitReader(resp.Body, e.cfg.maxRespBody))
	if err != nil {
		return 0, fmt.Errorf("OTLP export to %s: reading the answer: %w", where, err)
	}
	if resp.StatusCode/100 == 2 {
		if resp.Header.Get("Content-Type") == protobufContentType {
			if err := partialSuccess(msg); err != nil {
				return -1, fmt.Errorf("OTLP export to %s: %w", where, err)
			}
		}
		return -1, nil
	}
	err = fmt.Errorf("OTLP export to %s: %s: %s", where, resp.Status, answerText(msg))
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return retryAfter(resp.Header.Get("Retry-After")), err
	}
	return -1, err
}

// retryAfter reads a Retry-After in seconds (0 when absent or a date).
func retryAfter(v string) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

// answerText is a collector's error answer, short and on one line (it is
// usually a protobuf Status whose message is readable text).
func answerText(b []byte) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "")), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return "(no message)"
	}
	return s
}

// partialSuccess reads an ExportTraceServiceResponse: its field 1, an
// ExportTracePartialSuccess, holds rejected_spans (1) and error_message
// (2) when the collector dropped some of the spans.
func partialSuccess(b []byte) error {
	var rejected int64
	var message string
	ok := walkFields(b, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) bool {
		if num != 1 || typ != protowire.BytesType {
			return true
		}
		return walkFields(v, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) bool {
			switch {
			case num == 1 && typ == protowire.VarintType:
				rejected = int64(n)
			case num == 2 && typ == protowire.BytesType:
				message = string(v)
			}
			return true
		})
	})
	if !ok {
		return errors.New("the collector's answer is not an OTLP export response")
	}
	if rejected == 0 && message == "" {
		return nil
	}
	return fmt.Errorf("the collector rejected %d spans: %s", rejected, answerText([]byte(message)))
}

// walkFields calls f for each field of a protobuf message (v for bytes
// fields, n for varints); false when the message is malformed.
func walkFields(b []byte, f func(protowire.Number, protowire.Type, []byte, uint64) bool) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 || !f(num, typ, v, x) {
			return n >= 0
		}
		b = b[n:]
	}
	return true
}

// Shutdown stops exports; the SDK has flushed what it buffered before.
func (e *otlpExporter) Shutdown(ctx context.Context) error {
	e.closed.Store(true)
	e.client.CloseIdleConnections()
	return ctx.Err()
}

// redactURL hides a password in a URL that is to be shown.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unreadable URL)"
}
