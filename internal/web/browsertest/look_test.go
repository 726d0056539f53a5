package browsertest

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/testupstream"
)

func TestDarkMode(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(2*time.Millisecond),
		testupstream.WithReply(testupstream.Scripted("Dark mode:\n\n```js\nconst x = 1; // one\n```\n")))
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{dark: true})
	b.open("/")
	var bg string
	b.eval(`getComputedStyle(document.body).backgroundColor`, &bg)
	if bg != "rgb(33, 33, 33)" {
		t.Errorf("system dark: body background %q, want rgb(33, 33, 33)", bg)
	}
	b.send("Show dark mode")
	b.waitReplies(1)
	b.screenshot("13-dark")

	// The switch overrides the system and survives a reload.
	b.click("#theme-toggle") // system → light
	b.waitJS(`document.documentElement.dataset.theme === 'light'`)
	b.eval(`getComputedStyle(document.body).backgroundColor`, &bg)
	if bg != "rgb(255, 255, 255)" {
		t.Errorf("light switch: body background %q", bg)
	}
	b.run(chromedp.Reload())
	b.waitJS(`document.documentElement.dataset.ready === 'true' && document.documentElement.dataset.theme === 'light'`)
	b.click("#theme-toggle") // light → dark
	b.waitJS(`document.documentElement.dataset.theme === 'dark' && localStorage.getItem('parley.theme') === 'dark'`)
	b.checkClean()
}

func TestPhoneWidth(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(2*time.Millisecond),
		testupstream.WithReply(testupstream.Scripted("A reply with a long code line:\n\n```bash\necho this line is much too long to fit a phone screen so it must scroll sideways inside its box\n```\n\n"+
			"| column one | column two | column three | column four |\n|---|---|---|---|\n| aaaaaaaaaaaa | bbbbbbbbbbbb | cccccccccccc | dddddddddddd |\n")))
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{width: 375, height: 740})
	b.open("/")
	b.screenshot("14-phone-empty")
	var sidebarVisible bool
	b.eval(`(r => r.right > 0 && getComputedStyle(document.getElementById('sidebar')).visibility !== 'hidden')(document.getElementById('sidebar').getBoundingClientRect())`, &sidebarVisible)
	if sidebarVisible {
		t.Errorf("sidebar shown on a phone; want a closed drawer")
	}
	b.send("phone test")
	b.waitReplies(1)
	var overflow bool
	b.eval(`document.documentElement.scrollWidth > 375 || document.getElementById('scroller').scrollWidth > document.getElementById('scroller').clientWidth`, &overflow)
	if overflow {
		t.Errorf("page scrolls sideways at 375px")
	}
	// A wide table scrolls in its box rather than breaking its words into
	// columns a letter or two wide.
	var tableScrolls bool
	b.eval(`(w => w.scrollWidth > w.clientWidth)(document.querySelector('.table-wrap'))`, &tableScrolls)
	if !tableScrolls {
		t.Errorf("a table wider than the phone is squeezed instead of scrolling")
	}
	b.screenshot("15-phone-chat")
	b.click("#open-drawer")
	b.waitJS(`document.getElementById('app').classList.contains('drawer-open') &&
		getComputedStyle(document.getElementById('sidebar')).transform === 'none' &&
		document.getElementById('sidebar').getBoundingClientRect().left >= 0`)
	b.screenshot("16-phone-drawer")
	b.click("#new-chat")
	b.waitJS(`!document.getElementById('app').classList.contains('drawer-open') && location.pathname === '/'`)
	b.checkClean()
}

// While a reply streams, nothing already on screen may move: the
// Cumulative Layout Shift stays (practically) zero.
func TestNoLayoutShiftWhileStreaming(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(15*time.Millisecond),
		testupstream.WithReply(testupstream.Scripted(longReply(60)+"\n\n- a list\n- of items\n\n```go\nfunc main() {}\n```\n")))
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.send("first")
	b.waitReplies(1)
	b.run(chromedp.Evaluate(`window.__cls = 0; new PerformanceObserver(l => { for (const e of l.getEntries()) if (!e.hadRecentInput) window.__cls += e.value }).observe({type: 'layout-shift', buffered: false}); 0`, nil))
	b.send("second")
	b.waitReplies(2)
	b.run(chromedp.Sleep(300 * time.Millisecond))
	var cls float64
	b.eval(`window.__cls`, &cls)
	if cls > 0.02 {
		t.Errorf("cumulative layout shift while streaming = %.3f, want ≈ 0", cls)
	}
	b.checkClean()
}
