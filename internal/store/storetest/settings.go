package storetest

import (
	"testing"

	"github.com/parley-chat/parley/internal/chat"
)

// A conversation's generation settings are stored with it, change only
// all together, and are refused outside what models accept.
func (s suite) testGenerationSettings(t *testing.T) {
	st := s.conversations(t)
	f := func(v float64) *float64 { return &v }
	eq := func(a, b *float64) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
	same := func(a, b chat.Settings) bool {
		return eq(a.Temperature, b.Temperature) && eq(a.TopP, b.TopP) && a.MaxTokens == b.MaxTokens
	}
	want := chat.Settings{Temperature: f(0.3), TopP: f(0.9), MaxTokens: 256}
	c := mustCreate(t, st, chat.Conversation{Title: "tuned", Settings: want})
	if got := mustGet(t, st, c.ID).Settings; !same(got, want) || !same(c.Settings, want) {
		t.Fatalf("created with %+v, stored %+v", want, got)
	}
	page, err := st.ListConversations(ctxT(t), chat.ListOptions{})
	if err != nil || len(page.Conversations) != 1 || !same(page.Conversations[0].Settings, want) {
		t.Fatalf("listed %+v, %v", page.Conversations, err)
	}
	title := "renamed"
	got, err := st.UpdateConversation(ctxT(t), c.ID, chat.ConversationPatch{Title: &title})
	if err != nil || !same(got.Settings, want) {
		t.Fatalf("a rename changed the settings: %+v, %v", got.Settings, err)
	}
	reset := chat.Settings{TopP: f(0.5)}
	got, err = st.UpdateConversation(ctxT(t), c.ID, chat.ConversationPatch{Settings: &reset})
	if err != nil || !same(got.Settings, reset) || !same(mustGet(t, st, c.ID).Settings, reset) {
		t.Fatalf("settings replaced by %+v: %+v, %v", reset, got.Settings, err)
	}
	for _, bad := range []chat.Settings{{Temperature: f(-0.1)}, {Temperature: f(2.5)}, {TopP: f(0)}, {TopP: f(1.5)}, {MaxTokens: -1}} {
		_, err := st.UpdateConversation(ctxT(t), c.ID, chat.ConversationPatch{Settings: &bad})
		wantKind(t, "settings out of range", err, chat.KindInvalid)
		_, err = st.CreateConversation(ctxT(t), chat.Conversation{Settings: bad})
		wantKind(t, "created with settings out of range", err, chat.KindInvalid)
	}
	if got := mustGet(t, st, c.ID).Settings; !same(got, reset) {
		t.Errorf("refused settings changed them to %+v", got)
	}
}
