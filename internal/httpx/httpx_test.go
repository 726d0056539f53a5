package httpx

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
)

func TestDecodeJSON(t *testing.T) {
	type body struct {
		Message string `json:"message"`
	}
	tests := []struct {
		name string
		in   string
		kind chat.Kind
		ok   bool
	}{
		{"valid", `{"message":"hi"}`, 0, true},
		{"empty", ``, chat.KindInvalid, false},
		{"malformed", `{"message":`, chat.KindInvalid, false},
		{"syntax", `{"message" "x"}`, chat.KindInvalid, false},
		{"unknown field", `{"message":"hi","extra":1}`, chat.KindInvalid, false},
		{"wrong type", `{"message":5}`, chat.KindInvalid, false},
		{"not an object", `[1,2]`, chat.KindInvalid, false},
		{"trailing data", `{"message":"a"}{"message":"b"}`, chat.KindInvalid, false},
		{"too large", `{"message":"` + strings.Repeat("x", 100) + `"}`, chat.KindTooLarge, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tt.in))
			var b body
			err := DecodeJSON(r, &b, 64)
			if tt.ok {
				if err != nil {
					t.Fatalf("DecodeJSON: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("DecodeJSON accepted bad input")
			}
			if got := chat.KindOf(err); got != tt.kind {
				t.Fatalf("kind = %v, want %v (%v)", got, tt.kind, err)
			}
		})
	}
}

func TestWriteErrorHidesInternals(t *testing.T) {
	tests := []struct {
		err    error
		status int
		msg    string
	}{
		{chat.Errorf(chat.KindNotFound, "conversation not found"), 404, "conversation not found"},
		{chat.E(chat.KindUnavailable, "model service unavailable", io.ErrUnexpectedEOF), 503, "model service unavailable"},
		{io.ErrUnexpectedEOF, 500, "internal error"},
		{chat.Errorf(chat.KindRateLimited, "slow down"), 429, "slow down"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		WriteError(rec, httptest.NewRequest("GET", "/", nil), slog.New(slog.DiscardHandler), tt.err)
		if rec.Code != tt.status {
			t.Errorf("%v: status %d, want %d", tt.err, rec.Code, tt.status)
		}
		var body ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("body %q: %v", rec.Body, err)
		}
		if body.Error.Message != tt.msg || body.Error.Type == "" {
			t.Errorf("%v: body %+v, want message %q", tt.err, body, tt.msg)
		}
	}
}

func TestMiddlewareRequestIDAndRecovery(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	var seen string
	h := Middleware(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = RequestID(r.Context())
		if r.URL.Path == "/panic" {
			panic("boom")
		}
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	req.Header.Set(HeaderRequestID, "abc-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if seen != "abc-123" || resp.Header.Get(HeaderRequestID) != "abc-123" {
		t.Fatalf("request id not passed through: ctx %q header %q", seen, resp.Header.Get(HeaderRequestID))
	}

	req, _ = http.NewRequest("GET", srv.URL+"/", nil)
	req.Header.Set(HeaderRequestID, "bad id")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get(HeaderRequestID); got == "" || strings.Contains(got, "bad") {
		t.Fatalf("invalid request id not replaced: %q", got)
	}

	resp, err = http.Get(srv.URL + "/panic")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Fatalf("panic answered %d, want 500", resp.StatusCode)
	}
}

func TestTransportPropagatesRequestID(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get(HeaderRequestID)
	}))
	defer srv.Close()
	c := &http.Client{Transport: Transport(nil)}
	req, _ := http.NewRequestWithContext(WithRequestID(t.Context(), "rid-7"), "GET", srv.URL, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got != "rid-7" {
		t.Fatalf("upstream saw request id %q, want rid-7", got)
	}
}

// A handler that proxies to another Parley service copies that service's
// echo of the id; the client must still see it once.
func TestMiddlewareEchoesRequestIDOnce(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	inner := httptest.NewServer(Middleware(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})))
	defer inner.Close()
	client := &http.Client{Transport: Transport(nil)}
	tests := []struct {
		name  string
		write func(w http.ResponseWriter, upstream *http.Response)
	}{
		{"WriteHeader", func(w http.ResponseWriter, up *http.Response) {
			w.WriteHeader(http.StatusAccepted)
		}},
		{"Write", func(w http.ResponseWriter, up *http.Response) { io.Copy(w, up.Body) }},
		{"Flush", func(w http.ResponseWriter, up *http.Response) { w.(http.Flusher).Flush() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outer := httptest.NewServer(Middleware(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				req, _ := http.NewRequestWithContext(r.Context(), "GET", inner.URL, nil)
				up, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer up.Body.Close()
				for _, v := range up.Header.Values(HeaderRequestID) {
					w.Header().Add(HeaderRequestID, v) // as httputil.ReverseProxy does
				}
				tt.write(w, up)
			})))
			defer outer.Close()
			req, _ := http.NewRequest("GET", outer.URL, nil)
			req.Header.Set(HeaderRequestID, "once-1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Values(HeaderRequestID); len(got) != 1 || got[0] != "once-1" {
				t.Fatalf("%s = %q, want [once-1]", HeaderRequestID, got)
			}
		})
	}
}

// A proxy aborts (panics with http.ErrAbortHandler) when its client goes
// away mid-answer; the request must still get its access-log line.
func TestMiddlewareLogsAbortedRequests(t *testing.T) {
	var logs strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
	srv := httptest.NewServer(Middleware(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		panic(http.ErrAbortHandler)
	})))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/stream", nil)
	req.Header.Set(HeaderRequestID, "aborted-1")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	srv.Close() // waits for the handler, and so for its log line
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), `"request_id":"aborted-1"`) || !strings.Contains(logs.String(), `"aborted":true`) {
		t.Fatalf("no access log line for the aborted request:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "panic serving request") {
		t.Fatalf("an abort was logged as a panic:\n%s", logs.String())
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A 400 speaks JSON, not Go: no Go type names, no names of embedded Go
// structs in the field path.
func TestDecodeJSONMessagesSpeakJSON(t *testing.T) {
	type Inner struct {
		MaxTokens *int `json:"max_tokens"`
	}
	type msg struct {
		Role string `json:"role"`
	}
	type body struct {
		Messages []msg  `json:"messages"`
		Stream   bool   `json:"stream"`
		Title    string `json:"title"`
		Inner
	}
	tests := []struct{ in, want string }{
		{`{"messages":"hi"}`, `field "messages": expected an array, got a string`},
		{`{"max_tokens":"5"}`, `field "max_tokens": expected an integer, got a string`},
		{`{"max_tokens":1.5}`, `field "max_tokens": expected an integer, got a number`},
		{`{"stream":"yes"}`, `field "stream": expected true or false, got a string`},
		{`{"title":7}`, `field "title": expected a string, got a number`},
		{`{"messages":[{"role":5}]}`, `field "messages.role": expected a string, got a number`},
		{`{"messages":[5]}`, `field "messages": expected an object, got a number`},
		{`[1]`, `request body must be a JSON object`},
	}
	for _, tt := range tests {
		var b body
		err := DecodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(tt.in)), &b, 1<<10)
		if got := chat.MessageOf(err); got != tt.want {
			t.Errorf("%s: message %q, want %q", tt.in, got, tt.want)
		}
	}
}
