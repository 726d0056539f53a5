package browsertest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/testupstream"
)

// hostile is a reply trying every way model output could run script or
// load something in the reader's browser.
const hostile = "Look: <script>window.__pwned = 'script'; alert('script')</script>\n\n" +
	"<img src=x onerror=\"window.__pwned = 'img'; alert('img')\">\n\n" +
	"[click me](javascript:window.__pwned='link';alert('link')) and [also](JAVASCRIPT:alert(1)) and " +
	"[tab](java\tscript:alert(1)) and [data](data:text/html,<script>alert(1)</script>)\n\n" +
	"![pic](https://example.com/x.png) <iframe src=\"https://example.com\"></iframe>\n\n" +
	"<a href=\"https://example.com\" onclick=\"alert(1)\">raw anchor</a>\n\n" +
	"A [safe link](https://example.com/docs) and https://example.org/bare and <svg onload=alert(1)>\n\n" +
	"```html\n<script>alert('in code')</script>\n```\n"

func TestHostileMarkdownIsInert(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(time.Millisecond), testupstream.WithReply(testupstream.Scripted(hostile)))
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	// The user's own text is hostile too.
	b.send(`<img src=x onerror="window.__pwned='user'"> <b>bold?</b>`)
	b.waitReplies(1)
	b.screenshot("09-hostile-markdown")

	var pwned bool
	b.eval(`window.__pwned !== undefined`, &pwned)
	if pwned {
		var what string
		b.eval(`String(window.__pwned)`, &what)
		t.Errorf("injected script ran: window.__pwned = %q", what)
	}
	for sel, want := range map[string]int{
		".thread script": 0, ".thread img": 0, ".thread iframe": 0, ".thread svg:not(.icon)": 0,
		".thread [onerror], .thread [onclick], .thread [onload]": 0, ".thread b": 0,
		`.thread a[href^="javascript"], .thread a[href^="JAVASCRIPT"], .thread a[href^="data"]`: 0,
		`.thread a[href="https://example.com/docs"][rel~="noopener"][target="_blank"]`:          1,
		`.thread a[href="https://example.org/bare"]`:                                            1,
	} {
		if got := b.count(sel); got != want {
			t.Errorf("%s: %d elements, want %d", sel, got, want)
		}
	}
	var links []string
	b.eval(`[...document.querySelectorAll('.thread a')].map(a => a.protocol)`, &links)
	for _, p := range links {
		if p != "https:" && p != "http:" && p != "mailto:" {
			t.Errorf("link with protocol %q", p)
		}
	}
	// The markup shows as the literal text it is.
	reply := b.text(".msg.assistant .md")
	for _, want := range []string{"<script>window.__pwned = 'script'", `<img src=x onerror=`, "<iframe", "click me", "<script>alert('in code')</script>"} {
		if !strings.Contains(reply, want) {
			t.Errorf("reply text lacks %q literally:\n%s", want, reply)
		}
	}
	if got := b.text(".msg.user .bubble"); !strings.Contains(got, `<img src=x onerror="window.__pwned='user'">`) {
		t.Errorf("user text not shown literally: %q", got)
	}
	b.checkClean()
}

const codeReply = "Here is Go:\n\n```go\n// add sums two numbers\nfunc add(a, b int) int {\n\ts := \"answer\"\n\treturn a + b + 42 + len(s)\n}\n```\n\n" +
	"and Python:\n\n```python\ndef greet(name):\n    return f\"hi {name}\"  # comment\n```\n\n" +
	"| col | n |\n|---|--:|\n| a | 1 |\n\n1. one\n2. **two**\n   - nested `code`\n\n> quoted\n\n# Heading\n"

func TestCodeBlocksAndMarkdown(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(time.Millisecond), testupstream.WithReply(testupstream.Scripted(codeReply)))
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.send("show me code")
	b.waitReplies(1)
	b.screenshot("10-code")
	var langs []string
	b.eval(`[...document.querySelectorAll('.code-lang')].map(e => e.textContent)`, &langs)
	if strings.Join(langs, ",") != "go,python" {
		t.Errorf("code labels %v", langs)
	}
	for sel, want := range map[string]string{
		".code-block:first-of-type .tok-kw":  "func",
		".code-block:first-of-type .tok-com": "// add sums two numbers",
		".code-block:first-of-type .tok-fn":  "add",
		".code-block:first-of-type .tok-num": "42",
		".code-block:first-of-type .tok-str": `"answer"`,
		".md table th":                       "col",
		".md ol li strong":                   "two",
		".md ol li ul li code":               "code",
		".md blockquote":                     "quoted",
		".md h1":                             "Heading",
	} {
		if got := strings.TrimSpace(b.text(sel)); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	if got := b.text(".code-block:first-of-type code"); !strings.Contains(got, "func add(a, b int) int {\n\ts := \"answer\"\n\treturn a + b + 42") {
		t.Errorf("code text changed: %q", got)
	}
	if b.count(".code-copy") != 2 {
		t.Errorf("want a copy button per code block")
	}
	// Scrolled up, a button leads back to the newest message.
	if b.count("#to-bottom:not([hidden])") != 0 {
		t.Errorf("scroll-down button shown at the bottom of the chat")
	}
	b.click(".code-copy") // scrolls up to the button
	b.waitJS(`document.querySelector('.code-copy').classList.contains('done')`)
	b.run(chromedp.Evaluate(`document.getElementById('scroller').scrollTop = 0`, nil))
	b.waitJS(`!document.getElementById('to-bottom').hidden`)
	b.click("#to-bottom")
	b.waitJS(`(s => s.scrollHeight - s.scrollTop - s.clientHeight < 2)(document.getElementById('scroller')) && document.getElementById('to-bottom').hidden`)
	b.checkClean()
}
