package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/limit"
)

// The request rate is counted per API key, per signed-in user and, for
// those not signed in, per client address: each runs out on its own.
func TestRateLimitPerKeyUserAndAddress(t *testing.T) {
	e := newEnv(t, envOptions{auth: auth.ModePassword, api: api.Config{Rate: limit.NewRate(3, nil)}})
	alice, _ := e.signup("alice", "alice's password") // the address: 1 of 3
	var key struct{ Key string }
	alice.call("POST", "/api/keys", `{"name":"k"}`, http.StatusCreated, &key) // alice: 1 of 3
	refused := func(who *env, what string) {
		t.Helper()
		resp, b := who.do("GET", "/api/auth/me", "")
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s over the rate: %d %s (Retry-After %q), want 429", what, resp.StatusCode, b, resp.Header.Get("Retry-After"))
		}
		var body struct{ Error struct{ Type, Code string } }
		if json.Unmarshal(b, &body); body.Error.Type != "rate_limit_error" || body.Error.Code != "rate_limit_exceeded" {
			t.Errorf("%s: error %+v", what, body.Error)
		}
	}
	alice.call("GET", "/api/auth/me", "", http.StatusOK, nil)
	alice.call("GET", "/api/conversations", "", http.StatusOK, nil)
	refused(alice, "alice's session")

	program := e.withKey(key.Key) // the key has its own budget
	for range 3 {
		program.call("GET", "/api/auth/me", "", http.StatusOK, nil)
	}
	refused(program, "alice's key")

	stranger := e.anonymous() // the address that signed alice up: 1 of 3 used
	stranger.call("GET", "/api/auth/options", "", http.StatusOK, nil)
	stranger.call("GET", "/api/auth/options", "", http.StatusOK, nil)
	if resp, b := stranger.do("GET", "/api/auth/options", ""); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the address over the rate: %d %s, want 429", resp.StatusCode, b)
	}
}
