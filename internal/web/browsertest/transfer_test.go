package browsertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/testupstream"
)

// A chat exports as Markdown and JSON from the top bar; a JSON file
// imports from the sidebar as a new chat, which opens.
func TestExportImport(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(2*time.Millisecond))
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	var hidden bool
	b.eval(`document.getElementById('export-btn').hidden`, &hidden)
	if !hidden {
		t.Errorf("Export offered on a new, empty chat")
	}
	b.send("Export me please")
	b.waitReplies(1)
	b.click("#export-btn")
	b.waitJS(`document.getElementById('export-dialog').open`)
	b.screenshot("23-export")
	id := strings.TrimPrefix(b.path(), "/c/")
	var md, js string
	b.eval(`document.getElementById('export-md').getAttribute('href')`, &md)
	b.eval(`document.getElementById('export-json').getAttribute('href')`, &js)
	if md != "/api/conversations/"+id+"/export?format=md" || js != "/api/conversations/"+id+"/export?format=json" {
		t.Fatalf("export links %q and %q", md, js)
	}
	var text string
	b.run(chromedp.Evaluate(`fetch(document.getElementById('export-md').href).then((r) => r.text())`, &text, awaitPromise))
	if !strings.HasPrefix(text, "# Export me please\n") || !strings.Contains(text, "## You\n\nExport me please") {
		t.Errorf("the Markdown export reads %q", text)
	}
	b.click("#export-dialog button[value=cancel]")
	b.waitJS(`!document.getElementById('export-dialog').open`)

	// Import a file the way a user picks one.
	file := filepath.Join(t.TempDir(), "chat.json")
	if err := os.WriteFile(file, []byte(`[{"role":"system","content":"Be brief."},{"role":"user","content":"An imported question"},{"role":"assistant","content":"An imported **answer**"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	b.run(chromedp.SetUploadFiles("#import-file", []string{file}, chromedp.ByQuery))
	b.waitJS(`location.pathname !== '/c/` + id + `' && (document.querySelector('.msg.user .bubble') || {}).textContent === 'An imported question'`)
	if got := b.text(".msg.assistant .md strong"); got != "answer" {
		t.Errorf("the imported reply renders %q in bold", got)
	}
	b.waitJS(`document.querySelectorAll('.conv-item').length === 2 && document.querySelector('.conv-item [aria-current=page]') !== null`)
	if got := b.text(".conv-item [aria-current=page]"); got != "An imported question" {
		t.Errorf("the imported chat is listed as %q", got)
	}
	conv := getConversation(t, base, strings.TrimPrefix(b.path(), "/c/"))
	if conv.SystemPrompt != "Be brief." || len(conv.Messages) != 2 {
		t.Errorf("the server holds %+v", conv)
	}
	b.screenshot("24-imported")

	// A file that is not JSON is refused in words.
	bad := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(bad, []byte("just text"), 0o644)
	b.run(chromedp.SetUploadFiles("#import-file", []string{bad}, chromedp.ByQuery))
	b.waitJS(`!document.getElementById('banner').hidden`)
	if got := b.text("#banner"); !strings.Contains(got, "notes.txt") {
		t.Errorf("banner for a text file: %q", got)
	}
	b.checkClean()

	for _, o := range []struct {
		name string
		opt  browserOpt
	}{
		{"23-export-dark", browserOpt{dark: true}},
		{"23-export-phone", browserOpt{width: 375, height: 740}},
		{"23-export-phone-dark", browserOpt{width: 375, height: 740, dark: true}},
	} {
		ob := newBrowser(t, base, o.opt)
		ob.open("/c/" + id)
		ob.waitJS(`document.querySelectorAll('.msg').length === 2 && !document.getElementById('export-btn').hidden`)
		ob.click("#export-btn")
		ob.waitJS(`document.getElementById('export-dialog').open`)
		ob.screenshot(o.name)
		ob.checkClean()
	}
}
