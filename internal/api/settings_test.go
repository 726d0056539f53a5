package api_test

import (
	"testing"
)

// An admin opens and closes signup while the service runs; the stored
// setting wins over --signup, and only an admin may read or change it.
func TestAdminSignupSetting(t *testing.T) {
	e, alice, bob := twoUsers(t, envOptions{})
	type settings struct {
		Signup string `json:"signup"`
	}
	type options struct {
		Signup bool `json:"signup"`
		Setup  bool `json:"setup"`
	}
	var st settings
	alice.call("GET", "/api/admin/settings", "", 200, &st)
	if st.Signup != "closed" {
		t.Fatalf("settings with --signup closed and nothing stored: %+v", st)
	}
	var opts options
	e.anonymous().call("GET", "/api/auth/options", "", 200, &opts)
	if opts.Signup || opts.Setup {
		t.Fatalf("options with an admin and signup closed: %+v", opts)
	}
	resp, b := e.anonymous().do("POST", "/api/auth/signup", `{"username":"carol","password":"carol's password"}`)
	wantError(t, "signup while closed", resp, b, 403, "permission_error")

	for _, who := range []*env{bob, bob.withKey(bob.newKey("k"))} {
		resp, b := who.do("PATCH", "/api/admin/settings", `{"signup":"open"}`)
		wantError(t, "bob opens signup", resp, b, 403, "permission_error")
		resp, b = who.do("GET", "/api/admin/settings", "")
		wantError(t, "bob reads settings", resp, b, 403, "permission_error")
	}
	resp, b = alice.do("PATCH", "/api/admin/settings", `{"signup":"wide open"}`)
	wantError(t, "an unknown policy", resp, b, 400, "invalid_request_error")

	alice.call("PATCH", "/api/admin/settings", `{"signup":"open"}`, 200, &st)
	if st.Signup != "open" {
		t.Fatalf("after opening: %+v", st)
	}
	e.anonymous().call("GET", "/api/auth/options", "", 200, &opts)
	if !opts.Signup || opts.Setup {
		t.Fatalf("options with signup open: %+v", opts)
	}
	carol, me := e.signup("carol", "carol's password")
	if me.User.Role != "user" {
		t.Fatalf("carol signed up as %+v", me)
	}
	carol.call("GET", "/api/auth/me", "", 200, nil)

	alice.call("PATCH", "/api/admin/settings", `{"signup":"closed"}`, 200, &st)
	resp, b = e.anonymous().do("POST", "/api/auth/signup", `{"username":"dave","password":"dave's password"}`)
	wantError(t, "signup closed again", resp, b, 403, "permission_error")
	// An empty patch changes nothing.
	alice.call("PATCH", "/api/admin/settings", `{}`, 200, &st)
	if st.Signup != "closed" {
		t.Fatalf("after an empty patch: %+v", st)
	}
}

// Before the first account, options say so (setup), for the UI's
// "create the admin account" page.
func TestOptionsSetup(t *testing.T) {
	e := newEnv(t, envOptions{auth: "password"})
	var opts struct {
		Auth   string `json:"auth"`
		Signup bool   `json:"signup"`
		Setup  bool   `json:"setup"`
	}
	e.anonymous().call("GET", "/api/auth/options", "", 200, &opts)
	if opts.Auth != "password" || !opts.Signup || !opts.Setup {
		t.Fatalf("options on a new database: %+v", opts)
	}
	e.signup("alice", "alice's password")
	e.anonymous().call("GET", "/api/auth/options", "", 200, &opts)
	if opts.Setup {
		t.Fatalf("options after the first account: %+v", opts)
	}
}
