package browsertest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/testupstream"
)

func TestModelPicker(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(2*time.Millisecond), testupstream.WithModels("alpha-model", "beta-model"))
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.waitJS(`document.querySelectorAll('#model option').length === 2`)
	var options []string
	b.eval(`[...document.querySelectorAll('#model option')].map(o => o.value)`, &options)
	if strings.Join(options, ",") != "alpha-model,beta-model" {
		t.Errorf("model options %v", options)
	}
	b.run(chromedp.SetValue("#model", "beta-model", chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById('model').dispatchEvent(new Event('change'))`, nil))
	b.send("which model?")
	b.waitReplies(1)
	if s := b.text(".msg.assistant .stats"); !strings.Contains(s, "beta-model") {
		t.Errorf("stats %q do not name beta-model", s)
	}
	if body := string(up.LastRequest().Body); !strings.Contains(body, `"beta-model"`) {
		t.Errorf("upstream request did not ask for beta-model: %s", body)
	}
	// The choice belongs to the conversation: a reload keeps it even when
	// the browser's own default changes.
	b.run(chromedp.Evaluate(`localStorage.setItem('parley.model', 'alpha-model')`, nil), chromedp.Reload())
	b.waitJS(`document.documentElement.dataset.ready === 'true' && document.querySelectorAll('.msg').length === 2 && document.getElementById('model').value === 'beta-model'`)
	b.checkClean()
}

func TestSystemPrompt(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(2*time.Millisecond))
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.click("#system-btn")
	b.waitJS(`document.getElementById('system-dialog').open`)
	b.run(chromedp.SendKeys("#system-input", "You are a pirate.", chromedp.ByQuery))
	b.screenshot("17-system-prompt")
	b.click("#system-save")
	b.waitJS(`!document.getElementById('system-dialog').open && document.getElementById('system-btn').classList.contains('active')`)
	b.send("hello")
	b.waitReplies(1)
	if body := string(up.LastRequest().Body); !strings.Contains(body, "You are a pirate.") {
		t.Errorf("the model did not get the system prompt: %s", body)
	}
	id := strings.TrimPrefix(b.path(), "/c/")
	if c := getConversation(t, base, id); c.SystemPrompt != "You are a pirate." {
		t.Errorf("stored system prompt %q", c.SystemPrompt)
	}
	// Change it on the existing conversation (PATCH).
	b.click("#system-btn")
	b.waitJS(`document.getElementById('system-dialog').open && document.getElementById('system-input').value === 'You are a pirate.'`)
	b.run(chromedp.Evaluate(`document.getElementById('system-input').value = ''`, nil),
		chromedp.SendKeys("#system-input", "You are a poet.", chromedp.ByQuery))
	b.click("#system-save")
	deadline := time.Now().Add(10 * time.Second)
	for getConversation(t, base, id).SystemPrompt != "You are a poet." {
		if time.Now().After(deadline) {
			t.Fatalf("system prompt not updated on the server")
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.checkClean()
}

// An HTTP error answer (here 413: the message is over the api's limit)
// shows in the conversation with Retry, and the text is not lost.
func TestHTTPErrorShownInConversation(t *testing.T) {
	up := testupstream.New(t)
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.send("short first")
	b.waitReplies(1)
	big := strings.Repeat("x", 70<<10) // over the default --max-message-bytes (64 KiB)
	b.run(chromedp.Evaluate(`(t => { const i = document.getElementById('composer-input'); i.value = t })('`+big+`')`, nil),
		chromedp.Focus("#composer-input", chromedp.ByQuery), pressKey("Enter", 13, false))
	b.waitJS(`document.querySelector('.error-row .msg-error') !== null && !document.getElementById('app').classList.contains('busy')`)
	if got := b.text(".error-row .err-text"); got == "" {
		t.Errorf("no error text")
	}
	if b.count(".error-row .err-retry") != 1 {
		t.Errorf("no Retry on the error")
	}
	var kept int
	b.eval(`document.getElementById('composer-input').value.length`, &kept)
	if kept != len(big) {
		t.Errorf("composer holds %d bytes after the failure, want the %d typed", kept, len(big))
	}
	b.screenshot("18-http-error")
	b.checkClean()
}
