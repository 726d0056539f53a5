package integration

import (
	"path/filepath"
	"testing"

	"github.com/parley-chat/parley/internal/sharedtest"
)

// TestLongConversationSplit is the scenario over real processes:
// stories260K in its own 2,048-token window behind a model service, every
// reply running to the end of that window, and an api process that fits
// each prompt by asking the model service to count. Every turn of a
// conversation four times past the window is answered, in the stream and
// through the seed's /chat, and a reply cut by the window is continued in
// place.
func TestLongConversationSplit(t *testing.T) {
	model := start(t, "model", freeAddr(t), true, "model", "--model", sharedtest.Stories260K(t), "--models-dir", t.TempDir())
	api := start(t, "api", freeAddr(t), true, "api", "--model-url", model.url(),
		"--database", filepath.Join(t.TempDir(), "parley.db"))
	base := api.url()

	var c conversation
	if code := doJSON(t, "POST", base+"/api/conversations", map[string]string{"system_prompt": "A story for children."}, &c); code != 201 {
		t.Fatalf("create: %d", code)
	}
	total := 0
	for i, q := range []string{"Once upon a time", "Lily went to the park", "Ben had a big red ball", "The sun was hot that day"} {
		text, final := collect(t, base+"/api/conversations/"+c.ID+"/messages", map[string]string{"content": q})
		if final.Status != "complete" || final.Content != text || text == "" || final.FinishReason != "length" {
			t.Fatalf("turn %d: streamed %d bytes, final %+v", i+1, len(text), final)
		}
		// The last token generated needs no room in the window.
		if final.PromptTokens+final.OutputTokens > 2048+1 || final.PromptTokens > 2048-512 {
			t.Errorf("turn %d: prompt %d + reply %d tokens in a window of 2048 with 512 kept for the reply", i+1, final.PromptTokens, final.OutputTokens)
		}
		total += final.PromptTokens + final.OutputTokens
	}
	if total < 4*2048*3/4 {
		t.Fatalf("the conversation took %d tokens: not far past the window", total)
	}
	doJSON(t, "GET", base+"/api/conversations/"+c.ID, nil, &c)
	last := c.Messages[len(c.Messages)-1]
	if len(c.Messages) != 8 || last.ContextFrom != c.Messages[6].ID {
		t.Fatalf("%d messages; the last reply saw from %q, want its question %q", len(c.Messages), last.ContextFrom, c.Messages[6].ID)
	}

	// A reply that filled the window goes on in the same message.
	var cont struct {
		Assistant message `json:"assistant_message"`
	}
	if code := doJSON(t, "POST", base+"/api/conversations/"+c.ID+"/continue", map[string]bool{"stream": false}, &cont); code != 200 {
		t.Fatalf("continue: %d", code)
	}
	if a := cont.Assistant; a.ID != last.ID || a.Status != "complete" || len(a.Content) <= len(last.Content) || a.Content[:len(last.Content)] != last.Content {
		t.Fatalf("continued %+v\nfrom %+v", a, last)
	}

	// The seed's one-shot exchange, past the window too.
	for i := range 2 {
		var out struct {
			Response       string `json:"response"`
			ConversationID string `json:"conversation_id"`
		}
		if code := doJSON(t, "POST", base+"/chat", map[string]string{"message": "Tom and Sue played", "conversation_id": c.ID}, &out); code != 200 || out.Response == "" {
			t.Fatalf("/chat %d: %d %+v", i+1, code, out)
		}
	}
}
