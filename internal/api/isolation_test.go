package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/chat"
)

// twoUsers is an api in password mode with alice (the first account, an
// admin) and bob (a user she made), each signed in.
func twoUsers(t *testing.T, o envOptions) (e, alice, bob *env) {
	t.Helper()
	o.auth = "password"
	e = newEnv(t, o)
	alice, _ = e.signup("alice", "alice's password")
	alice.call("POST", "/api/admin/users", `{"username":"bob","password":"bob's password","role":"user"}`, 201, nil)
	bob, _ = e.login("bob", "bob's password")
	return e, alice, bob
}

// newKey makes an API key of c and returns it.
func (e *env) newKey(name string) string {
	e.t.Helper()
	var k struct{ ID, Name, Key string }
	e.call("POST", "/api/keys", `{"name":"`+name+`"}`, 201, &k)
	return k.Key
}

// Every endpoint that names a conversation answers another user's exactly
// as one that does not exist, and changes nothing of it; listings and
// searches leave it out. Bob tries both with his session and with his key.
func TestAnotherUsersConversationIsNotFound(t *testing.T) {
	_, alice, bob := twoUsers(t, envOptions{})
	c := alice.create(`{"title":"alice's secret plans"}`)
	alice.call("POST", "/api/conversations/"+c.ID+"/messages", `{"content":"the confidential part","stream":false}`, 200, nil)
	before := alice.get(c.ID)
	userMsg := before.Messages[0].ID
	_, unknown := bob.do("GET", "/api/conversations/"+chat.NewID(), "")

	bobKey := bob.withKey(bob.newKey("bob's script"))
	for _, who := range []struct {
		name string
		as   *env
	}{{"session", bob}, {"key", bobKey}} {
		base := "/api/conversations/" + c.ID
		for _, rq := range []struct{ method, path, body string }{
			{"GET", base, ""},
			{"PATCH", base, `{"title":"mine now"}`},
			{"DELETE", base, ""},
			{"POST", base + "/messages", `{"content":"hello","stream":false}`},
			{"POST", base + "/messages", `{"content":"hello"}`},
			{"POST", base + "/messages/" + userMsg + "/edit", `{"content":"rewritten"}`},
			{"POST", base + "/messages/" + userMsg + "/versions", `{"version":1}`},
			{"POST", base + "/regenerate", ``},
			{"POST", base + "/continue", ``},
			{"POST", base + "/undo", ``},
			{"POST", base + "/clear", ``},
			{"POST", base + "/stop", ``},
			{"GET", base + "/stream", ``},
			{"POST", "/chat", `{"message":"hello","conversation_id":"` + c.ID + `"}`},
		} {
			resp, b := who.as.do(rq.method, rq.path, rq.body)
			if resp.StatusCode != 404 || errorBody(t, b).Code != "conversation_not_found" {
				t.Errorf("bob (%s) %s %s: %d %s, want 404 conversation_not_found", who.name, rq.method, rq.path, resp.StatusCode, b)
			}
			if got, want := errorBody(t, b), errorBody(t, unknown); got != want {
				t.Errorf("bob (%s) %s %s: %+v, unlike an unknown id's %+v", who.name, rq.method, rq.path, got, want)
			}
		}
		for _, q := range []string{"", "?q=secret", "?q=confidential", "?limit=1"} {
			var p page
			who.as.call("GET", "/api/conversations"+q, "", 200, &p)
			if len(p.Data) != 0 {
				t.Errorf("bob (%s) lists %+v for %q", who.name, p.Data, q)
			}
		}
	}
	after := alice.get(c.ID)
	if after.Title != before.Title || len(after.Messages) != 2 || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("alice's conversation changed: %+v", after)
	}
	var p page
	alice.call("GET", "/api/conversations?q=secret", "", 200, &p)
	if len(p.Data) != 1 || p.Data[0].ID != c.ID {
		t.Fatalf("alice's own search finds %+v", p.Data)
	}
}

