package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/testupstream"
)

func TestSendAndStream(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(40*time.Millisecond))
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.waitJS(`!document.getElementById('empty').hidden && document.querySelectorAll('.example').length >= 3`)
	if got := b.text("#examples"); !strings.Contains(got, "Tell me a joke") || !strings.Contains(got, "Write a short poem") {
		t.Errorf("example prompts = %q", got)
	}
	b.screenshot("01-empty")

	msg := "Streaming works one word at a time in this friendly little test of Parley"
	b.send(msg)
	// Mid-stream: some text shown, not all of it yet, Stop offered.
	b.waitJS(`(() => { const m = document.querySelector('.msg.assistant.streaming .md');
		return m && m.textContent.length > 5 })()`)
	var partial string
	b.eval(`document.querySelector('.msg.assistant .md').textContent`, &partial)
	if len(partial) >= len(msg) {
		t.Errorf("reply was complete before the stream ended: %q", partial)
	}
	b.waitJS(`!document.getElementById('stop-btn').hidden`)
	b.screenshot("02-streaming")
	b.waitIdle()
	if got := b.text(".msg.assistant .md"); got != msg {
		t.Errorf("reply = %q, want %q", got, msg)
	}
	if got := b.text(".msg.user .bubble"); got != msg {
		t.Errorf("user message = %q", got)
	}
	if p := b.path(); !strings.HasPrefix(p, "/c/") {
		t.Errorf("path after first message = %q, want /c/{id}", p)
	}
	stats := b.text(".msg.assistant .stats")
	for _, want := range []string{"test-model", "tokens", "TTFT", "tok/s"} {
		if !strings.Contains(stats, want) {
			t.Errorf("stats %q lack %q", stats, want)
		}
	}
	b.waitJS(`document.querySelectorAll('.conv-item').length === 1`)
	b.screenshot("03-complete")

	// Shift+Enter is a new line, not a send.
	b.run(chromedp.SendKeys("#composer-input", "line one", chromedp.ByQuery),
		chromedp.KeyEvent("\r", chromedp.KeyModifiers(input.ModifierShift)))
	b.send("line two")
	b.waitReplies(2)
	if n := b.count(".msg.user"); n != 2 {
		t.Errorf("%d user messages, want 2 (Shift+Enter must not send)", n)
	}
	var last string
	b.eval(`[...document.querySelectorAll('.msg.user .bubble')].pop().textContent`, &last)
	if last != "line one\nline two" {
		t.Errorf("multi-line message = %q", last)
	}
	b.checkClean()
}

// longReply is long enough that a test can act while it streams.
func longReply(words int) string {
	var sb strings.Builder
	for i := range words {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString("word")
	}
	return sb.String()
}

func TestStop(t *testing.T) {
	tests := []struct {
		name string
		stop func(b *browser)
	}{
		{"button", func(b *browser) { b.click("#stop-btn") }},
		{"escape key", func(b *browser) { b.run(pressKey("Escape", 27, false)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			full := longReply(300)
			up := testupstream.New(t, testupstream.WithTokenDelay(30*time.Millisecond), testupstream.WithReply(testupstream.Scripted(full)))
			base := startParley(t, up.URL)
			b := newBrowser(t, base, browserOpt{})
			b.open("/")
			b.send("Talk for a long time")
			b.waitJS(`(document.querySelector('.msg.assistant.streaming .md') || {textContent: ''}).textContent.length > 20`)
			tt.stop(b)
			b.waitIdle()
			got := b.text(".msg.assistant .md")
			if len(got) == 0 || len(got) >= len(full) {
				t.Errorf("stopped reply has %d bytes, want some but fewer than %d", len(got), len(full))
			}
			if s := b.text(".msg.assistant .stats"); !strings.Contains(s, "Stopped") {
				t.Errorf("stats %q do not say Stopped", s)
			}
			conv := getConversation(t, base, strings.TrimPrefix(b.path(), "/c/"))
			last := conv.Messages[len(conv.Messages)-1]
			if last.Status != "stopped" || conv.Running {
				t.Errorf("server: last message status %q running %v, want stopped and not running", last.Status, conv.Running)
			}
			// The stream really ended upstream, not just in the page.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := up.Await(ctx, func(s testupstream.Stats) bool { return s.Canceled == 1 }); err != nil {
				t.Errorf("upstream generation was not cancelled: %v (stats %+v)", err, up.Stats())
			}
			if tt.name == "button" {
				b.screenshot("04-stopped")
			}
			// Focus does not fall to <body> when the Stop button goes away.
			var focused string
			b.eval(`document.activeElement.id`, &focused)
			if focused != "composer-input" {
				t.Errorf("after the reply stopped, focus is on %q, want the message box", focused)
			}
			b.checkClean()
		})
	}
}

