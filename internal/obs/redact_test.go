package obs

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

const key = "sk-proj-Zx81secretKEY0123456789"

func TestRedact(t *testing.T) {
	tests := []struct{ in, gone, keep string }{
		{"Authorization: Bearer " + key, key, "Authorization: Bearer " + Redacted},
		{"(you sent Authorization: Bearer " + key + ") please fix", key, "Authorization: Bearer " + Redacted + ") please fix"},
		{`{"error":"you sent authorization=Bearer abc.def-123"}`, "abc.def-123", "you sent"},
		{`headers: {"Authorization": "Bearer tok123456"}`, "tok123456", `"Authorization": "Bearer ` + Redacted + `"}`},
		{"bearer tok_abcdef in text", "tok_abcdef", "bearer " + Redacted},
		{"Incorrect API key provided: " + key + ".", key, "Incorrect API key provided: " + Redacted},
		{"Cookie: session=abc; theme=dark", "session=abc", "Cookie: " + Redacted},
		{"Set-Cookie: id=s3cr3t; HttpOnly", "s3cr3t", "Set-Cookie: "},
		{"x-api-key: 12345678abcd", "12345678abcd", "x-api-key: " + Redacted},
		{"login with password=hunter2&user=bob", "hunter2", "user=bob"},
		{`{"password":"hunter2","name":"bob"}`, "hunter2", `"name":"bob"`},
		{"GET https://api.example.com/v1?key=AIzaSyA-secret-value-1234567890abcdefg", "secret-value", "https://api.example.com/v1?key=" + Redacted},
		{"dial postgres://parley:pa55word@db:5432/parley", "pa55word", "postgres://parley:" + Redacted + "@db:5432/parley"},
		{"token=ghp_abcdefghijklmnopqrstuvwxyz0123", "ghp_abcdefghij", "token=" + Redacted},
		{"hf_abcdefghijklmnopqrstuvwxyz012345 pulled", "hf_abcdefghij", "pulled"},
	}
	for _, tt := range tests {
		got := Redact(tt.in)
		if strings.Contains(got, tt.gone) || !strings.Contains(got, tt.keep) {
			t.Errorf("Redact(%q) = %q; want %q gone and %q kept", tt.in, got, tt.gone, tt.keep)
		}
	}
	for _, clean := range []string{"", "request failed", "/v1/chat/completions", "prompt_tokens=12 completion_tokens=3",
		"model \"llama3\" not found", "the prompt is 40 tokens long"} {
		if got := Redact(clean); got != clean {
			t.Errorf("Redact(%q) = %q; want it unchanged", clean, got)
		}
	}
}

func TestRedactingHandler(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, LogConfig{Format: "json", Level: "debug"})
	if err != nil {
		t.Fatal(err)
	}
	cause := fmt.Errorf("model backend answered HTTP 401: %w", errors.New("Incorrect API key provided: Bearer "+key))
	log = log.With("upstream_key", key)
	log.Error("request failed: Authorization: Bearer "+key, "err", cause,
		"headers", http.Header{"Authorization": {"Bearer " + key}, "Accept": {"*/*"}},
		"password", "hunter2", "token", "t0ken", "detail", "url https://u:pw123456@h/x",
		slog.Group("req", "cookie", "a=b", "body", []byte(`{"api_key":"`+key+`"}`)),
		"status", 401)
	out := buf.String()
	for _, secret := range []string{key, "hunter2", "t0ken", "pw123456", "a=b"} {
		if strings.Contains(out, secret) {
			t.Errorf("log line leaks %q:\n%s", secret, out)
		}
	}
	for _, kept := range []string{`"status":401`, `"Accept":["*/*"]`, "model backend answered HTTP 401"} {
		if !strings.Contains(out, kept) {
			t.Errorf("log line lost %q:\n%s", kept, out)
		}
	}
}

func BenchmarkRedactingHandlerCleanLine(b *testing.B) {
	log := slog.New(NewRedactingHandler(slog.NewJSONHandler(discard{}, nil)))
	b.ReportAllocs()
	for b.Loop() {
		log.Info("http", "request_id", "0123456789abcdef01234567", "method", "POST",
			"path", "/v1/chat/completions", "status", 200, "bytes", 1234)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func BenchmarkPlainHandlerCleanLine(b *testing.B) {
	log := slog.New(slog.NewJSONHandler(discard{}, nil))
	b.ReportAllocs()
	for b.Loop() {
		log.Info("http", "request_id", "0123456789abcdef01234567", "method", "POST",
			"path", "/v1/chat/completions", "status", 200, "bytes", 1234)
	}
}
