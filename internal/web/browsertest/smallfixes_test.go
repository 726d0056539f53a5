package browsertest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/testupstream"
)

// The small things found in use: no Retry/Undo/Clear bar on an empty chat
// and a compact one on a phone, focus back in the message box after
// Clear, no empty chats in the list, entities shown as characters, and an
// upstream 500 not called "unavailable".
func TestSmallFixes(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(2*time.Millisecond),
		testupstream.WithReply(testupstream.Scripted("AT&amp;T &lt;3 &hellip; `&amp;`")))
	base := startParley(t, up.URL)
	// An empty chat made over the API, and one the page never wrote in.
	for _, body := range []string{`{"title":"Nothing said here"}`, `{}`} {
		res, err := http.Post(base+"/api/conversations", "application/json", strings.NewReader(body))
		if err != nil || res.StatusCode != http.StatusCreated {
			t.Fatalf("create an empty conversation: %v %v", res, err)
		}
		res.Body.Close()
	}
	for _, o := range []struct {
		name string
		opt  browserOpt
	}{
		{"22-small-fixes", browserOpt{}},
		{"22-small-fixes-dark", browserOpt{dark: true}},
		{"22-small-fixes-phone", browserOpt{width: 375, height: 740}},
		{"22-small-fixes-phone-dark", browserOpt{width: 375, height: 740, dark: true}},
	} {
		b := newBrowser(t, base, o.opt)
		b.open("/")
		b.waitJS(`document.getElementById('list-status').textContent === 'No chats yet.' || document.querySelectorAll('.conv-item').length > 0`)
		if n := b.count(".conv-item"); n != 0 && o.name == "22-small-fixes" {
			t.Errorf("the list shows %d empty chats", n)
		}
		var barShown bool
		b.eval(`document.getElementById('toolbar').offsetParent !== null`, &barShown)
		if barShown {
			t.Errorf("%s: the Retry/Undo/Clear bar shows on an empty chat", o.name)
		}
		b.send("entities")
		b.waitReplies(1)
		if got := b.text(".msg.assistant .md"); got != "AT&T <3 … &amp;" {
			t.Errorf("%s: reply with entities shows %q", o.name, got)
		}
		b.eval(`document.getElementById('toolbar').offsetParent !== null`, &barShown)
		if !barShown {
			t.Errorf("%s: no Retry/Undo/Clear bar once the chat has messages", o.name)
		}
		if o.opt.width == 375 {
			var widest, height float64
			b.eval(`Math.max(...[...document.querySelectorAll('.tool')].map((e) => e.getBoundingClientRect().width))`, &widest)
			b.eval(`document.getElementById('toolbar').getBoundingClientRect().height`, &height)
			if widest > 44 || height > 44 {
				t.Errorf("%s: the bar's buttons are %.0fpx wide, the bar %.0fpx high; want a compact bar", o.name, widest, height)
			}
			var name string
			b.eval(`document.getElementById('clear-btn').textContent.trim()`, &name)
			if name != "Clear" {
				t.Errorf("%s: the compact Clear button is named %q", o.name, name)
			}
		}
		b.screenshot(o.name)
		b.click("#clear-btn")
		b.waitJS(`document.getElementById('confirm-dialog').open`)
		b.click("#confirm-ok")
		b.waitJS(`document.querySelectorAll('.msg').length === 0`)
		b.waitJS(`document.activeElement === document.getElementById('composer-input')`)
		b.eval(`document.getElementById('toolbar').offsetParent !== null`, &barShown)
		if barShown {
			t.Errorf("%s: the bar shows after Clear", o.name)
		}
		b.checkClean()
	}
	// A cleared chat is empty too: it leaves the list on the next load.
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.waitJS(`document.getElementById('list-status').textContent === 'No chats yet.'`)

	// An upstream that fails with 500 failed; it is not "unavailable".
	up.SetOptions(func(o *testupstream.Options) { o.Status, o.StatusMessage = 500, "internal error" })
	b.send("are you there?")
	b.waitJS(`document.querySelector('.msg-error') !== null && !document.getElementById('app').classList.contains('busy')`)
	got := b.text(".msg-error .err-text")
	t.Logf("an upstream 500 reads %q", got)
	if strings.Contains(strings.ToLower(got), "unavailable") || !strings.Contains(got, "500") {
		t.Errorf("an upstream 500 reads %q; want it to say the model failed (HTTP 500), not that it is unavailable", got)
	}
	b.run(chromedp.Reload())
	b.waitJS(`document.documentElement.dataset.ready === 'true' && document.querySelector('.msg-error') !== null`)
	if again := b.text(".msg-error .err-text"); again != got {
		t.Errorf("after a reload the error reads %q, was %q", again, got)
	}
	b.checkClean()
}
