package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/conversation"
	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/openai"
	"github.com/parley-chat/parley/internal/store/sqlite"
	"github.com/parley-chat/parley/internal/testupstream"
)

// env is a real api service: SQLite in a temp dir, the OpenAI client
// against a fake model server, served on 127.0.0.1.
type env struct {
	t     *testing.T
	up    *testupstream.Server
	store *sqlite.DB
	svc   *conversation.Service
	srv   *httptest.Server
	// client sends the requests of do, call and open; in password mode
	// tests sign it in (it keeps cookies) or give it a key.
	client *http.Client
	// bearer, when set, is sent as Authorization: Bearer.
	bearer string
}

type envOptions struct {
	api      api.Config
	svc      conversation.Config
	accounts account.Config
	// auth is the mode; "" is none, as every test before accounts.
	auth     string
	upstream []testupstream.Option
	v1       http.Handler
}

// cheapPasswords make password hashes fast: tests hash many.
var cheapPasswords = account.PasswordParams{Memory: 64, Time: 1, Threads: 1}

// newAuth returns the account service and authenticator of mode over db.
func newAuth(t testing.TB, db *sqlite.DB, mode string, cfg account.Config) (*account.Service, *auth.Authenticator) {
	t.Helper()
	if cfg.Password == (account.PasswordParams{}) {
		cfg.Password = cheapPasswords
	}
	accounts := account.NewService(db, cfg, slog.New(slog.DiscardHandler))
	authn, err := auth.New(auth.Config{TrustedProxies: "127.0.0.1"}, mode, accounts, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return accounts, authn
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "api.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return newEnvOn(t, db, o)
}

// newEnvOn is newEnv over an open database, as an api started again on it.
func newEnvOn(t *testing.T, db *sqlite.DB, o envOptions) *env {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	up := testupstream.New(t, o.upstream...)
	gen := openai.NewClient(up.URL, "", nil)
	svc := conversation.NewService(db, gen, o.svc, log)
	if o.auth == "" {
		o.auth = auth.ModeNone
	}
	accounts, authn := newAuth(t, db, o.auth, o.accounts)
	srv := httptest.NewServer(httpx.Middleware(log, api.New(o.api, svc, accounts, authn, gen, o.v1, log)))
	t.Cleanup(srv.Close)
	// Runs first: ends hanging replies so their streams (and srv.Close) end.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		svc.Shutdown(ctx)
	})
	return &env{t: t, up: up, store: db, svc: svc, srv: srv, client: &http.Client{}}
}

// do sends a request with a raw body ("" for none) and returns the
// response with its body read.
func (e *env) do(method, path, body string) (*http.Response, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.send(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, b
}

// call is do that expects status and decodes the JSON answer into out (if
// not nil).
func (e *env) call(method, path, body string, status int, out any) {
	e.t.Helper()
	resp, b := e.do(method, path, body)
	if resp.StatusCode != status {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.StatusCode, status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// open sends a request and returns the response with its body unread,
// for streams.
func (e *env) open(ctx context.Context, method, path, body string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.send(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// send sends req as the env's client, with its key if it has one.
func (e *env) send(req *http.Request) (*http.Response, error) {
	if e.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+e.bearer)
	}
	return e.client.Do(req)
}

func (e *env) create(body string) chat.Conversation {
	e.t.Helper()
	var c chat.Conversation
	e.call("POST", "/api/conversations", body, http.StatusCreated, &c)
	return c
}

// shown is GET /api/conversations/{id}'s answer.
type shown struct {
	chat.Conversation
	Running bool `json:"running"`
}

func (e *env) get(id string) shown {
	e.t.Helper()
	var c shown
	e.call("GET", "/api/conversations/"+id, "", http.StatusOK, &c)
	return c
}

// waitIdle waits for the running reply of a conversation of the local
// user, if any, to end.
func (e *env) waitIdle(id string) {
	e.t.Helper()
	if rp, ok, _ := e.svc.Join(e.t.Context(), account.LocalID, id); ok {
		if _, err := rp.Wait(e.t.Context()); err != nil && chat.KindOf(err) == chat.KindInternal {
			e.t.Logf("reply ended with %v", err)
		}
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func errorBody(t *testing.T, b []byte) httpx.ErrorDetail {
	t.Helper()
	var eb httpx.ErrorBody
	if err := json.Unmarshal(b, &eb); err != nil || eb.Error.Message == "" || eb.Error.Type == "" {
		t.Fatalf("not an error body: %s (%v)", b, err)
	}
	return eb.Error
}

// event is one server-sent event; comments have Name ":".
type event struct {
	Name string
	Data string
}

// sseReader reads events one by one.
type sseReader struct {
	t  *testing.T
	sc *bufio.Scanner
}

func newSSEReader(t *testing.T, r io.Reader) *sseReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	return &sseReader{t: t, sc: sc}
}

// next returns the next event or comment; ok is false at the end.
func (s *sseReader) next() (ev event, ok bool) {
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "":
			if ev.Name != "" || ev.Data != "" {
				return ev, true
			}
		case strings.HasPrefix(line, ":"):
			if ev.Name == "" && ev.Data == "" {
				return event{Name: ":", Data: strings.TrimSpace(line[1:])}, true
			}
		case strings.HasPrefix(line, "event: "):
			ev.Name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.Data += strings.TrimPrefix(line, "data: ")
		default:
			s.t.Fatalf("unexpected SSE line %q", line)
		}
	}
	return ev, false
}

// nextEvent skips comments.
func (s *sseReader) nextEvent() (event, bool) {
	for {
		ev, ok := s.next()
		if !ok || ev.Name != ":" {
			return ev, ok
		}
	}
}

func decode[T any](t *testing.T, data string) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader([]byte(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return v
}

type delta struct {
	MessageID string `json:"message_id"`
	Content   string `json:"content"`
}

// stream is a whole reply stream, read to its end.
type stream struct {
	names     []string
	user      *chat.Message
	assistant chat.Message
	text      string // the deltas joined
	done      *chat.Message
	comments  int
}

func readStream(t *testing.T, r io.Reader) stream {
	t.Helper()
	var st stream
	sr := newSSEReader(t, r)
	for {
		ev, ok := sr.next()
		if !ok {
			return st
		}
		if ev.Name == ":" {
			st.comments++
			continue
		}
		st.names = append(st.names, ev.Name)
		switch ev.Name {
		case "user":
			m := decode[chat.Message](t, ev.Data)
			st.user = &m
		case "assistant":
			st.assistant = decode[chat.Message](t, ev.Data)
		case "delta":
			d := decode[delta](t, ev.Data)
			if d.MessageID != st.assistant.ID {
				t.Fatalf("delta for message %q, assistant is %q", d.MessageID, st.assistant.ID)
			}
			st.text += d.Content
		case "done":
			m := decode[chat.Message](t, ev.Data)
			st.done = &m
		default:
			t.Fatalf("unknown event %q", ev.Name)
		}
	}
}

// shape is the event names with the deltas collapsed, e.g.
// "user assistant delta* done".
func (s stream) shape() string {
	var out []string
	for _, n := range s.names {
		if n == "delta" {
			if len(out) > 0 && out[len(out)-1] == "delta*" {
				continue
			}
			n = "delta*"
		}
		out = append(out, n)
	}
	return strings.Join(out, " ")
}

type testupstreamOptions = testupstream.Options