func TestRetryUndoClear(t *testing.T) {
	n := 0
	up := testupstream.New(t, testupstream.WithTokenDelay(5*time.Millisecond), testupstream.WithReply(func([]chat.Turn) string {
		n++
		return fmt.Sprintf("answer number %d", n)
	}))
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.click(".example") // "Tell me a joke"
	b.waitReplies(1)
	if got := b.text(".msg.user .bubble"); got != "Tell me a joke" {
		t.Errorf("example prompt sent %q", got)
	}
	if got := b.text(".msg.assistant .md"); got != "answer number 1" {
		t.Fatalf("first reply %q", got)
	}

	b.click("#retry-btn")
	b.waitJS(`document.querySelector('.msg.assistant .md') && document.querySelector('.msg.assistant .md').textContent === 'answer number 2'`)
	b.waitIdle()
	if c := b.count(".msg"); c != 2 {
		t.Errorf("after Retry: %d messages, want 2", c)
	}
	// The per-message regenerate button does the same.
	b.click(".msg.assistant .retry-msg")
	b.waitJS(`(document.querySelector('.msg.assistant .md') || {}).textContent === 'answer number 3'`)
	b.waitIdle()

	b.send("second question")
	b.waitReplies(2)
	if c := b.count(".msg"); c != 4 {
		t.Fatalf("%d messages, want 4", c)
	}
	b.click("#undo-btn")
	b.waitJS(`document.querySelectorAll('.msg').length === 2`)
	var box string
	b.eval(`document.getElementById('composer-input').value`, &box)
	if box != "second question" {
		t.Errorf("after Undo the composer holds %q, want the undone question", box)
	}
	conv := getConversation(t, base, strings.TrimPrefix(b.path(), "/c/"))
	if len(conv.Messages) != 2 {
		t.Errorf("server has %d messages after Undo, want 2", len(conv.Messages))
	}

	b.click("#clear-btn")
	b.waitJS(`document.getElementById('confirm-dialog').open`)
	b.screenshot("05-confirm-clear")
	b.click("#confirm-ok")
	b.waitJS(`document.querySelectorAll('.msg').length === 0 && !document.getElementById('empty').hidden`)
	conv = getConversation(t, base, strings.TrimPrefix(b.path(), "/c/"))
	if len(conv.Messages) != 0 {
		t.Errorf("server has %d messages after Clear, want 0", len(conv.Messages))
	}
	b.checkClean()
}

func TestEditAndResend(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(5*time.Millisecond))
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.send("first question")
	b.waitReplies(1)
	b.send("second question")
	b.waitReplies(2)
	b.click(".msg.user .edit-msg") // the first user message
	b.waitJS(`document.querySelector('.edit-input') !== null`)
	b.run(chromedp.Evaluate(`document.querySelector('.edit-input').value = ''`, nil),
		chromedp.SendKeys(".edit-input", "edited question", chromedp.ByQuery))
	b.screenshot("06-editing")
	b.run(pressKey("Enter", 13, false))
	b.waitJS(`document.querySelectorAll('.msg').length === 2`)
	b.waitIdle()
	if got := b.text(".msg.user .bubble"); got != "edited question" {
		t.Errorf("edited message = %q", got)
	}
	if got := b.text(".msg.assistant .md"); got != "edited question" {
		t.Errorf("reply to the edit = %q", got)
	}
	conv := getConversation(t, base, strings.TrimPrefix(b.path(), "/c/"))
	if len(conv.Messages) != 2 || conv.Messages[0].Content != "edited question" {
		t.Errorf("server after edit: %+v", conv.Messages)
	}
	b.checkClean()
}

// conversation is the api's answer to GET /api/conversations/{id}.
type conversation struct {
	ID           string `json:"id"`
	Title        string `json:"title"`
	SystemPrompt string `json:"system_prompt"`
	Running      bool   `json:"running"`
	Messages     []struct {
		ID      string `json:"id"`
		Role    string `json:"role"`
		Content string `json:"content"`
		Status  string `json:"status"`
		Error   string `json:"error"`
		// FinishReason and ContextFrom are a reply's.
		FinishReason string `json:"finish_reason"`
		ContextFrom  string `json:"context_from"`
	} `json:"messages"`
}

func getConversation(t *testing.T, base, id string) conversation {
	t.Helper()
	res, err := http.Get(base + "/api/conversations/" + id)
	if err != nil {
		t.Fatalf("get conversation: %v", err)
	}
	defer res.Body.Close()
	var c conversation
	if res.StatusCode != http.StatusOK {
		t.Fatalf("get conversation %s: HTTP %d", id, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(&c); err != nil {
		t.Fatalf("decode conversation: %v", err)
	}
	return c
}

func postJSON(t *testing.T, url, body string) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	res.Body.Close()
	if res.StatusCode >= 300 {
		t.Fatalf("POST %s: HTTP %d", url, res.StatusCode)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d", url, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
