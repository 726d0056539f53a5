package browsertest

import (
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/testupstream"
)

var update = flag.Bool("update", false, "rewrite testdata/markdown.golden from the current renderer")

// markdownCases are rendered by static/markdown.js in the browser and
// compared with testdata/markdown.golden.
var markdownCases = []struct{ name, src string }{
	{"paragraphs and line breaks", "one\ntwo\n\nthree"},
	{"emphasis", "**bold** *it* ***both*** ~~gone~~ __under__ _it_ snake_case_name 2*3*4 * lone"},
	{"inline code", "use `fmt.Println` or `` a`b `` and `<b>`"},
	{"escapes", `\*not em\* and \# and \<b\>`},
	{"links", "[ok](https://example.com/a?b=1&c=2 \"title\") [mail](mailto:a@b.c) [rel](/local) [js](javascript:alert(1)) [JS](JaVaScRiPt:alert(1)) [ws]( java\tscript:alert(1)) <https://auto.link/x> see https://bare.example/path. and [*em* label](http://x.y)"},
	{"image is a link", "![alt text](https://example.com/i.png) ![bad](javascript:alert(1))"},
	{"headings", "# One\n## Two ##\n###### Six\n#not a heading"},
	{"lists", "- a\n- b\n  - nested\n  - more\n- c\n\n3. three\n4. four"},
	{"loose list", "1. first\n\n   still first\n2. second"},
	{"blockquote", "> quoted **text**\n> more\n\nafter"},
	{"code fence", "```python\nprint(\"<hi>\")  # note\n```"},
	{"unclosed fence while streaming", "text\n```js\nconst a = 1"},
	{"tilde fence and info", "~~~ {.go}\nfunc f() {}\n~~~"},
	{"table", "| a | b | c |\n|:--|:-:|--:|\n| 1 | `x|y` | **3** |\n| only |"},
	{"raw html stays text", "<script>alert(1)</script>\n<img src=x onerror=alert(1)>\n<b onclick=x>hi</b>"},
	{"rule", "above\n\n---\n\nbelow"},
	{"hostile links", "[a](&#106;avascript:alert(1)) [b](javascript&colon;alert(1)) [c](<javascript:alert(1)>) [d](JaVaScRiPt&#58;alert(1)) " +
		"[e](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==) [f](vbscript:msgbox(1)) [g](//evil.example/x) [h](file:///etc/passwd) " +
		"[i](https://ok.example/\" onclick=\"alert(1)) [j](\u0001javascript:alert(1)) <javascript:alert(1)> <data:text/html,x> javascript:alert(1)"},
	{"nested brackets", "[outer [inner](javascript:alert(1))](https://ok.example) [[double]](https://ok.example/2) [a]([b](https://x.example)) [unclosed [x](https://y.example)"},
	{"html in code and text", "`<img src=x onerror=alert(1)>` and <img src=x onerror=alert(1)> &lt;script&gt; &#60;b&#62; &amp;"},
	{"heading edge cases", "# C#\n####### seven\n#\n## closed ##   \n# a    "},
	{"entities show as characters", "AT&amp;T &lt;b&gt; &quot;q&quot; &copy; &hellip; &#169; &#x1F600; &#0; &nosuch; & alone; `&amp; in code`"},
	{"math as text until typeset", "inline $x^2$ and \\(y\\), display $$\\frac{a}{b}$$ and \\[z\\]; prices $5 and $10, $ lone, `$code$`, \\$escaped$"},
	{"fence edge cases", "```a`b\n```` \ncode ``` inside\n````"},
}

// TestMarkdown checks static/markdown.js in the browser, all parts on one
// page (starting one costs more than most of the checks).
func TestMarkdown(t *testing.T) {
	up := testupstream.New(t)
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	for _, part := range []struct {
		name string
		run  func(*testing.T, *browser)
	}{
		{"golden", markdownGolden},
		{"incremental matches full", markdownIncremental},
		{"pathological input", markdownPathological},
	} {
		t.Run(part.name, func(t *testing.T) {
			// The browser reports to the running subtest (its Fatalf must
			// be called from that subtest's goroutine).
			parent := b.t
			b.t = t
			defer func() { b.t = parent }()
			part.run(t, b)
		})
	}
	b.checkClean()
}

