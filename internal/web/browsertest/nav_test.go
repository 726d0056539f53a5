package browsertest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/testupstream"
)

func TestNewChatSwitchingAndHistory(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(2*time.Millisecond))
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.send("alpha conversation")
	b.waitReplies(1)
	first := b.path()

	b.click("#new-chat")
	b.waitJS(`location.pathname === '/' && document.querySelectorAll('.msg').length === 0 && !document.getElementById('empty').hidden`)
	b.send("beta conversation")
	b.waitReplies(1)
	second := b.path()
	if first == second || !strings.HasPrefix(second, "/c/") {
		t.Fatalf("paths %q and %q", first, second)
	}
	// Newest first in the sidebar.
	b.waitJS(`document.querySelectorAll('.conv-item').length === 2`)
	if got := b.text(".conv-item .conv-name"); got != "beta conversation" {
		t.Errorf("top of the list is %q, want the newest chat", got)
	}
	b.screenshot("07-two-chats")

	// Switch by clicking the older chat.
	b.click(fmt.Sprintf(`.conv-item[data-id=%q] .conv-link`, strings.TrimPrefix(first, "/c/")))
	b.waitJS(fmt.Sprintf(`location.pathname === %q && (document.querySelector('.msg.user .bubble') || {}).textContent === 'alpha conversation'`, first))
	if got := b.text(`.conv-link[aria-current="page"]`); got != "alpha conversation" {
		t.Errorf("highlighted chat is %q", got)
	}
	// Back and forward.
	b.run(chromedp.NavigateBack())
	b.waitJS(fmt.Sprintf(`location.pathname === %q && (document.querySelector('.msg.user .bubble') || {}).textContent === 'beta conversation'`, second))
	b.run(chromedp.NavigateForward())
	b.waitJS(fmt.Sprintf(`location.pathname === %q && (document.querySelector('.msg.user .bubble') || {}).textContent === 'alpha conversation'`, first))
	b.checkClean()
}

func TestReloadKeepsConversation(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(2*time.Millisecond))
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.send("remember **this**")
	b.waitReplies(1)
	p := b.path()
	b.run(chromedp.Reload())
	b.waitJS(`document.documentElement.dataset.ready === 'true' && document.querySelectorAll('.msg').length === 2`)
	if b.path() != p {
		t.Errorf("path after reload %q, want %q", b.path(), p)
	}
	if got := b.text(".msg.assistant .md strong"); got != "this" {
		t.Errorf("reply after reload lost its markdown: strong = %q", got)
	}
	if got := b.text("#conv-title"); got != "remember **this**" {
		t.Errorf("title after reload %q", got)
	}
	// A fresh tab on the same URL shows it too (the server serves the shell for /c/{id}).
	res, err := http.Get(base + p)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %v %v", p, err, res)
	}
	res.Body.Close()
	// Unknown ids show a clear message, not a blank page.
	b.open("/c/01234567-89ab-7def-8123-456789abcdef")
	b.waitJS(`!document.getElementById('banner').hidden`)
	if got := b.text("#banner"); !strings.Contains(got, "does not exist") {
		t.Errorf("banner for an unknown chat: %q", got)
	}
	b.checkClean()
}

func TestReloadWhileStreamingContinues(t *testing.T) {
	full := longReply(80)
	up := testupstream.New(t, testupstream.WithTokenDelay(40*time.Millisecond), testupstream.WithReply(testupstream.Scripted(full)))
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.send("a long one please")
	b.waitJS(`(document.querySelector('.msg.assistant.streaming .md') || {textContent: ''}).textContent.length > 20`)
	b.run(chromedp.Reload())
	b.waitJS(`document.documentElement.dataset.ready === 'true'`)
	// The reply is shown while it still runs, with Stop offered, and then ends.
	b.waitJS(`document.querySelector('.msg.assistant.streaming') !== null && !document.getElementById('stop-btn').hidden`)
	b.screenshot("08-reattached")
	b.waitReplies(1)
	if got := b.text(".msg.assistant .md"); got != full {
		t.Errorf("after reload the reply is %d bytes, want the full %d", len(got), len(full))
	}
	b.checkClean()
}

