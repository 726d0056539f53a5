package browsertest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/testupstream"
)

// The settings panel holds the system prompt and the generation settings,
// empty as the defaults; what is set is stored with the chat and sent with
// each reply.
func TestGenerationSettings(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(2*time.Millisecond))
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.click("#system-btn")
	b.waitJS(`document.getElementById('system-dialog').open`)
	var empty bool
	b.eval(`['setting-temperature', 'setting-top-p', 'setting-max-tokens'].every((id) => {
		const i = document.getElementById(id); return i.value === '' && i.placeholder === 'Default' })`, &empty)
	if !empty {
		t.Errorf("a new chat's settings are not shown as defaults")
	}
	// Set before the chat exists: they go with its creation.
	b.run(chromedp.SendKeys("#setting-temperature", "0.3", chromedp.ByQuery),
		chromedp.SendKeys("#setting-max-tokens", "64", chromedp.ByQuery))
	b.screenshot("25-settings")
	b.click("#system-save")
	b.waitJS(`!document.getElementById('system-dialog').open && document.getElementById('system-btn').classList.contains('active')`)
	b.send("tuned")
	b.waitReplies(1)
	var sent map[string]any
	if err := json.Unmarshal(up.LastRequest().Body, &sent); err != nil {
		t.Fatal(err)
	}
	if sent["temperature"] != 0.3 || sent["max_tokens"] != 64.0 || sent["top_p"] != nil {
		t.Fatalf("the model was sent %v", sent)
	}
	id := strings.TrimPrefix(b.path(), "/c/")

	// Changed on the open chat, and back to a default.
	b.click("#system-btn")
	b.waitJS(`document.getElementById('system-dialog').open && document.getElementById('setting-temperature').value === '0.3'`)
	b.run(chromedp.Evaluate(`document.getElementById('setting-temperature').value = ''`, nil),
		chromedp.SendKeys("#setting-top-p", "0.8", chromedp.ByQuery))
	b.click("#system-save")
	b.waitJS(`!document.getElementById('system-dialog').open`)
	b.send("again")
	b.waitReplies(2)
	sent = nil
	json.Unmarshal(up.LastRequest().Body, &sent)
	if sent["temperature"] != nil || sent["top_p"] != 0.8 || sent["max_tokens"] != 64.0 {
		t.Fatalf("after the change the model was sent %v", sent)
	}
	// A value out of range is not saved.
	b.click("#system-btn")
	b.waitJS(`document.getElementById('system-dialog').open`)
	b.run(chromedp.SendKeys("#setting-temperature", "7", chromedp.ByQuery))
	b.click("#system-save")
	var open bool
	b.eval(`document.getElementById('system-dialog').open && !document.getElementById('setting-temperature').validity.valid`, &open)
	if !open {
		t.Errorf("a temperature of 7 closed the dialog")
	}
	b.run(chromedp.Evaluate(`document.getElementById('system-dialog').close()`, nil))
	b.checkClean()

	for _, o := range []struct {
		name string
		opt  browserOpt
	}{
		{"25-settings-dark", browserOpt{dark: true}},
		{"25-settings-phone", browserOpt{width: 375, height: 740}},
		{"25-settings-phone-dark", browserOpt{width: 375, height: 740, dark: true}},
	} {
		ob := newBrowser(t, base, o.opt)
		ob.open("/c/" + id)
		ob.waitJS(`document.querySelectorAll('.msg').length === 4`)
		ob.click("#system-btn")
		ob.waitJS(`document.getElementById('system-dialog').open && document.getElementById('setting-top-p').value === '0.8'`)
		ob.screenshot(o.name)
		ob.checkClean()
	}
}
