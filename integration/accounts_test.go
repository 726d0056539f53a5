package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/parley-chat/parley/internal/sharedtest"
	"github.com/parley-chat/parley/internal/testupstream"
)

// client is one user of the web service: a browser's cookie jar, or a
// program's API key.
type client struct {
	t    *testing.T
	base string
	http *http.Client
	key  string
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar}}
}

// do sends a JSON request and decodes the answer into out (when not nil).
func (c *client) do(method, path string, body any, out any) int {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %d %q: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

// must is do that fails the test unless the status is want.
func (c *client) must(want int, method, path string, body any, out any) {
	c.t.Helper()
	var raw json.RawMessage
	if got := c.do(method, path, body, &raw); got != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, got, raw, want)
	}
	if out != nil {
		json.Unmarshal(raw, out)
	}
}

// postgresSchema returns a URL of the test server's PostgreSQL whose
// connections use a new, empty schema, dropped when the test ends.
func postgresSchema(t *testing.T) string {
	base := os.Getenv("PARLEY_TEST_POSTGRES_URL")
	if base == "" {
		sharedtest.Missing(t, "PARLEY_TEST_POSTGRES_URL not set; run .ci/postgres.sh and export the URL it prints")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "parley_it_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer conn.Close(context.Background())
		conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestSplitServicesWithAccounts runs model, api (--auth password) and web
// as processes, on SQLite and on PostgreSQL, and uses them only through
// the web service, as a browser and a program would: cookies and API keys
// must pass its proxy both ways.
func TestSplitServicesWithAccounts(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			database := filepath.Join(t.TempDir(), "parley.db")
			if db == "postgres" {
				database = postgresSchema(t)
			}
			testAccountsThroughWeb(t, database)
		})
	}
}

func testAccountsThroughWeb(t *testing.T, database string) {
	up := testupstream.New(t)
	model := start(t, "model", freeAddr(t), true, "model", "--backend", "openai", "--upstream-url", up.URL)
	api := start(t, "api", freeAddr(t), true, "api", "--model-url", model.url(), "--database", database,
		"--auth", "password", "--login-max-failures", "3")
	web := start(t, "web", freeAddr(t), true, "web", "--api-url", api.url())
	base := web.url()

	anon := newClient(t, base)
	if code := anon.do("GET", "/api/conversations", nil, nil); code != 401 {
		t.Fatalf("signed out: %d, want 401", code)
	}

	// The first signup is the admin, signed in by a cookie set through web.
	alice := newClient(t, base)
	var me struct {
		User struct{ ID, Username, Role string }
	}
	alice.must(201, "POST", "/api/auth/signup", map[string]string{"username": "alice", "password": "alice's password"}, &me)
	if me.User.Role != "admin" {
		t.Fatalf("first signup: %+v", me)
	}
	alice.must(200, "GET", "/api/auth/me", nil, &me)
	var conv conversation
	alice.must(201, "POST", "/api/conversations", map[string]string{"title": "alice's plans"}, &conv)
	var reply struct {
		Assistant message `json:"assistant_message"`
	}
	alice.must(200, "POST", "/api/conversations/"+conv.ID+"/messages", map[string]any{"content": "secret plan", "stream": false}, &reply)
	if reply.Assistant.Content != "secret plan" {
		t.Fatalf("reply %+v", reply.Assistant)
	}

	// An API key works with the OpenAI SDK, through web, on /v1.
	var key struct{ Key string }
	alice.must(201, "POST", "/api/keys", map[string]string{"name": "sdk"}, &key)
	sdk := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey(key.Key))
	res, err := sdk.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    testupstream.DefaultModel,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello over a key")},
	})
	if err != nil || res.Choices[0].Message.Content != "hello over a key" {
		t.Fatalf("SDK with a key: %v %+v", err, res)
	}
	stream := sdk.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:    testupstream.DefaultModel,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("one two three")},
	})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil || acc.Choices[0].Message.Content != "one two three" {
		t.Fatalf("SDK stream with a key: %v %+v", err, acc.Choices)
	}
	wrong := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("pk-not-a-key"), option.WithMaxRetries(0))
	_, err = wrong.Models.List(context.Background())
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Fatalf("SDK with a wrong key: %v, want a 401", err)
	}

	// Bob, made by alice, sees nothing of hers.
	alice.must(201, "POST", "/api/admin/users", map[string]string{"username": "bob", "password": "bob's password"}, nil)
	bob := newClient(t, base)
	bob.must(200, "POST", "/api/auth/login", map[string]string{"username": "bob", "password": "bob's password"}, nil)
	var e apiError
	if code := bob.do("GET", "/api/conversations/"+conv.ID, nil, &e); code != 404 || e.Error.Code != "conversation_not_found" {
		t.Fatalf("bob reads alice's conversation: %d %+v", code, e)
	}
	var page struct{ Data []conversation }
	bob.must(200, "GET", "/api/conversations?q=secret", nil, &page)
	if len(page.Data) != 0 {
		t.Fatalf("bob's search finds %+v", page.Data)
	}
	var bobKey struct{ Key string }
	bob.must(201, "POST", "/api/keys", map[string]string{"name": "bob's"}, &bobKey)
	bobProg := &client{t: t, base: base, http: http.DefaultClient, key: bobKey.Key}
	if code := bobProg.do("POST", "/chat", map[string]string{"message": "hi", "conversation_id": conv.ID}, nil); code != 404 {
		t.Fatalf("bob's key on /chat with alice's conversation: %d", code)
	}

	// Sessions are in the database: a restarted api still knows alice.
	api.terminate()
	api.restart(true)
	alice.must(200, "GET", "/api/conversations/"+conv.ID, nil, nil)

	// A disabled user is refused at once, session and key.
	var users struct {
		Data []struct{ ID, Username string }
	}
	alice.must(200, "GET", "/api/admin/users", nil, &users)
	for _, u := range users.Data {
		if u.Username == "bob" {
			alice.must(200, "PATCH", "/api/admin/users/"+u.ID, map[string]bool{"disabled": true}, nil)
		}
	}
	for name, c := range map[string]*client{"session": bob, "key": bobProg} {
		if code := c.do("GET", "/api/conversations", nil, nil); code != 401 {
			t.Errorf("disabled bob's %s: %d, want 401", name, code)
		}
	}

	// Failed logins through web are throttled (--login-max-failures 3).
	for range 3 {
		anon.do("POST", "/api/auth/login", map[string]string{"username": "alice", "password": "guessing"}, nil)
	}
	req, _ := http.NewRequest("POST", base+"/api/auth/login", strings.NewReader(`{"username":"alice","password":"alice's password"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a fourth login after three failures: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	// Logout ends the session on the server.
	alice.must(204, "POST", "/api/auth/logout", nil, nil)
	if code := alice.do("GET", "/api/auth/me", nil, nil); code != 401 {
		t.Fatalf("after logout: %d", code)
	}
}
