package browsertest

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/testupstream"
)

// TeX in a reply is typeset by KaTeX, loaded (script, stylesheet, fonts,
// all from the page's own origin under its CSP) only once a reply has
// math; prices with dollar signs stay text.
func TestMath(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(time.Millisecond), testupstream.WithReply(func(turns []chat.Turn) string {
		if strings.Contains(turns[len(turns)-1].Content, "math") {
			return "Euler: $e^{i\\pi}+1=0$ and \\(a^2+b^2=c^2\\).\n\n$$\\int_0^1 x\\,dx = \\frac{1}{2}$$\n\n\\[\\sum_{n=1}^{\\infty} \\frac{1}{n^2} = \\frac{\\pi^2}{6}\\]\n\nPrices $5 and $10 stay text."
		}
		return "No math here, just $5."
	}))
	base := startParley(t, up.URL)
	for i, o := range []struct {
		name string
		opt  browserOpt
	}{
		{"30-math", browserOpt{}},
		{"30-math-dark", browserOpt{dark: true}},
		{"30-math-phone", browserOpt{width: 375, height: 740}},
		{"30-math-phone-dark", browserOpt{width: 375, height: 740, dark: true}},
	} {
		b := newBrowser(t, base, o.opt)
		b.open("/")
		if i == 0 {
			b.send("no formulas")
			b.waitReplies(1)
			var loaded bool
			b.eval(`!!window.katex || performance.getEntriesByType('resource').some((e) => e.name.includes('katex'))`, &loaded)
			if loaded {
				t.Errorf("KaTeX was loaded for a reply without math")
			}
			b.click("#new-chat")
		}
		b.send("some math please")
		b.waitReplies(1)
		b.waitJS(`document.querySelectorAll('.msg.assistant .katex').length === 4`)
		var display int
		b.eval(`document.querySelectorAll('.msg.assistant .katex-display').length`, &display)
		if display != 2 {
			t.Errorf("%s: %d display formulas, want 2", o.name, display)
		}
		var text string
		b.eval(`document.querySelector('.msg.assistant .md p:last-child').textContent`, &text)
		if text != "Prices $5 and $10 stay text." {
			t.Errorf("%s: the prices read %q", o.name, text)
		}
		// KaTeX's fonts come from the page's origin.
		b.waitJS(`document.fonts.check('16px KaTeX_Main')`)
		b.screenshot(o.name)
		b.checkClean()
	}
}
