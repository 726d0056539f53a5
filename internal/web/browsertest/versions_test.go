package browsertest

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/testupstream"
)

// Retry keeps the earlier reply: ‹ 2/2 › under the reply moves between
// the versions, the model is sent the one shown, and an edited question
// keeps the old branch the same way.
func TestReplyVersions(t *testing.T) {
	var n atomic.Int32
	up := testupstream.New(t, testupstream.WithTokenDelay(2*time.Millisecond), testupstream.WithReply(func([]chat.Turn) string {
		return fmt.Sprintf("answer number %d", n.Add(1))
	}))
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.send("Tell me a joke")
	b.waitReplies(1)
	if c := b.count(".versions"); c != 0 {
		t.Fatalf("%d version switchers on a chat without versions", c)
	}
	b.click("#retry-btn")
	b.waitJS(`(document.querySelector('.msg.assistant .md') || {}).textContent === 'answer number 2'`)
	b.waitIdle()
	if got := b.text(".msg.assistant .ver-label"); got != "2/2" {
		t.Fatalf("after Retry the switcher says %q, want 2/2", got)
	}
	b.screenshot("20-versions")

	// The earlier reply is still there.
	b.click(".msg.assistant .ver-prev")
	b.waitJS(`(document.querySelector('.msg.assistant .md') || {}).textContent === 'answer number 1' &&
		document.querySelector('.msg.assistant .ver-label').textContent === '1/2'`)
	var focused string
	b.eval(`document.activeElement.className`, &focused)
	if focused != "ver-btn ver-next" { // ‹ is disabled at 1/2: focus moves to ›
		t.Errorf("focus after choosing version 1 is on %q", focused)
	}
	// The model is sent the version shown.
	b.send("second question")
	b.waitReplies(2)
	if turns := up.LastRequest().Messages; len(turns) != 3 || turns[1].Content != "answer number 1" {
		t.Fatalf("the model was sent %+v, want the chosen reply, version 1", turns)
	}
	// Version 2 did not have the second question; back at 1 it is there.
	b.click(".msg.assistant .ver-next")
	b.waitJS(`document.querySelectorAll('.msg').length === 2 && document.querySelector('.msg.assistant .md').textContent === 'answer number 2'`)
	b.click(".msg.assistant .ver-prev")
	b.waitJS(`document.querySelectorAll('.msg').length === 4`)

	// Editing the first question keeps the old branch as version 1.
	b.click(".msg.user .edit-msg")
	b.waitJS(`document.querySelector('.edit-input') !== null`)
	b.run(chromedp.Evaluate(`document.querySelector('.edit-input').value = ''`, nil),
		chromedp.SendKeys(".edit-input", "Tell me another joke", chromedp.ByQuery), pressKey("Enter", 13, false))
	b.waitJS(`document.querySelectorAll('.msg').length === 2`)
	b.waitIdle()
	if got := b.text(".msg.user .ver-label"); got != "2/2" {
		t.Fatalf("the edited question's switcher says %q, want 2/2", got)
	}
	b.screenshot("21-versions-edited")
	b.click(".msg.user .ver-prev")
	b.waitJS(`document.querySelectorAll('.msg').length === 4 &&
		document.querySelector('.msg.user .bubble').textContent === 'Tell me a joke'`)

	// The versions are the server's: a reload shows the same.
	b.run(chromedp.Reload())
	b.waitJS(`document.documentElement.dataset.ready === 'true' && document.querySelectorAll('.msg').length === 4`)
	if got := b.text(".msg.assistant .ver-label"); got != "1/2" {
		t.Errorf("after a reload the reply's switcher says %q, want 1/2", got)
	}
	path := b.path()
	b.checkClean()

	for _, o := range []struct {
		name string
		opt  browserOpt
	}{
		{"20-versions-dark", browserOpt{dark: true}},
		{"20-versions-phone", browserOpt{width: 375, height: 740}},
		{"20-versions-phone-dark", browserOpt{width: 375, height: 740, dark: true}},
	} {
		ob := newBrowser(t, base, o.opt)
		ob.open(path)
		ob.waitJS(`document.querySelectorAll('.versions').length === 2`)
		ob.screenshot(o.name)
		ob.checkClean()
	}
}
