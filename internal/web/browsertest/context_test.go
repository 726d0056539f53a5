package browsertest

import (
	"strings"
	"testing"
)

// TestConversationPastTheContextWindow is the issue's: on stories260K,
// whose every reply runs to the end of its context window, a conversation
// of four turns far past the window is answered at every turn; a quiet
// divider shows where the model's view began; a reply cut off by the
// length limit offers Continue, which goes on in the same message.
func TestConversationPastTheContextWindow(t *testing.T) {
	base := startStories(t, 256)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	questions := []string{"Once upon a time", "Lily went to the park", "Ben had a big red ball", "The sun was hot that day"}
	for i, q := range questions {
		b.send(q)
		b.waitReplies(i + 1)
		if n := b.count(".error-row, .msg-error"); n != 0 {
			t.Fatalf("turn %d failed: %s", i+1, b.text(".msg-error"))
		}
	}
	conv := getConversation(t, base, strings.TrimPrefix(b.path(), "/c/"))
	if len(conv.Messages) != 8 {
		t.Fatalf("server holds %d messages, want 8", len(conv.Messages))
	}
	for i, m := range conv.Messages {
		if m.Role == "assistant" && (m.Status != "complete" || m.Content == "" || m.FinishReason != "length") {
			t.Errorf("reply %d: status %q finish %q, %d bytes", i, m.Status, m.FinishReason, len(m.Content))
		}
	}
	// The divider sits right above the newest question: the model saw
	// only that one.
	last := conv.Messages[len(conv.Messages)-1]
	if last.ContextFrom != conv.Messages[len(conv.Messages)-2].ID {
		t.Fatalf("the last reply saw from %q, want its own question", last.ContextFrom)
	}
	var above string
	b.eval(`(() => { const d = document.querySelectorAll('.context-divider');
		return d.length === 1 && d[0].nextElementSibling ? d[0].nextElementSibling.dataset.id : '' })()`, &above)
	if above != last.ContextFrom {
		t.Errorf("divider above message %q, want one divider above %q", above, last.ContextFrom)
	}
	if got := b.text(".context-divider"); !strings.Contains(got, "beyond what the model can see") {
		t.Errorf("divider says %q", got)
	}
	b.eval(`document.querySelector('.context-divider').scrollIntoView({block: 'center'}), true`, new(bool))
	b.screenshot("06-context-divider")

	// Continue: only on the last reply, and it grows in place.
	if n := b.count(".continue-msg"); n != 1 {
		t.Fatalf("%d Continue buttons, want one, on the last reply", n)
	}
	before := b.text(".msg.assistant:last-of-type .md")
	b.click(".continue-msg")
	b.waitJS(`!!document.querySelector('.msg.assistant.streaming') || !document.querySelector('.continue-msg')`)
	b.waitIdle()
	b.waitReplies(4)
	var after string
	b.eval(`[...document.querySelectorAll('.msg.assistant .md')].pop().textContent`, &after)
	if !strings.HasPrefix(after, before) || len(after) <= len(before) {
		t.Errorf("continued reply %q does not extend %q", after, before)
	}
	conv = getConversation(t, base, conv.ID)
	if len(conv.Messages) != 8 || conv.Messages[7].ID != last.ID || len(conv.Messages[7].Content) <= len(last.Content) ||
		conv.Messages[7].Status != "complete" {
		t.Errorf("after Continue the server holds %d messages, the last %+v", len(conv.Messages), conv.Messages[len(conv.Messages)-1])
	}
	b.checkClean()
}
