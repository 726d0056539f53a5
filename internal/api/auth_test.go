package api_test

import (
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/auth"
)

// clock is a test's time, moved by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// passwordEnv is an api in password mode.
func passwordEnv(t *testing.T, cfg account.Config) *env {
	t.Helper()
	return newEnv(t, envOptions{auth: auth.ModePassword, accounts: cfg})
}

// anonymous is e as a new client: no cookie, no key.
func (e *env) anonymous() *env {
	jar, _ := cookiejar.New(nil)
	c := *e
	c.client, c.bearer = &http.Client{Jar: jar}, ""
	return &c
}

// withKey is e as a client that sends key.
func (e *env) withKey(key string) *env {
	c := e.anonymous()
	c.bearer = key
	return c
}

type authAnswer struct {
	User struct {
		ID       string       `json:"id"`
		Username string       `json:"username"`
		Role     account.Role `json:"role"`
	} `json:"user"`
}

// signup signs name up as a new client and returns it signed in.
func (e *env) signup(name, password string) (*env, authAnswer) {
	e.t.Helper()
	return e.signIn("/api/auth/signup", http.StatusCreated, name, password)
}

// login signs name in as a new client.
func (e *env) login(name, password string) (*env, authAnswer) {
	e.t.Helper()
	return e.signIn("/api/auth/login", http.StatusOK, name, password)
}

func (e *env) signIn(path string, status int, name, password string) (*env, authAnswer) {
	e.t.Helper()
	c := e.anonymous()
	var got authAnswer
	c.call("POST", path, `{"username":"`+name+`","password":"`+password+`"}`, status, &got)
	return c, got
}

// sessionCookie is the session cookie a response sets.
func sessionCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == auth.CookieName {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", auth.CookieName, resp.Header["Set-Cookie"])
	return nil
}

// wantError fails unless the answer is status with an error of type typ.
func wantError(t *testing.T, what string, resp *http.Response, b []byte, status int, typ string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: %d %s, want %d", what, resp.StatusCode, b, status)
	}
	if got := errorBody(t, b); got.Type != typ {
		t.Fatalf("%s: error type %q, want %q", what, got.Type, typ)
	}
}

func TestSignupLoginLogout(t *testing.T) {
	e := passwordEnv(t, account.Config{})
	anon := e.anonymous()
	var opts struct {
		Auth   string `json:"auth"`
		Signup bool   `json:"signup"`
	}
	anon.call("GET", "/api/auth/options", "", 200, &opts)
	if opts.Auth != "password" || !opts.Signup {
		t.Fatalf("options before any account: %+v", opts)
	}
	for _, path := range []string{"/api/conversations", "/api/auth/me", "/api/models", "/api/keys", "/v1/models"} {
		resp, b := anon.do("GET", path, "")
		wantError(t, "GET "+path+" signed out", resp, b, 401, "authentication_error")
		if resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s: 401 without WWW-Authenticate", path)
		}
	}
	resp, b := anon.do("POST", "/chat", `{"message":"hi"}`)
	wantError(t, "POST /chat signed out", resp, b, 401, "authentication_error")

	// The first account becomes the admin and is signed in.
	resp, b = anon.do("POST", "/api/auth/signup", `{"username":"Alice","password":"correct horse"}`)
	if resp.StatusCode != 201 || !strings.Contains(string(b), `"role":"admin"`) || !strings.Contains(string(b), `"username":"alice"`) {
		t.Fatalf("first signup: %d %s", resp.StatusCode, b)
	}
	c := sessionCookie(t, resp)
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" || c.MaxAge != int((7*24*time.Hour).Seconds()) {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure over http, Path=/, a week", c)
	}
	var me authAnswer
	anon.call("GET", "/api/auth/me", "", 200, &me)
	if me.User.Username != "alice" || me.User.Role != account.RoleAdmin || me.User.ID != account.LocalID {
		t.Fatalf("me %+v", me)
	}

	// Then signup is closed.
	resp, b = e.anonymous().do("POST", "/api/auth/signup", `{"username":"mallory","password":"12345678"}`)
	wantError(t, "second signup", resp, b, 403, "permission_error")
	e.anonymous().call("GET", "/api/auth/options", "", 200, &opts)
	if opts.Signup {
		t.Errorf("options after the first account: %+v", opts)
	}

	// Logout ends the session on the server: the token is dead even when
	// sent again.
	resp, _ = anon.do("POST", "/api/auth/logout", "")
	if resp.StatusCode != 204 || sessionCookie(t, resp).MaxAge >= 0 {
		t.Fatalf("logout: %d %v", resp.StatusCode, resp.Header["Set-Cookie"])
	}
	replay := e.anonymous()
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/auth/me", nil)
	req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: c.Value})
	resp, err := replay.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("a logged-out token: %d, want 401", resp.StatusCode)
	}

	resp, b = e.anonymous().do("POST", "/api/auth/login", `{"username":"alice","password":"wrong password"}`)
	wantError(t, "wrong password", resp, b, 401, "authentication_error")
	resp, b = e.anonymous().do("POST", "/api/auth/login", `{"username":"nobody","password":"correct horse"}`)
	wantError(t, "unknown user", resp, b, 401, "authentication_error")
	again, got := e.login("ALICE", "correct horse")
	if got.User.Username != "alice" {
		t.Fatalf("login answered %+v", got)
	}
	again.call("GET", "/api/conversations", "", 200, nil)
}

