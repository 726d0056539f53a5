package storetest

import (
	"slices"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
)

// Pinned conversations list apart; archived ones leave the list but are
// found by a search, and come back when restored.
func (s suite) testPinArchive(t *testing.T) {
	st := s.conversations(t)
	a := mustCreate(t, st, chat.Conversation{Title: "alpha plans"})
	b := mustCreate(t, st, chat.Conversation{Title: "beta plans"})
	c := mustCreate(t, st, chat.Conversation{Title: "gamma"})
	yes, no := true, false
	patch := func(id string, p chat.ConversationPatch) chat.Conversation {
		t.Helper()
		got, err := st.UpdateConversation(ctxT(t), id, p)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := patch(a.ID, chat.ConversationPatch{Pinned: &yes}); !got.Pinned || got.Archived || got.Title != "alpha plans" || !got.UpdatedAt.Equal(a.UpdatedAt) {
		t.Fatalf("pinned: %+v (pinning is no activity: UpdatedAt stays %v)", got, a.UpdatedAt)
	}
	if got := patch(b.ID, chat.ConversationPatch{Archived: &yes}); !got.Archived || got.Pinned {
		t.Fatalf("archived: %+v", got)
	}
	list := func(what string, opts chat.ListOptions, want ...string) {
		t.Helper()
		all, _ := listAll(t, st, opts)
		if got := convIDs(all); !slices.Equal(got, want) {
			t.Errorf("%s lists %v, want %v", what, got, want)
		}
	}
	list("the default listing", chat.ListOptions{}, c.ID, a.ID)
	list("the pinned", chat.ListOptions{Pinned: chat.FilterOnly}, a.ID)
	list("the others", chat.ListOptions{Pinned: chat.FilterNone}, c.ID)
	list("the archived", chat.ListOptions{Archived: chat.FilterOnly}, b.ID)
	list("everything", chat.ListOptions{Archived: chat.FilterAny}, c.ID, b.ID, a.ID)
	list("a search", chat.ListOptions{Query: "plans"}, b.ID, a.ID)
	list("a search of the unarchived", chat.ListOptions{Query: "plans", Archived: chat.FilterNone}, a.ID)
	if got := mustGet(t, st, b.ID); !got.Archived {
		t.Errorf("an archived conversation opens as %+v", got)
	}
	patch(b.ID, chat.ConversationPatch{Archived: &no})
	patch(a.ID, chat.ConversationPatch{Pinned: &no})
	list("after restoring and unpinning", chat.ListOptions{}, c.ID, b.ID, a.ID)
}