func markdownGolden(t *testing.T, b *browser) {
	srcs := make([]string, len(markdownCases))
	for i, c := range markdownCases {
		srcs[i] = c.src
	}
	in, _ := json.Marshal(srcs)
	// The page's own module, loaded the way the app loads it; the result is
	// serialized from the DOM it built.
	expr := `(async (srcs) => {
		const href = document.querySelector('link[rel=modulepreload][href$="markdown.js"]').href;
		const md = await import(href);
		return srcs.map(s => { const d = document.createElement('div'); d.append(md.render(s)); return d.innerHTML; });
	})(` + string(in) + `)`
	var out []string
	b.run(chromedp.Evaluate(expr, &out, awaitPromise))
	var sb strings.Builder
	for i, c := range markdownCases {
		sb.WriteString("=== " + c.name + "\n" + c.src + "\n---\n" + out[i] + "\n\n")
	}
	golden := filepath.Join("testdata", "markdown.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if got := sb.String(); got != string(want) {
		gotCases, wantCases := strings.Split(got, "\n=== "), strings.Split(string(want), "\n=== ")
		for i := range min(len(gotCases), len(wantCases)) {
			if gotCases[i] != wantCases[i] {
				t.Errorf("markdown case differs from %s:\n got: %s\nwant: %s", golden, gotCases[i], wantCases[i])
			}
		}
		if len(gotCases) != len(wantCases) {
			t.Errorf("%d cases, golden has %d", len(gotCases), len(wantCases))
		}
	}
}

func awaitPromise(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }

// A streaming reply is drawn with renderInto, which keeps the elements of
// blocks that did not change. Fed every case one character at a time, it
// must end every step with exactly what render draws for that text, and it
// must actually keep earlier blocks.
func markdownIncremental(t *testing.T, b *browser) {
	srcs := []string{codeReply, hostile}
	for _, c := range markdownCases {
		srcs = append(srcs, c.src)
	}
	in, _ := json.Marshal(srcs)
	var res struct {
		Mismatches []string `json:"mismatches"`
		Kept       int      `json:"kept"`
	}
	b.run(chromedp.Evaluate(`(async (srcs) => {
		const href = document.querySelector('link[rel=modulepreload][href$="markdown.js"]').href;
		const md = await import(href);
		const mismatches = [];
		let kept = 0;
		for (const src of srcs) {
			const el = document.createElement('div');
			let st = null;
			for (let n = 0; n <= src.length; n++) {
				const before = st ? st.blocks.map(b => b.node) : [];
				st = md.renderInto(el, src.slice(0, n), st);
				kept += st.blocks.filter(b => before.includes(b.node)).length;
				const want = document.createElement('div');
				want.append(md.render(src.slice(0, n)));
				if (el.innerHTML !== want.innerHTML) {
					mismatches.push(JSON.stringify(src.slice(0, n)) + '\n got: ' + el.innerHTML + '\nwant: ' + want.innerHTML);
					break;
				}
			}
		}
		return { mismatches, kept };
	})(`+string(in)+`)`, &res, awaitPromise))
	for _, m := range res.Mismatches {
		t.Errorf("renderInto differs from render after the prefix %s", m)
	}
	if res.Kept == 0 {
		t.Errorf("renderInto never kept a block's element: every step rebuilt everything")
	}
}