func TestSidebarSearchRenameDeleteAndPaging(t *testing.T) {
	up := testupstream.New(t)
	base := startParley(t, up.URL)
	// 35 chats: more than one page (the UI asks for 30). Each has a
	// message: the list leaves out chats without any.
	for i := range 35 {
		postJSON(t, base+"/api/conversations/import", fmt.Sprintf(`{"title":"Chat number %02d","messages":[{"role":"user","content":"hi"}]}`, i))
	}
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.waitJS(`document.querySelectorAll('.conv-item').length >= 30`)
	b.run(chromedp.Evaluate(`(n => n.scrollTop = n.scrollHeight)(document.querySelector('.conv-nav'))`, nil))
	b.waitJS(`document.querySelectorAll('.conv-item').length === 35`)
	var newest struct {
		Data []conversation `json:"data"`
	}
	getJSON(t, base+"/api/conversations?limit=2", &newest)
	if got := b.text(".conv-item .conv-name"); got != newest.Data[0].Title {
		t.Errorf("first item %q, want the newest, %q", got, newest.Data[0].Title)
	}

	// Search by title.
	b.run(chromedp.SendKeys("#search", "number 07", chromedp.ByQuery))
	b.waitJS(`document.querySelectorAll('.conv-item').length === 1`)
	if got := b.text(".conv-item .conv-name"); got != "Chat number 07" {
		t.Errorf("search found %q", got)
	}
	b.run(chromedp.Evaluate(`(s => { s.value = ''; s.dispatchEvent(new Event('input')) })(document.getElementById('search'))`, nil))
	b.waitJS(`document.querySelectorAll('.conv-item').length >= 30`)

	// Rename the newest.
	b.run(chromedp.Evaluate(`document.querySelector('.conv-item .rename').click()`, nil))
	b.waitJS(`document.querySelector('.rename-input') !== null`)
	b.run(chromedp.Evaluate(`document.querySelector('.rename-input').value = ''`, nil),
		chromedp.SendKeys(".rename-input", "Renamed chat", chromedp.ByQuery), pressKey("Enter", 13, false))
	b.waitJS(`(document.querySelector('.conv-item .conv-name') || {}).textContent === 'Renamed chat'`)
	var page struct {
		Data []conversation `json:"data"`
	}
	getJSON(t, base+"/api/conversations?q=Renamed", &page)
	if len(page.Data) != 1 {
		t.Errorf("server has %d chats titled Renamed, want 1", len(page.Data))
	}

	// Delete it, with confirmation.
	b.run(chromedp.Evaluate(`document.querySelector('.conv-item .delete').click()`, nil))
	b.waitJS(`document.getElementById('confirm-dialog').open`)
	b.click("#confirm-ok")
	b.waitJS(`(document.querySelector('.conv-item .conv-name') || {}).textContent === '` + newest.Data[1].Title + `' &&
		![...document.querySelectorAll('.conv-name')].some(n => n.textContent === 'Renamed chat')`)
	getJSON(t, base+"/api/conversations?q=Renamed", &page)
	if len(page.Data) != 0 {
		t.Errorf("deleted chat still on the server")
	}
	b.checkClean()
}

func TestSearchFindsMessageText(t *testing.T) {
	up := testupstream.New(t)
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.send("the zebra question")
	b.waitReplies(1)
	b.click("#new-chat")
	b.send("something else")
	b.waitReplies(1)
	b.run(chromedp.SendKeys("#search", "zebra", chromedp.ByQuery))
	b.waitJS(`document.querySelectorAll('.conv-item').length === 1 && document.querySelector('.conv-item .conv-name').textContent === 'the zebra question'`)
	b.run(chromedp.Evaluate(`document.getElementById('search').value = ''`, nil), chromedp.SendKeys("#search", "no such words", chromedp.ByQuery))
	b.waitJS(`document.querySelectorAll('.conv-item').length === 0 && document.getElementById('list-status').textContent === 'No chats found.'`)
	b.checkClean()
}
