package storetest

import (
	"slices"
	"testing"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/chat"
)

// Retry and edit keep what they replace as versions of the turn; the
// conversation shows the chosen branch, and choosing another version
// brings back what followed it, as it was.
func (s suite) testVersions(t *testing.T) {
	store := s.open(t)
	st := store.For(account.LocalID)
	c := mustCreate(t, st, chat.Conversation{})
	finish := func(m chat.Message, text string) chat.Message {
		t.Helper()
		m.Content, m.Status, m.FinishReason = text, chat.StatusComplete, chat.FinishStop
		if err := st.SaveReply(ctxT(t), m, live); err != nil {
			t.Fatalf("SaveReply(%q): %v", text, err)
		}
		return m
	}
	branch := func(what string, want ...string) []chat.Message {
		t.Helper()
		got := mustGet(t, st, c.ID).Messages
		if !slices.Equal(msgContents(got), want) {
			t.Fatalf("%s: the conversation shows %q, want %q", what, msgContents(got), want)
		}
		return got
	}
	start := func(r chat.NewReply) (*chat.Message, chat.Message) {
		t.Helper()
		r.ConversationID, r.Lease = c.ID, live
		r.Reply = chat.Message{Role: chat.RoleAssistant}
		u, m, err := st.StartReply(ctxT(t), r)
		if err != nil {
			t.Fatalf("StartReply(%+v): %v", r, err)
		}
		return u, m
	}
	choose := func(id string, v int) {
		t.Helper()
		if err := st.SelectVersion(ctxT(t), c.ID, id, v); err != nil {
			t.Fatalf("SelectVersion(%d): %v", v, err)
		}
	}
	versionOf := func(m chat.Message) [2]int { return [2]int{m.Version, m.Versions} }

	u1, r1 := start(chat.NewReply{User: &chat.Message{Role: chat.RoleUser, Content: "q1"}})
	finish(r1, "a1")
	if u1.ParentID != "" || r1.ParentID != u1.ID || versionOf(r1) != [2]int{} {
		t.Errorf("first exchange: user parent %q, reply parent %q (want %q), version %v", u1.ParentID, r1.ParentID, u1.ID, versionOf(r1))
	}
	// Retry: a second version of the reply, chosen.
	_, r2 := start(chat.NewReply{From: r1.ID})
	if r2.ParentID != u1.ID || versionOf(r2) != [2]int{2, 2} {
		t.Errorf("retried reply: parent %q, version %v, want %q, [2 2]", r2.ParentID, versionOf(r2), u1.ID)
	}
	finish(r2, "a2")
	got := branch("after retry", "q1", "a2")
	if got[1].ID != r2.ID || got[1].ParentID != u1.ID || versionOf(got[1]) != [2]int{2, 2} || versionOf(got[0]) != [2]int{} {
		t.Errorf("after retry the conversation shows %+v", got)
	}
	_, r3 := start(chat.NewReply{User: &chat.Message{Role: chat.RoleUser, Content: "q2"}})
	finish(r3, "a3")
	branch("after a second question", "q1", "a2", "q2", "a3")

	// The first version: the second question followed the other one.
	choose(r2.ID, 1)
	if got := branch("version 1", "q1", "a1"); versionOf(got[1]) != [2]int{1, 2} {
		t.Errorf("version 1 is numbered %v", versionOf(got[1]))
	}
	// Only the last message of the branch shown can be continued.
	_, _, err := st.StartReply(ctxT(t), chat.NewReply{ConversationID: c.ID, Continue: r3.ID, Lease: live})
	wantCode(t, "continuing a reply of a branch not shown", err, chat.KindInvalid, chat.CodeNotContinuable)
	choose(r1.ID, 2)
	branch("version 2 again", "q1", "a2", "q2", "a3")

	// Edit the first question: the whole exchange is the earlier version.
	ue, re := start(chat.NewReply{From: u1.ID, User: &chat.Message{Role: chat.RoleUser, Content: "q1 edited"}})
	if ue.ParentID != "" || versionOf(*ue) != [2]int{2, 2} || re.ParentID != ue.ID || versionOf(re) != [2]int{} {
		t.Errorf("edited question %+v, its reply %+v", *ue, re)
	}
	finish(re, "ae")
	branch("after edit", "q1 edited", "ae")
	// The first question comes back with the reply version chosen under it.
	choose(ue.ID, 1)
	branch("first question again", "q1", "a2", "q2", "a3")

	// The model continues the last reply of the branch shown.
	_, cont := start(chat.NewReply{Continue: r3.ID})
	if cont.ID != r3.ID {
		t.Fatalf("continued %s, want %s", cont.ID, r3.ID)
	}
	// While it streams, the versions stay as they are.
	wantCode(t, "SelectVersion beside a live reply", st.SelectVersion(ctxT(t), c.ID, u1.ID, 2), chat.KindConflict, chat.CodeReplyRunning)
	finish(cont, "a3 and more")

	// Versions that do not exist, messages that are not there.
	for _, v := range []int{0, 3, -1} {
		wantCode(t, "SelectVersion of a missing version", st.SelectVersion(ctxT(t), c.ID, u1.ID, v), chat.KindInvalid, chat.CodeNoSuchVersion)
	}
	other := mustCreate(t, st, chat.Conversation{})
	stranger := mustAppend(t, st, chat.Message{ConversationID: other.ID, Role: chat.RoleUser, Content: "elsewhere"})
	for _, id := range []string{chat.NewID(), stranger.ID, "not-an-id"} {
		wantKind(t, "SelectVersion of a message not in the conversation", st.SelectVersion(ctxT(t), c.ID, id, 1), chat.KindNotFound)
	}
	// Nobody else chooses versions of this conversation.
	bob := mustUser(t, store, "bob", account.RoleUser)
	wantKind(t, "bob choosing a version of the local user's conversation", store.For(bob.ID).SelectVersion(ctxT(t), c.ID, u1.ID, 2), chat.KindNotFound)
	branch("after refused choices", "q1", "a2", "q2", "a3 and more")

	// A message appended goes at the end of the branch shown.
	m := mustAppend(t, st, chat.Message{ConversationID: c.ID, Role: chat.RoleUser, Content: "q3"})
	if m.ParentID != r3.ID {
		t.Errorf("appended message follows %q, want %q", m.ParentID, r3.ID)
	}
	// Undo of the second question removes it and all after it; undo of
	// the reply turn removes both versions of it.
	if err := st.DeleteMessagesFrom(ctxT(t), c.ID, r2.ID); err != nil {
		t.Fatal(err)
	}
	branch("after deleting the reply turn", "q1")
	choose(u1.ID, 2)
	branch("the edited question is untouched", "q1 edited", "ae")
	if err := st.DeleteMessagesFrom(ctxT(t), c.ID, ue.ID); err != nil {
		t.Fatal(err)
	}
	branch("after deleting the first turn")
	page, err := st.ListConversations(ctxT(t), chat.ListOptions{Query: "a1"})
	if err != nil || len(page.Conversations) != 0 {
		t.Errorf("deleted versions are still found: %v, %v", convIDs(page.Conversations), err)
	}
}
