package obs

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestNewLogger(t *testing.T) {
	tests := []struct {
		cfg     LogConfig
		wantErr bool
		json    bool
	}{
		{LogConfig{}, false, true}, // a buffer is not a terminal
		{LogConfig{Format: "json", Level: "debug"}, false, true},
		{LogConfig{Format: "text", Level: "warn"}, false, false},
		{LogConfig{Format: "yaml"}, true, false},
		{LogConfig{Level: "loud"}, true, false},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		log, err := NewLogger(&buf, tt.cfg)
		if (err != nil) != tt.wantErr {
			t.Fatalf("%+v: err = %v", tt.cfg, err)
		}
		if err != nil {
			continue
		}
		log.Error("hello", "k", "v")
		line := strings.TrimSpace(buf.String())
		if isJSON := json.Valid([]byte(line)); isJSON != tt.json {
			t.Errorf("%+v: line %q json=%v, want %v", tt.cfg, line, isJSON, tt.json)
		}
	}
}

// A record logged inside a trace carries its ids; one outside, none.
func TestLogsCarryTraceIDs(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, LogConfig{Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	log.InfoContext(ctx, "in a trace", "request_id", "r1")
	log.InfoContext(context.Background(), "outside")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var in, out map[string]any
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &in) != nil || json.Unmarshal([]byte(lines[1]), &out) != nil {
		t.Fatalf("log: %q", buf.String())
	}
	if in["trace_id"] != tid.String() || in["span_id"] != sid.String() || in["request_id"] != "r1" {
		t.Errorf("inside a trace: %v", in)
	}
	if _, ok := out["trace_id"]; ok {
		t.Errorf("outside a trace: %v", out)
	}
}