// Model output is untrusted input to the parser too: these texts made
// earlier versions take cubic or quadratic time (minutes for the first) or
// recurse without bound. Each must render — linear time takes well under a
// second; anything worse runs into the browser's timeout and fails.
func markdownPathological(t *testing.T, b *browser) {
	var res []string
	b.run(chromedp.Evaluate(`(async () => {
		const href = document.querySelector('link[rel=modulepreload][href$="markdown.js"]').href;
		const md = await import(href);
		const cases = {
			headingSpaces: '# a' + ' '.repeat(50000) + 'x',
			fenceSpaces: '`+"```"+`' + ' '.repeat(100000) + '`+"`"+`x',
			tableSepSpaces: 'a|b\n' + ' '.repeat(100000) + '-x',
			openBrackets: 'x ['.repeat(100000),
			openLinks: '[a](b '.repeat(60000),
			openStars: 'a *b '.repeat(80000),
			openUnderscores: 'a _b '.repeat(80000),
			openTicks: 'a `+"``"+`b '.repeat(80000) + '`+"`"+`',
			deepQuote: '> '.repeat(50000) + 'x',
			deepList: '- '.repeat(50000) + 'x',
			deepListLines: Array.from({length: 1000}, (_, i) => ' '.repeat(2 * i) + '- x').join('\n'),
			deepEmphasis: '*a '.repeat(20000) + 'x' + ' a*'.repeat(20000),
			deepLinks: '['.repeat(20000) + 'x' + '](https://e.x)'.repeat(20000),
		};
		const out = [];
		for (const [name, src] of Object.entries(cases)) {
			try {
				const d = document.createElement('div');
				d.append(md.render(src));
				if (!d.textContent.includes('x') && !d.textContent.includes('b')) out.push(name + ': text lost');
			} catch (e) {
				out.push(name + ': ' + e);
			}
		}
		return out;
	})()`, &res, awaitPromise))
	for _, r := range res {
		t.Errorf("pathological markdown: %s", r)
	}
}

// streamedReplyJS builds, in the page, a reply of about 4,500 tokens of
// what models write: headings, paragraphs with inline markup, lists, code
// and tables.
const streamedReplyJS = `(() => {
	let s = '';
	for (let sec = 1; sec <= 26; sec++) {
		s += '## Section ' + sec + '\n\n';
		for (let p = 0; p < 3; p++) s += 'lorem **ipsum** dolor ` + "`sit`" + ` amet '.repeat(12) + '\n\n';
		s += '- item one\n- item two with [a link](https://example.com)\n  - nested\n\n';
		s += '` + "```" + `go\nfunc f(a, b int) int {\n\t// comment\n\treturn a + b + 42\n}\n` + "```" + `\n\n';
		s += '| a | b |\n|---|---|\n| 1 | 2 |\n\n';
	}
	return s;
})()`

// BenchmarkStreamedReplyRender draws a long reply the way the page does
// while it streams, once per frame over 240 frames: "incremental" with
// renderInto (what the page does: only changed blocks are rebuilt), "full"
// with render (everything, every frame; quadratic in the reply's length).
//
//	go test -run '^$' -bench StreamedReply ./internal/web/browsertest/
func BenchmarkStreamedReplyRender(b *testing.B) {
	base := serveWeb(b, http.NotFoundHandler(), nil)
	br := newBrowser(b, base, browserOpt{})
	br.run(chromedp.Navigate(base + "/"))
	br.waitJS(`document.querySelector('link[rel=modulepreload][href$="markdown.js"]') !== null`)
	step := map[string]string{
		"incremental": `st = md.renderInto(el, text.slice(0, n), st);`,
		"full":        `el.replaceChildren(md.render(text.slice(0, n)));`,
	}
	for _, mode := range []string{"incremental", "full"} {
		b.Run(mode, func(b *testing.B) {
			parent := br.t
			br.t = b
			defer func() { br.t = parent }()
			expr := `(async () => {
				const md = await import(document.querySelector('link[rel=modulepreload][href$="markdown.js"]').href);
				const text = ` + streamedReplyJS + `;
				const el = document.createElement('div');
				let st = null;
				for (let k = 1; k <= 240; k++) {
					const n = Math.floor(text.length * k / 240);
					` + step[mode] + `
				}
				return el.childNodes.length;
			})()`
			for b.Loop() {
				var n int
				br.run(chromedp.Evaluate(expr, &n, awaitPromise))
			}
		})
	}
}
