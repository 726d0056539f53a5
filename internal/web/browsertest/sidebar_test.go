package browsertest

import (
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/testupstream"
)

// The chat list is grouped by date, pinned chats on top; archived ones
// leave it but searches find them, and they can be restored; Ctrl+K
// searches and Ctrl+Shift+O starts a new chat.
func TestSidebarGroupsPinArchive(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(time.Millisecond))
	dbPath := filepath.Join(t.TempDir(), "parley.db")
	base := startParleyOn(t, up.URL, dbPath, nil)
	ages := map[string]time.Duration{"today chat": 0, "yesterday chat": 24 * time.Hour, "last week chat": 4 * 24 * time.Hour, "old chat": 200 * 24 * time.Hour}
	for _, title := range []string{"old chat", "last week chat", "yesterday chat", "today chat"} {
		res, err := http.Post(base+"/api/conversations/import", "application/json",
			strings.NewReader(`{"title":"`+title+`","messages":[{"role":"user","content":"about `+title+`"}]}`))
		if err != nil || res.StatusCode != http.StatusCreated {
			t.Fatalf("import %s: %v %v", title, res, err)
		}
		res.Body.Close()
	}
	// Age them as if they had been written days ago.
	db, err := sql.Open("sqlite", dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for title, age := range ages {
		if _, err := db.ExecContext(context.Background(), `UPDATE conversations SET updated_at = ? WHERE title = ?`,
			time.Now().Add(-age).UnixMilli(), title); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.waitJS(`document.querySelectorAll('.conv-item').length === 4`)
	groups := func() string {
		var s string
		b.eval(`[...document.querySelectorAll('#conv-list > li')].map((li) => li.classList.contains('conv-group')
			? '#' + li.textContent : li.querySelector('.conv-name').textContent).join('|')`, &s)
		return s
	}
	old := time.Now().Add(-ages["old chat"])
	month := old.Format("January")
	if old.Year() != time.Now().Year() {
		month += " " + old.Format("2006")
	}
	want := "#Today|today chat|#Yesterday|yesterday chat|#Previous 7 days|last week chat|#" + month + "|old chat"
	if got := groups(); got != want {
		t.Fatalf("the list reads %q, want %q", got, want)
	}
	b.screenshot("26-sidebar-groups")

	// Pin the old chat: it goes to the top, and stays there.
	b.run(chromedp.Evaluate(`document.querySelector('.conv-item[data-id] .pin') && [...document.querySelectorAll('.conv-item')]
		.find((li) => li.textContent.includes('old chat')).querySelector('.pin').click()`, nil))
	b.waitJS(`document.querySelector('#conv-list > li').textContent === 'Pinned'`)
	b.run(chromedp.Reload())
	b.waitJS(`document.documentElement.dataset.ready === 'true' && document.querySelectorAll('.conv-item').length === 4`)
	want = "#Pinned|old chat|#Today|today chat|#Yesterday|yesterday chat|#Previous 7 days|last week chat"
	if got := groups(); got != want {
		t.Errorf("after pinning the list reads %q, want %q", got, want)
	}
	b.screenshot("27-sidebar-pinned")

	// Archive yesterday's: gone from the list, found by a search, restored.
	b.run(chromedp.Evaluate(`[...document.querySelectorAll('.conv-item')].find((li) => li.textContent.includes('yesterday chat')).querySelector('.archive').click()`, nil))
	b.waitJS(`document.querySelectorAll('.conv-item').length === 3 && !document.getElementById('conv-list').textContent.includes('yesterday')`)
	// Ctrl+K goes to the search box.
	b.run(chromedp.KeyEvent("k", chromedp.KeyModifiers(input.ModifierCtrl)))
	b.waitJS(`document.activeElement === document.getElementById('search')`)
	b.run(chromedp.SendKeys("#search", "yesterday", chromedp.ByQuery))
	b.waitJS(`document.querySelectorAll('.conv-item').length === 1 && document.querySelector('.conv-item .conv-badge') !== null`)
	b.screenshot("28-sidebar-archived-found")
	b.run(chromedp.Evaluate(`document.querySelector('.conv-item .archive').click()`, nil)) // Restore
	b.waitJS(`document.querySelector('.conv-item .conv-badge') === null`)
	b.run(chromedp.Evaluate(`document.getElementById('search').value = ''; document.getElementById('search').dispatchEvent(new Event('input'))`, nil))
	b.waitJS(`document.querySelectorAll('.conv-item').length === 4`)
	if got := groups(); !strings.Contains(got, "#Yesterday|yesterday chat") {
		t.Errorf("after restoring the list reads %q", got)
	}

	// Ctrl+Shift+O starts a new chat from an open one.
	b.run(chromedp.Evaluate(`document.querySelector('.conv-item .conv-link').click()`, nil))
	b.waitJS(`location.pathname.startsWith('/c/') && document.querySelectorAll('.msg').length >= 1`)
	b.run(chromedp.KeyEvent("O", chromedp.KeyModifiers(input.ModifierCtrl|input.ModifierShift)))
	b.waitJS(`location.pathname === '/' && document.activeElement === document.getElementById('composer-input')`)
	b.checkClean()

	for _, o := range []struct {
		name string
		opt  browserOpt
	}{
		{"26-sidebar-dark", browserOpt{dark: true}},
		{"26-sidebar-phone", browserOpt{width: 375, height: 740}},
		{"26-sidebar-phone-dark", browserOpt{width: 375, height: 740, dark: true}},
	} {
		ob := newBrowser(t, base, o.opt)
		ob.open("/")
		ob.waitJS(`document.querySelectorAll('.conv-item').length === 4`)
		if o.opt.width == 375 {
			ob.click("#open-drawer")
			ob.waitJS(`document.getElementById('app').classList.contains('drawer-open') || document.body.classList.contains('drawer-open')`)
		}
		ob.screenshot(o.name)
		ob.checkClean()
	}
}
