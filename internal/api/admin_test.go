package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/account"
)

func userID(t *testing.T, e *env, name string) string {
	t.Helper()
	var list struct{ Data []account.User }
	e.call("GET", "/api/admin/users", "", 200, &list)
	for _, u := range list.Data {
		if u.Username == name {
			return u.ID
		}
	}
	t.Fatalf("no user %s in %+v", name, list.Data)
	return ""
}

func TestAdminOnly(t *testing.T) {
	_, alice, bob := twoUsers(t, envOptions{})
	bobID := userID(t, alice, "bob")
	for _, rq := range []struct{ method, path, body string }{
		{"GET", "/api/admin/users", ""},
		{"POST", "/api/admin/users", `{"username":"carol","password":"carol's password","role":"admin"}`},
		{"PATCH", "/api/admin/users/" + bobID, `{"role":"admin"}`},
		{"PATCH", "/api/admin/users/" + account.LocalID, `{"disabled":true}`},
		{"DELETE", "/api/admin/users/" + account.LocalID, ""},
	} {
		for _, who := range []*env{bob, bob.withKey(bob.newKey("k"))} {
			resp, b := who.do(rq.method, rq.path, rq.body)
			wantError(t, "bob "+rq.method+" "+rq.path, resp, b, 403, "permission_error")
		}
	}
	var me authAnswer
	bob.call("GET", "/api/auth/me", "", 200, &me)
	if me.User.Role != account.RoleUser {
		t.Fatalf("bob is %+v after trying", me)
	}
}

func TestAdminManagesAccounts(t *testing.T) {
	e, alice, bob := twoUsers(t, envOptions{})
	bobID := userID(t, alice, "bob")
	bobKey := bob.withKey(bob.newKey("bob's script"))
	bobsOwn := bob.create(`{"title":"bob's"}`)

	// Refused input.
	for _, body := range []string{
		`{"username":"carol","password":"carol's password","role":"root"}`,
		`{"username":"bob","password":"another password"}`,
		`{"username":"carol","password":"short"}`,
		`{"username":"carol"}`,
	} {
		resp, b := alice.do("POST", "/api/admin/users", body)
		if resp.StatusCode != 400 && resp.StatusCode != 409 {
			t.Errorf("POST /api/admin/users %s: %d %s", body, resp.StatusCode, b)
		}
	}
	resp, b := alice.do("PATCH", "/api/admin/users/"+bobID, `{"role":"root"}`)
	wantError(t, "an unknown role", resp, b, 400, "invalid_request_error")

	// Disabling stops bob's session and key at once, and his logins.
	var u account.User
	alice.call("PATCH", "/api/admin/users/"+bobID, `{"disabled":true}`, 200, &u)
	if !u.Disabled || u.Username != "bob" {
		t.Fatalf("disabled %+v", u)
	}
	for name, who := range map[string]*env{"session": bob, "key": bobKey} {
		resp, b := who.do("GET", "/api/conversations", "")
		wantError(t, "a disabled user's "+name, resp, b, 401, "authentication_error")
	}
	resp, b = e.anonymous().do("POST", "/api/auth/login", `{"username":"bob","password":"bob's password"}`)
	wantError(t, "a disabled user's login", resp, b, 403, "permission_error")
	// Enabled again: the key works again, the session was ended for good.
	alice.call("PATCH", "/api/admin/users/"+bobID, `{"disabled":false}`, 200, nil)
	bobKey.call("GET", "/api/conversations", "", 200, nil)
	resp, _ = bob.do("GET", "/api/conversations", "")
	if resp.StatusCode != 401 {
		t.Fatalf("a session from before the disabling: %d", resp.StatusCode)
	}

	// A new password signs bob out everywhere.
	bob, _ = e.login("bob", "bob's password")
	alice.call("PATCH", "/api/admin/users/"+bobID, `{"password":"a new password"}`, 200, nil)
	resp, _ = bob.do("GET", "/api/auth/me", "")
	if resp.StatusCode != 401 {
		t.Fatalf("a session from before the password change: %d", resp.StatusCode)
	}
	resp, _ = e.anonymous().do("POST", "/api/auth/login", `{"username":"bob","password":"bob's password"}`)
	if resp.StatusCode != 401 {
		t.Fatalf("the old password: %d", resp.StatusCode)
	}
	bob, _ = e.login("bob", "a new password")

	// Promoted, bob may manage accounts.
	alice.call("PATCH", "/api/admin/users/"+bobID, `{"role":"admin"}`, 200, nil)
	bob.call("GET", "/api/admin/users", "", 200, nil)

	// Nobody can demote, disable or delete themselves.
	for _, rq := range []struct{ method, body string }{
		{"PATCH", `{"role":"user"}`}, {"PATCH", `{"disabled":true}`}, {"DELETE", ""},
	} {
		resp, b := alice.do(rq.method, "/api/admin/users/"+account.LocalID, rq.body)
		wantError(t, "alice "+rq.method+" herself "+rq.body, resp, b, 403, "permission_error")
	}
	alice.call("GET", "/api/admin/users", "", 200, nil)

	// Deleting bob deletes his sessions, keys and conversations.
	resp, _ = alice.do("DELETE", "/api/admin/users/"+bobID, "")
	if resp.StatusCode != 204 {
		t.Fatalf("DELETE bob: %d", resp.StatusCode)
	}
	for name, who := range map[string]*env{"session": bob, "key": bobKey} {
		resp, b := who.do("GET", "/api/conversations", "")
		wantError(t, "a deleted user's "+name, resp, b, 401, "authentication_error")
	}
	alice.call("POST", "/api/admin/users", `{"username":"bob","password":"bob's password"}`, 201, nil)
	newBob, _ := e.login("bob", "bob's password")
	resp, _ = newBob.do("GET", "/api/conversations/"+bobsOwn.ID, "")
	if resp.StatusCode != 404 {
		t.Fatalf("the old bob's conversation for the new bob: %d", resp.StatusCode)
	}
	resp, b = alice.do("DELETE", "/api/admin/users/"+bobID, "")
	wantError(t, "deleting a deleted user", resp, b, 404, "not_found_error")

	var list struct{ Data []map[string]any }
	alice.call("GET", "/api/admin/users", "", 200, &list)
	raw, _ := json.Marshal(list)
	if len(list.Data) != 2 || strings.Contains(string(raw), "argon2") || strings.Contains(string(raw), "password") {
		t.Fatalf("users %s", raw)
	}
}
