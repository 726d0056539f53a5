package browsertest

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/testupstream"
)

// startAccounts starts `parley serve --auth password` on a new database.
func startAccounts(t *testing.T, upstreamURL string) string {
	t.Helper()
	return startParleyWith(t, nil, "--backend=openai", "--upstream-url="+upstreamURL, "--auth=password",
		"--database="+filepath.Join(t.TempDir(), "parley.db"))
}

// call makes one request to the api as a program would, with the session
// cookie (when session is set) or the API key (when key is), and returns
// the status and body.
func call(t *testing.T, method, url, body, session, key string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if session != "" {
		req.AddCookie(&http.Cookie{Name: "parley_session", Value: session})
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// signupAdmin makes the first account through the api, as a script would.
func signupAdmin(t *testing.T, base, name, password string) {
	t.Helper()
	if code, body := call(t, "POST", base+"/api/auth/signup", `{"username":"`+name+`","password":"`+password+`"}`, "", ""); code != 201 {
		t.Fatalf("signup %s: %d %s", name, code, body)
	}
}

// login signs name in through the api and returns the session token, or
// "" with the status when refused.
func login(t *testing.T, base, name, password string) (string, int) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", base+"/api/auth/login",
		strings.NewReader(`{"username":"`+name+`","password":"`+password+`"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, c := range res.Cookies() {
		if c.Name == "parley_session" && c.Value != "" {
			return c.Value, res.StatusCode
		}
	}
	return "", res.StatusCode
}

// sessionOf returns the browser's session cookie (HttpOnly: the page
// cannot read it, the DevTools protocol can).
func (b *browser) sessionOf() string {
	b.t.Helper()
	var token string
	b.run(chromedp.ActionFunc(func(ctx context.Context) error {
		cookies, err := network.GetCookies().WithURLs([]string{b.base}).Do(ctx)
		for _, c := range cookies {
			if c.Name == "parley_session" {
				token = c.Value
			}
		}
		return err
	}))
	return token
}

// signIn fills the sign-in page and submits it.
func (b *browser) signIn(name, password string) {
	b.t.Helper()
	b.run(chromedp.Evaluate(`document.getElementById('auth-username').value = ''; document.getElementById('auth-password').value = ''`, nil),
		chromedp.SendKeys("#auth-username", name, chromedp.ByQuery), chromedp.SendKeys("#auth-password", password, chromedp.ByQuery))
	b.click("#auth-submit")
}

func (b *browser) waitAuthPage(mode string) {
	b.t.Helper()
	b.waitJS(`!document.getElementById('auth-page').hidden && document.getElementById('auth-page').dataset.mode === '` + mode + `' &&
		document.getElementById('app').inert`)
}

func (b *browser) waitSignedIn(name string) {
	b.t.Helper()
	b.waitJS(`document.getElementById('auth-page').hidden && !document.getElementById('app').inert &&
		!document.getElementById('user-box').hidden && document.getElementById('user-name').textContent === '` + name + `'`)
}

// waitAfterNavigation polls expr like waitJS across a page load, when
// evaluating fails while the old page goes.
func (b *browser) waitAfterNavigation(expr string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var ok bool
		if err := chromedp.Run(b.ctx, chromedp.Evaluate(expr, &ok)); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waiting for %s after a page load (problems so far: %v)", expr, b.problemsSoFar())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// menu opens the user menu and clicks the item sel.
func (b *browser) menu(sel string) {
	b.t.Helper()
	b.click("#user-btn")
	b.waitJS(`!document.getElementById('user-menu').hidden`)
	b.click(sel)
}

// On a new database the page asks for the admin account, then signs it in;
// signing out ends the session on the server and shows the sign-in page,
// where a wrong password is refused and the right one opens the chats.
func TestFirstAdminSignInSignOut(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(2*time.Millisecond))
	base := startAccounts(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.waitAuthPage("setup")
	if b.count("#conv-list li.conv-item") != 0 {
		t.Errorf("chats listed before anyone signed in")
	}
	b.screenshot("19-create-admin")

	b.signIn("admin", "short")
	b.waitJS(`!document.getElementById('auth-error').hidden`)
	if got := b.text("#auth-error"); !strings.Contains(got, "8 characters") {
		t.Errorf("a short password: error %q", got)
	}
	if _, body := call(t, "GET", base+"/api/auth/options", "", "", ""); !strings.Contains(body, `"setup":true`) {
		t.Fatalf("an account was made from a refused form: %s", body)
	}

	b.signIn("admin", "correct horse battery")
	b.waitSignedIn("admin")
	if b.count("#users-btn:not([hidden])") != 1 {
		t.Errorf("the admin has no Users item in the menu")
	}
	b.send("hello as admin")
	b.waitReplies(1)
	session := b.sessionOf()
	if code, body := call(t, "GET", base+"/api/auth/me", "", session, ""); code != 200 || !strings.Contains(body, `"role":"admin"`) {
		t.Fatalf("the browser's session: %d %s", code, body)
	}

	b.menu("#signout-btn")
	b.waitAfterNavigation(`document.documentElement.dataset.ready === 'true' && !document.getElementById('auth-page').hidden`)
	b.waitAuthPage("login")
	if code, _ := call(t, "GET", base+"/api/auth/me", "", session, ""); code != 401 {
		t.Errorf("the session still works after signing out: %d", code)
	}
	if b.count(".msg") != 0 || b.count("#conv-list li.conv-item") != 0 {
		t.Errorf("the signed-out page still shows the chats")
	}
	if b.count("#auth-switch:not([hidden])") != 0 {
		t.Errorf("signup offered while it is closed")
	}
	b.screenshot("20-sign-in")

	b.signIn("admin", "not the password")
	b.waitJS(`!document.getElementById('auth-error').hidden`)
	if got := b.text("#auth-error"); !strings.Contains(got, "wrong username or password") {
		t.Errorf("a wrong password: error %q", got)
	}
	b.signIn("admin", "correct horse battery")
	b.waitSignedIn("admin")
	b.waitJS(`document.querySelectorAll('#conv-list li.conv-item').length === 1`)
	b.checkClean()
}

// A session that ends while the page is open (here deleted on the server,
// as a logout elsewhere or an expiry does) brings back the sign-in page on
// the next request; what was typed survives, and after signing in again
// the page goes on where it was.
func TestSessionEndsWhileOpen(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(2*time.Millisecond))
	base := startAccounts(t, up.URL)
	signupAdmin(t, base, "alice", "alice's password")
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.waitAuthPage("login")
	b.signIn("alice", "alice's password")
	b.waitSignedIn("alice")
	b.send("first message")
	b.waitReplies(1)
	path := b.path()

	if code, _ := call(t, "POST", base+"/api/auth/logout", "", b.sessionOf(), ""); code != 204 {
		t.Fatalf("ending the session on the server: %d", code)
	}
	const typed = "a long message I do not want to type again"
	b.send(typed)
	b.waitAuthPage("login")
	if got := b.text("#auth-lead"); !strings.Contains(got, "session has ended") {
		t.Errorf("the sign-in page does not say why: %q", got)
	}
	var name, kept string
	b.eval(`document.getElementById('auth-username').value`, &name)
	if name != "alice" {
		t.Errorf("username not filled in: %q", name)
	}
	b.waitJS(`document.getElementById('composer-input').value !== ''`)
	b.eval(`document.getElementById('composer-input').value`, &kept)
	if kept != typed {
		t.Errorf("message box holds %q after the session ended, want what was typed", kept)
	}
	b.screenshot("21-session-ended")

	b.signIn("alice", "alice's password")
	b.waitSignedIn("alice")
	b.waitJS(`document.querySelectorAll('.msg').length === 2 && !document.querySelector('.error-row')`)
	b.eval(`document.getElementById('composer-input').value`, &kept)
	if kept != typed || b.path() != path {
		t.Errorf("after signing in again: box %q at %s, want %q at %s", kept, b.path(), typed, path)
	}
	b.run(chromedp.Focus("#composer-input", chromedp.ByQuery), pressKey("Enter", 13, false))
	b.waitReplies(2)
	b.checkClean()
}

// The admin's users dialog makes an account, changes its role, disables
// and enables it, sets its password, and opens and closes signup — each
// checked against the api.
func TestAdminUsersDialog(t *testing.T) {
	up := testupstream.New(t)
	base := startAccounts(t, up.URL)
	signupAdmin(t, base, "root", "root's password")
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.waitAuthPage("login")
	b.signIn("root", "root's password")
	b.waitSignedIn("root")
	b.menu("#users-btn")
	b.waitJS(`document.getElementById('users-dialog') && document.getElementById('users-dialog').open &&
		document.querySelector('.user-row[data-username="root"]') !== null`)

	b.run(chromedp.SendKeys("#new-user-name", "bob", chromedp.ByQuery),
		chromedp.SendKeys("#new-user-password", "bob's password", chromedp.ByQuery))
	b.click("#new-user-create")
	b.waitJS(`document.querySelector('.user-row[data-username="bob"]') !== null && !document.getElementById('users-dialog').dataset.busy`)
	bob, code := login(t, base, "bob", "bob's password")
	if bob == "" {
		t.Fatalf("bob cannot sign in after the admin made him: %d", code)
	}
	if _, body := call(t, "GET", base+"/api/auth/me", "", bob, ""); !strings.Contains(body, `"role":"user"`) {
		t.Errorf("bob: %s, want role user", body)
	}

	row := `.user-row[data-username="bob"] `
	b.run(chromedp.SetValue(row+".user-role", "admin", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('`+row+`.user-role').dispatchEvent(new Event('change'))`, nil))
	waitAPI(t, "bob becomes an admin", func() bool {
		_, body := call(t, "GET", base+"/api/auth/me", "", bob, "")
		return strings.Contains(body, `"role":"admin"`)
	})
	b.waitJS(`document.querySelector('` + row + `.user-role').value === 'admin' && !document.getElementById('users-dialog').dataset.busy`)

	b.click(row + ".user-disable")
	b.waitJS(`document.querySelector('.user-row.disabled[data-username="bob"]') !== null && !document.getElementById('users-dialog').dataset.busy`)
	if code, _ := call(t, "GET", base+"/api/auth/me", "", bob, ""); code != 401 {
		t.Errorf("a disabled user's session: %d, want 401", code)
	}
	if _, code := login(t, base, "bob", "bob's password"); code != 403 {
		t.Errorf("a disabled user's login: %d, want 403", code)
	}
	b.screenshot("22-users")
	b.click(row + ".user-disable")
	b.waitJS(`document.querySelector('.user-row[data-username="bob"]:not(.disabled)') !== null && !document.getElementById('users-dialog').dataset.busy`)

	b.click(row + ".user-reset")
	b.run(chromedp.SendKeys(row+".user-new-password", "bob's new password", chromedp.ByQuery))
	b.click(row + ".user-reset-save")
	b.waitJS(`document.querySelector('#users-dialog .dlg-note').textContent.includes('bob')`)
	if _, code := login(t, base, "bob", "bob's password"); code != 401 {
		t.Errorf("the old password after a reset: %d, want 401", code)
	}
	if s, code := login(t, base, "bob", "bob's new password"); s == "" {
		t.Errorf("the new password after a reset: %d", code)
	}

	// Own account: no demoting, disabling or deleting oneself from here.
	own := `.user-row[data-username="root"] `
	if b.count(own+`.user-role:disabled`) != 1 || b.count(own+`.user-disable:disabled`) != 1 || b.count(own+`.user-delete:disabled`) != 1 {
		t.Errorf("the admin's own row offers demoting, disabling or deleting")
	}

	options := func() string { _, body := call(t, "GET", base+"/api/auth/options", "", "", ""); return body }
	if b.count("#signup-open:checked") != 0 || !strings.Contains(options(), `"signup":false`) {
		t.Fatalf("signup not closed at the start: %s", options())
	}
	b.click("#signup-open")
	waitAPI(t, "signup opens", func() bool { return strings.Contains(options(), `"signup":true`) })
	if code, body := call(t, "POST", base+"/api/auth/signup", `{"username":"carol","password":"carol's password"}`, "", ""); code != 201 {
		t.Errorf("signup while open: %d %s", code, body)
	}
	b.waitJS(`!document.getElementById('signup-open').disabled`)
	b.click("#signup-open")
	waitAPI(t, "signup closes", func() bool { return strings.Contains(options(), `"signup":false`) })

	// carol signed up herself; the list shows her once reloaded, and
	// Delete (confirmed) removes her account.
	b.run(chromedp.Evaluate(`document.getElementById('users-dialog').close()`, nil))
	b.menu("#users-btn")
	b.waitJS(`document.querySelector('.user-row[data-username="carol"]') !== null && !document.getElementById('users-dialog').dataset.busy`)
	b.click(`.user-row[data-username="carol"] .user-delete`)
	b.waitJS(`document.getElementById('confirm-dialog').open`)
	b.click("#confirm-ok")
	b.waitJS(`document.querySelector('.user-row[data-username="carol"]') === null && !document.getElementById('users-dialog').dataset.busy`)
	if _, code := login(t, base, "carol", "carol's password"); code != 401 {
		t.Errorf("a deleted account's login: %d, want 401", code)
	}
	b.checkClean()
}

