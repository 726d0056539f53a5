package obs

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
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