func TestSessionCookieSecureBehindHTTPS(t *testing.T) {
	e := passwordEnv(t, account.Config{})
	for _, path := range []string{"/api/auth/signup", "/api/auth/login"} {
		req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(`{"username":"alice","password":"correct horse"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-Proto", "https")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 || !sessionCookie(t, resp).Secure {
			t.Fatalf("%s over HTTPS: %d, cookie %v; want a Secure cookie", path, resp.StatusCode, resp.Header["Set-Cookie"])
		}
	}
}

func TestSignupOpen(t *testing.T) {
	e := passwordEnv(t, account.Config{Signup: account.SignupOpen})
	_, first := e.signup("alice", "correct horse")
	bob, second := e.signup("bob", "battery staple")
	if first.User.Role != account.RoleAdmin || second.User.Role != account.RoleUser {
		t.Fatalf("roles %s, %s; want admin, user", first.User.Role, second.User.Role)
	}
	bob.call("GET", "/api/conversations", "", 200, nil)
	resp, b := e.anonymous().do("POST", "/api/auth/signup", `{"username":"BOB","password":"another one"}`)
	wantError(t, "a taken name", resp, b, 409, "conflict_error")
}

func TestSignupRefusesBadInput(t *testing.T) {
	e := passwordEnv(t, account.Config{})
	for _, body := range []string{
		`{"username":"alice","password":"short"}`,
		`{"username":"","password":"long enough"}`,
		`{"username":"al ice","password":"long enough"}`,
		`{"username":"alíce","password":"long enough"}`,
		`{"username":"` + strings.Repeat("a", 65) + `","password":"long enough"}`,
		`{"username":"alice","password":"` + strings.Repeat("p", 1025) + `"}`,
		`{"username":"alice","password":"long enough","role":"admin"}`,
		`{"username":"alice"`,
	} {
		resp, b := e.anonymous().do("POST", "/api/auth/signup", body)
		wantError(t, "signup "+body[:min(len(body), 60)], resp, b, 400, "invalid_request_error")
	}
	// Nothing was made: the first account is still to come.
	e.signup("alice", "long enough")
}

func TestLoginRefusesOtherContentTypes(t *testing.T) {
	e := passwordEnv(t, account.Config{})
	e.signup("alice", "correct horse")
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/auth/login", strings.NewReader(`{"username":"alice","password":"correct horse"}`))
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType || len(resp.Cookies()) != 0 {
			t.Errorf("login as %s: %d, cookies %v; want 415 and no session", ct, resp.StatusCode, resp.Cookies())
		}
	}
}

func TestLoginThrottled(t *testing.T) {
	clk := newClock()
	e := passwordEnv(t, account.Config{MaxLoginFailures: 3, MaxAddressFailures: 5, LoginFailureWindow: 10 * time.Minute, Now: clk.Now})
	e.signup("alice", "correct horse")
	from := func(addr, body string) (*http.Response, []byte) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/auth/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", addr) // the env trusts 127.0.0.1 as a proxy
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := make([]byte, 4096)
		n, _ := resp.Body.Read(b)
		return resp, b[:n]
	}
	wrong := `{"username":"alice","password":"guess guess"}`
	right := `{"username":"alice","password":"correct horse"}`
	for i := range 3 {
		resp, b := from("203.0.113.1", wrong)
		wantError(t, "wrong password "+strconv.Itoa(i), resp, b, 401, "authentication_error")
		clk.advance(time.Minute)
	}
	// The username is locked, from any address, even with the right
	// password, until the first failure is 10 minutes old.
	resp, b := from("198.51.100.7", right)
	wantError(t, "login of a locked username", resp, b, 429, "rate_limit_error")
	if got := resp.Header.Get("Retry-After"); got != "420" {
		t.Errorf("Retry-After %q, want 420 (seconds until the oldest failure ages out)", got)
	}
	clk.advance(7 * time.Minute)
	if resp, b := from("198.51.100.7", right); resp.StatusCode != 200 {
		t.Fatalf("login once the failure aged out: %d %s", resp.StatusCode, b)
	}

	// One address guessing many usernames is stopped too; others are not.
	for i := range 5 {
		resp, b := from("203.0.113.9", `{"username":"user`+strconv.Itoa(i)+`","password":"guess guess"}`)
		wantError(t, "guess "+strconv.Itoa(i), resp, b, 401, "authentication_error")
	}
	resp, b = from("203.0.113.9", right)
	wantError(t, "login from a locked address", resp, b, 429, "rate_limit_error")
	if resp, b := from("203.0.113.10", right); resp.StatusCode != 200 {
		t.Fatalf("login from another address: %d %s", resp.StatusCode, b)
	}
}

func TestSessionSlidesAndExpires(t *testing.T) {
	clk := newClock()
	e := passwordEnv(t, account.Config{SessionTTL: time.Hour, Now: clk.Now})
	alice, _ := e.signup("alice", "correct horse")
	clk.advance(50 * time.Minute)
	resp, _ := alice.do("GET", "/api/auth/me", "")
	if resp.StatusCode != 200 || sessionCookie(t, resp).MaxAge != 3600 {
		t.Fatalf("use after 50 minutes: %d, cookie %v; want it renewed", resp.StatusCode, resp.Header["Set-Cookie"])
	}
	clk.advance(50 * time.Minute) // 100 minutes after login, 50 after the last use
	alice.call("GET", "/api/auth/me", "", 200, nil)
	clk.advance(61 * time.Minute)
	resp, b := alice.do("GET", "/api/auth/me", "")
	wantError(t, "an hour unused", resp, b, 401, "authentication_error")
}

// Sessions are in the database: an api restarted over it (here: a second
// one) knows them.
func TestSessionSurvivesRestart(t *testing.T) {
	e := passwordEnv(t, account.Config{})
	alice, _ := e.signup("alice", "correct horse")
	cookie := alice.client.Jar.Cookies(mustURL(t, e.srv.URL))
	other := newEnvOn(t, e.store, envOptions{auth: auth.ModePassword})
	c := other.anonymous()
	c.client.Jar.SetCookies(mustURL(t, other.srv.URL), cookie)
	var me authAnswer
	c.call("GET", "/api/auth/me", "", 200, &me)
	if me.User.Username != "alice" {
		t.Fatalf("me on the restarted api: %+v", me)
	}
}

// Under --auth none nothing is asked for, and what clients send anyway (an
// OpenAI SDK's api_key) changes nothing.
func TestNoneModeIgnoresCredentials(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, key := range []string{"", "unused", "pk-not-a-real-key"} {
		c := e.withKey(key)
		c.call("GET", "/api/conversations", "", 200, nil)
		var me authAnswer
		c.call("GET", "/api/auth/me", "", 200, &me)
		if me.User.ID != account.LocalID || me.User.Role != account.RoleAdmin {
			t.Fatalf("me under none: %+v", me)
		}
	}
	var opts struct{ Auth string }
	e.call("GET", "/api/auth/options", "", 200, &opts)
	if opts.Auth != "none" {
		t.Fatalf("options under none: %+v", opts)
	}
}