// waitAPI polls cond until it holds: the dialog's requests are on their way.
func waitAPI(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen by the api", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An API key made in the dialog is shown once, works as a Bearer key, and
// stops working when revoked there.
func TestAPIKeysDialog(t *testing.T) {
	up := testupstream.New(t)
	base := startAccounts(t, up.URL)
	signupAdmin(t, base, "alice", "alice's password")
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.waitAuthPage("login")
	b.signIn("alice", "alice's password")
	b.waitSignedIn("alice")
	b.menu("#keys-btn")
	b.waitJS(`document.getElementById('keys-dialog') && document.getElementById('keys-dialog').open &&
		document.querySelector('#key-list .acct-empty') !== null`)
	b.run(chromedp.SendKeys("#key-name", "nightly report", chromedp.ByQuery))
	b.click("#key-create")
	b.waitJS(`(document.getElementById('key-secret') || {}).textContent > '' && document.querySelectorAll('#key-list .key-row').length === 1`)
	key := b.text("#key-secret")
	if !strings.HasPrefix(key, "pk-") {
		t.Fatalf("shown key %q", key)
	}
	if code, body := call(t, "GET", base+"/v1/models", "", "", key); code != 200 {
		t.Fatalf("the new key on /v1/models: %d %s", code, body)
	}
	b.screenshot("23-api-key")

	// Shown once: closing and opening again lists it by name only.
	b.run(chromedp.Evaluate(`document.getElementById('keys-dialog').close()`, nil))
	b.menu("#keys-btn")
	b.waitJS(`document.getElementById('keys-dialog').open && document.querySelectorAll('#key-list .key-row').length === 1`)
	var shown bool
	b.eval(`document.body.textContent.includes('`+key+`')`, &shown)
	if shown || b.text("#key-list .acct-name") != "nightly report" {
		t.Errorf("after reopening: key still on the page %v, listed %q", shown, b.text("#key-list .acct-name"))
	}

	b.click("#key-list .key-row .danger-text")
	b.waitJS(`document.getElementById('confirm-dialog').open`)
	b.click("#confirm-ok")
	b.waitJS(`document.querySelectorAll('#key-list .key-row').length === 0`)
	if code, _ := call(t, "GET", base+"/v1/models", "", "", key); code != 401 {
		t.Errorf("a revoked key on /v1/models: %d, want 401", code)
	}
	b.checkClean()
}

// On a phone in dark mode the sign-in page and the users dialog fit the
// screen and take the dark colours.
func TestAccountsPhoneDark(t *testing.T) {
	up := testupstream.New(t)
	base := startAccounts(t, up.URL)
	b := newBrowser(t, base, browserOpt{width: 375, height: 740, dark: true})
	b.open("/")
	b.waitAuthPage("setup")
	var bg string
	b.eval(`getComputedStyle(document.querySelector('.auth-card')).backgroundColor`, &bg)
	if bg != "rgb(33, 33, 33)" {
		t.Errorf("sign-in card in dark mode: background %q", bg)
	}
	var overflow bool
	b.eval(`document.documentElement.scrollWidth > 375 || document.querySelector('.auth-card').getBoundingClientRect().right > 375`, &overflow)
	if overflow {
		t.Errorf("the sign-in page is wider than the phone")
	}
	b.screenshot("24-phone-dark-create-admin")
	b.signIn("admin", "correct horse battery")
	b.waitSignedIn("admin")
	b.click("#open-drawer")
	b.waitJS(`document.getElementById('app').classList.contains('drawer-open') &&
		getComputedStyle(document.getElementById('sidebar')).transform === 'none'`)
	b.menu("#users-btn")
	b.waitJS(`document.getElementById('users-dialog') && document.getElementById('users-dialog').open &&
		document.querySelector('.user-row[data-username="admin"]') !== null`)
	b.eval(`(d => d.scrollWidth > d.clientWidth || d.getBoundingClientRect().right > 375)(document.getElementById('users-dialog'))`, &overflow)
	if overflow {
		t.Errorf("the users dialog is wider than the phone")
	}
	b.screenshot("25-phone-dark-users")
	b.checkClean()
}

// Under --auth none nothing of accounts shows, and the page never asks
// who is signed in.
func TestNoAccountsUnderAuthNone(t *testing.T) {
	up := testupstream.New(t)
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.send("hello")
	b.waitReplies(1)
	if b.count("#user-box:not([hidden])") != 0 || b.count("#auth-page:not([hidden])") != 0 {
		t.Errorf("account UI shown under --auth none")
	}
	var askedMe bool
	b.eval(`performance.getEntriesByType('resource').some(e => e.name.includes('/api/auth/me'))`, &askedMe)
	if askedMe {
		t.Errorf("the page asked /api/auth/me under --auth none")
	}
	b.checkClean()
}

// While an admin has signup open, the sign-in page offers to create an
// account, which gets role user (no Users item); closed, it does not.
func TestSignupWhenOpen(t *testing.T) {
	up := testupstream.New(t)
	base := startAccounts(t, up.URL)
	signupAdmin(t, base, "root", "root's password")
	root, _ := login(t, base, "root", "root's password")
	if code, body := call(t, "PATCH", base+"/api/admin/settings", `{"signup":"open"}`, root, ""); code != 200 {
		t.Fatalf("open signup: %d %s", code, body)
	}
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.waitAuthPage("login")
	b.click("#auth-switch-btn")
	b.waitAuthPage("signup")
	b.signIn("dave", "dave's password")
	b.waitSignedIn("dave")
	if b.count("#users-btn:not([hidden])") != 0 {
		t.Errorf("a user who signed up is offered the Users page")
	}
	if code, body := call(t, "GET", base+"/api/auth/me", "", b.sessionOf(), ""); code != 200 || !strings.Contains(body, `"role":"user"`) {
		t.Errorf("dave: %d %s, want role user", code, body)
	}

	if code, body := call(t, "PATCH", base+"/api/admin/settings", `{"signup":"closed"}`, root, ""); code != 200 {
		t.Fatalf("close signup: %d %s", code, body)
	}
	b.menu("#signout-btn")
	b.waitAfterNavigation(`document.documentElement.dataset.ready === 'true' && !document.getElementById('auth-page').hidden`)
	b.waitAuthPage("login")
	if b.count("#auth-switch:not([hidden])") != 0 {
		t.Errorf("signup offered after the admin closed it")
	}
	b.checkClean()
}
