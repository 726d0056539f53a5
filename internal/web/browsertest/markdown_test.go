package browsertest

import (
	"encoding/json"
	"flag"
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
}

func TestMarkdownGolden(t *testing.T) {
	up := testupstream.New(t)
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
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
	b.run(chromedp.Evaluate(expr, &out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
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
	b.checkClean()
}
