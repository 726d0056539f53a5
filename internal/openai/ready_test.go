package openai

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// Ready asks /readyz at the root of the base URL, words a "not ready"
// answer from its checks, and asks a server without /readyz for its
// models.
func TestReady(t *testing.T) {
	var readyz, models int
	var readyBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			if readyz == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", "3")
			}
			w.WriteHeader(readyz)
			io.WriteString(w, readyBody)
		case "/v1/models":
			w.WriteHeader(models)
			io.WriteString(w, `{"data":[{"id":"m"}]}`)
		default:
			t.Errorf("unexpected %s", r.URL.Path)
		}
	}))
	t.Cleanup(srv.Close)
	tests := []struct {
		name           string
		readyz, models int
		body           string
		wantStatus     int    // of the error, 0: no error
		wantMsg        string // in the error's message
	}{
		{"ready", 200, 500, `{"status":"ready"}`, 0, ""},
		{"not ready", 503, 200, `{"status":"not ready","checks":{"db":"ok","backend":"failing: the model server is unreachable"}}`,
			503, "the model server is not ready (HTTP 503): backend failing: the model server is unreachable"},
		{"draining", 503, 200, `{"status":"draining"}`, 503, "not ready (HTTP 503): draining"},
		{"no readyz, models answer", 404, 200, "404 page not found", 0, ""},
		{"no readyz, models fail", 404, 500, "404 page not found", 500, "failed (HTTP 500)"},
	}
	for _, base := range []string{srv.URL, srv.URL + "/v1"} {
		c := NewClient(base, "", nil)
		for _, tt := range tests {
			readyz, models, readyBody = tt.readyz, tt.models, tt.body
			err := c.Ready(t.Context())
			status, wait := AnswerStatus(err)
			if tt.wantStatus == 0 && err != nil || status != tt.wantStatus || !strings.Contains(chat.MessageOf(err), tt.wantMsg) {
				t.Errorf("%s, base %s: err %v (status %d), want status %d, %q", tt.name, base, err, status, tt.wantStatus, tt.wantMsg)
			}
			if tt.readyz == 503 && (chat.KindOf(err) != chat.KindUnavailable || wait != 3*time.Second) {
				t.Errorf("%s: kind %v, Retry-After %s", tt.name, chat.KindOf(err), wait)
			}
		}
	}
	srv.Close()
	if err := NewClient(srv.URL, "", nil).Ready(t.Context()); chat.KindOf(err) != chat.KindUnavailable {
		t.Errorf("server gone: %v", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		" 120 ":                         2 * time.Minute,
		"0":                             0,
		"-3":                            0,
		"soon":                          0,
		"Fri, 02 Jan 2026 03:04:15 GMT": 10 * time.Second,
		"Fri, 02 Jan 2026 03:04:00 GMT": 0, // past
		"99999999999":                   24 * time.Hour,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("Retry-After %q = %s, want %s", v, got, want)
		}
	}
}