// While Alice's reply runs, Bob can neither see, join, stop, delete nor
// queue up behind it: to him there is nothing there.
func TestAnotherUsersRunningReply(t *testing.T) {
	_, alice, bob := twoUsers(t, envOptions{})
	c := alice.create(`{}`)
	resp, sr, text := startHanging(t, alice, c.ID, 3)
	defer resp.Body.Close()
	base := "/api/conversations/" + c.ID
	for _, rq := range []struct{ method, path, body string }{
		{"GET", base + "/stream", ""},
		{"POST", base + "/stop", ""},
		{"DELETE", base, ""},
		{"POST", base + "/messages", `{"content":"me too"}`},
		{"POST", base + "/undo", ""},
	} {
		resp, b := bob.do(rq.method, rq.path, rq.body)
		if resp.StatusCode != 404 {
			t.Errorf("bob %s %s while alice's reply runs: %d %s, want 404", rq.method, rq.path, resp.StatusCode, b)
		}
	}
	if got := alice.get(c.ID); !got.Running || got.Messages[1].Content != text {
		t.Fatalf("alice's reply after bob's attempts: %+v", got)
	}
	var stopped struct{ Stopped bool }
	alice.call("POST", base+"/stop", "", 200, &stopped)
	if ev, ok := sr.nextEvent(); !stopped.Stopped || !ok || ev.Name != "done" {
		t.Fatalf("alice's stop: %v, then %+v", stopped, ev)
	}
}

func TestAPIKeys(t *testing.T) {
	v1 := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"object":"list","data":[]}`))
	})
	e, alice, bob := twoUsers(t, envOptions{v1: v1})
	resp, b := alice.do("POST", "/api/keys", `{"name":"nightly report"}`)
	var made map[string]any
	if err := json.Unmarshal(b, &made); resp.StatusCode != 201 || err != nil {
		t.Fatalf("POST /api/keys: %d %s", resp.StatusCode, b)
	}
	key, _ := made["key"].(string)
	if !strings.HasPrefix(key, account.KeyPrefix) || made["name"] != "nightly report" || made["id"] == "" || made["created_at"] == "" || len(made) != 4 {
		t.Fatalf("made %s", b)
	}
	resp, b = alice.do("GET", "/api/keys", "")
	if resp.StatusCode != 200 || !strings.Contains(string(b), "nightly report") || strings.Contains(string(b), key) ||
		strings.Contains(string(b), key[len(account.KeyPrefix):]) {
		t.Fatalf("GET /api/keys: %d %s (the key must not be shown again)", resp.StatusCode, b)
	}

	// The key acts as alice on /api, /chat and /v1.
	prog := e.withKey(key)
	made2 := prog.create(`{"title":"made by a program"}`)
	var chatted struct {
		ConversationID string `json:"conversation_id"`
	}
	prog.call("POST", "/chat", `{"message":"hi there"}`, 200, &chatted)
	prog.call("GET", "/v1/models", "", 200, nil)
	var p page
	alice.call("GET", "/api/conversations", "", 200, &p)
	if len(p.Data) != 2 || p.Data[0].ID != chatted.ConversationID || p.Data[1].ID != made2.ID {
		t.Fatalf("alice lists %+v, want the key's two conversations", p.Data)
	}
	var me authAnswer
	prog.call("GET", "/api/auth/me", "", 200, &me)
	if me.User.Username != "alice" {
		t.Fatalf("the key is %+v", me)
	}

	// Bob neither sees nor deletes it.
	var bobs struct{ Data []any }
	bob.call("GET", "/api/keys", "", 200, &bobs)
	if len(bobs.Data) != 0 {
		t.Fatalf("bob lists %v", bobs.Data)
	}
	id, _ := made["id"].(string)
	resp, b = bob.do("DELETE", "/api/keys/"+id, "")
	wantError(t, "bob deletes alice's key", resp, b, 404, "not_found_error")
	prog.call("GET", "/api/conversations", "", 200, nil)

	for _, bad := range []string{"pk-" + strings.Repeat("A", 43), "unused", key + "x", strings.TrimPrefix(key, account.KeyPrefix)} {
		resp, b := e.withKey(bad).do("GET", "/api/conversations", "")
		wantError(t, "key "+bad, resp, b, 401, "authentication_error")
	}
	for _, h := range []string{"Basic YWxpY2U6cGFzcw==", "Token " + key, "Bearer"} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/conversations", nil)
		req.Header.Set("Authorization", h)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("Authorization: %s: %d, want 401", h, resp.StatusCode)
		}
	}

	// A deleted key stops at once.
	resp, _ = alice.do("DELETE", "/api/keys/"+id, "")
	if resp.StatusCode != 204 {
		t.Fatalf("DELETE /api/keys/%s: %d", id, resp.StatusCode)
	}
	for _, path := range []string{"/api/conversations", "/v1/models"} {
		resp, b := prog.do("GET", path, "")
		wantError(t, "a deleted key on "+path, resp, b, 401, "authentication_error")
	}
	resp, b = prog.do("POST", "/chat", `{"message":"still there?"}`)
	wantError(t, "a deleted key on /chat", resp, b, 401, "authentication_error")

	resp, b = alice.do("POST", "/api/keys", `{"name":""}`)
	wantError(t, "a key without a name", resp, b, 400, "invalid_request_error")
}
