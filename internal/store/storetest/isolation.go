package storetest

import (
	"slices"
	"testing"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/chat"
)

// mustUser creates an account named name.
func mustUser(t *testing.T, st Store, name string, role account.Role) account.User {
	t.Helper()
	u, err := st.CreateUser(ctxT(t), account.User{Username: name, Role: role}, "hash-of-"+name)
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	return u
}

// Bob sees nothing of Alice's: not in his listing, not in his searches,
// not by id.
func (s suite) testIsolation(t *testing.T) {
	st := s.open(t)
	alice, bob := mustUser(t, st, "alice", account.RoleUser), mustUser(t, st, "bob", account.RoleUser)
	a, b := st.For(alice.ID), st.For(bob.ID)
	secret := mustCreate(t, a, chat.Conversation{Title: "alice's secret plans", SystemPrompt: "x"})
	msgs := seedMessages(t, a, secret.ID, "confidential", 3)
	for i := range 3 { // enough for a second page of hers
		mustCreate(t, a, chat.Conversation{Title: "alice " + string(rune('a'+i))})
	}
	own := mustCreate(t, b, chat.Conversation{Title: "bob's plans"})

	if all, _ := listAll(t, b, chat.ListOptions{}); !slices.Equal(convIDs(all), []string{own.ID}) {
		t.Errorf("bob lists %v, want only his own %s", convIDs(all), own.ID)
	}
	for _, q := range []string{"secret", "plans", "confidential", "alice"} {
		all, _ := listAll(t, b, chat.ListOptions{Query: q})
		for _, c := range all {
			if c.ID != own.ID {
				t.Errorf("bob's search for %q finds alice's %s", q, c.ID)
			}
		}
	}
	// A cursor from Alice's listing does not open her pages to Bob.
	page, err := a.ListConversations(ctxT(t), chat.ListOptions{Limit: 1})
	if err != nil || page.NextCursor == "" {
		t.Fatalf("alice's first page: %+v, %v", page, err)
	}
	if all, _ := listAll(t, b, chat.ListOptions{Cursor: page.NextCursor}); len(all) > 1 || len(all) == 1 && all[0].ID != own.ID {
		t.Errorf("bob with alice's cursor lists %v", convIDs(all))
	}
	if all, _ := listAll(t, a, chat.ListOptions{}); len(all) != 4 || slices.Contains(convIDs(all), own.ID) {
		t.Errorf("alice lists %v, want her 4 and not bob's", convIDs(all))
	}
	// The local user is one more owner like any other.
	if all, _ := listAll(t, st.For(account.LocalID), chat.ListOptions{}); len(all) != 0 {
		t.Errorf("the local user lists %v", convIDs(all))
	}

	_, err = b.GetConversation(ctxT(t), secret.ID)
	wantKind(t, "bob's GetConversation of alice's", err, chat.KindNotFound)
	got := mustGet(t, a, secret.ID)
	if !slices.Equal(msgIDs(got.Messages), msgIDs(msgs)) {
		t.Errorf("alice's messages %v, want %v", msgIDs(got.Messages), msgIDs(msgs))
	}
}

// Every call Bob makes with the ids of Alice's conversation and message
// is not found, and changes nothing of hers — not even its activity time.
func (s suite) testIsolationOfIDs(t *testing.T) {
	st := s.open(t)
	alice, bob := mustUser(t, st, "alice", account.RoleUser), mustUser(t, st, "bob", account.RoleUser)
	a, b := st.For(alice.ID), st.For(bob.ID)
	c := mustCreate(t, a, chat.Conversation{Title: "hers", CreatedAt: base, UpdatedAt: base})
	ms := seedMessages(t, a, c.ID, "m", 3)
	before := mustGet(t, a, c.ID)
	mustCreate(t, b, chat.Conversation{Title: "his"}) // bob is not empty-handed
	for _, op := range idOps(b, c.ID, ms[1].ID) {
		wantKind(t, "bob's "+op.name+" on alice's", op.call(ctxT(t)), chat.KindNotFound)
	}
	after := mustGet(t, a, c.ID)
	checkConv(t, "alice's conversation after bob's calls", after, before)
	if !slices.Equal(msgContents(after.Messages), msgContents(before.Messages)) {
		t.Errorf("alice's messages became %v", msgContents(after.Messages))
	}
	for i := range after.Messages {
		checkMsg(t, "alice's message", after.Messages[i], before.Messages[i])
	}
}

// Deleting an account deletes its conversations and their messages, and
// nobody else's.
func (s suite) testDeleteUserTakesConversations(t *testing.T) {
	st := s.open(t)
	alice, bob := mustUser(t, st, "alice", account.RoleUser), mustUser(t, st, "bob", account.RoleUser)
	a, b := st.For(alice.ID), st.For(bob.ID)
	hers := mustCreate(t, a, chat.Conversation{Title: "hers"})
	seedMessages(t, a, hers.ID, "m", 2)
	his := mustCreate(t, b, chat.Conversation{Title: "his"})
	seedMessages(t, b, his.ID, "m", 2)
	if err := st.DeleteUser(ctxT(t), alice.ID); err != nil {
		t.Fatal(err)
	}
	_, err := a.GetConversation(ctxT(t), hers.ID)
	wantKind(t, "GetConversation of a deleted user's", err, chat.KindNotFound)
	if all, _ := listAll(t, a, chat.ListOptions{}); len(all) != 0 {
		t.Errorf("a deleted user still lists %v", convIDs(all))
	}
	if got := mustGet(t, b, his.ID); len(got.Messages) != 2 {
		t.Errorf("bob's conversation has %d messages after alice was deleted", len(got.Messages))
	}
	// No conversation can be made for an owner who does not exist.
	_, err = a.CreateConversation(ctxT(t), chat.Conversation{Title: "orphan"})
	wantKind(t, "CreateConversation of a deleted user", err, chat.KindNotFound)
}

// An owner that cannot be a user id is a bug: every call fails, and none
// of them sees or touches anything.
func (s suite) testNoOwner(t *testing.T) {
	st := s.open(t)
	c := mustCreate(t, st.For(account.LocalID), chat.Conversation{Title: "local"})
	m := mustAppend(t, st.For(account.LocalID), chat.Message{ConversationID: c.ID, Role: chat.RoleUser, Content: "x"})
	for _, owner := range []string{"", "nobody", "' OR 1=1 --"} {
		o := st.For(owner)
		_, err := o.CreateConversation(ctxT(t), chat.Conversation{})
		wantKind(t, "CreateConversation of owner "+owner, err, chat.KindInternal)
		_, err = o.ListConversations(ctxT(t), chat.ListOptions{})
		wantKind(t, "ListConversations of owner "+owner, err, chat.KindInternal)
		for _, op := range idOps(o, c.ID, m.ID) {
			wantKind(t, op.name+" of owner "+owner, op.call(ctxT(t)), chat.KindInternal)
		}
	}
	if got := mustGet(t, st.For(account.LocalID), c.ID); len(got.Messages) != 1 {
		t.Errorf("the local conversation has %d messages", len(got.Messages))
	}
}
