package openai_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/openai"
)

// A server that reports an error inside a 200 answer gets it mapped like a
// status error: Parley's words, not its text.
func TestForwardMapsAnErrorIn2xx(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"error":{"message":"bad key sk-live-0123456789abcdef","type":"invalid_request_error","code":"bad_key"}}`)
	}))
	t.Cleanup(up.Close)
	c := openai.NewClient(up.URL, "", nil)
	req, err := openai.ParseRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}]}`), false, false)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Forward(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Close()
	rec := httptest.NewRecorder()
	err = resp.WriteTo(rec)
	if chat.KindOf(err) != chat.KindUpstream || strings.Contains(err.Error(), "sk-live") || strings.Contains(chat.MessageOf(err), "bad key") ||
		!strings.Contains(chat.MessageOf(err), `answered with an error (upstream error type "invalid_request_error", code "bad_key")`) {
		t.Fatalf("err = %v (%q)", err, chat.MessageOf(err))
	}
	if rec.Body.Len() != 0 {
		t.Fatalf("wrote %q", rec.Body)
	}
}
