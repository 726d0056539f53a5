package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/chat"
)

// Leases in these tests either run for a minute (live for the whole test)
// or for a millisecond (run out by the time the next statement looks).
var (
	live    = chat.Lease{Owner: "process-a", TTL: time.Minute}
	expired = chat.Lease{Owner: "process-a", TTL: time.Millisecond}
)

// mustStart starts a reply in convID under lease, after a user message
// with content user ("" for none).
func mustStart(t *testing.T, s chat.Conversations, convID, user string, lease chat.Lease) (*chat.Message, chat.Message) {
	t.Helper()
	r := chat.NewReply{ConversationID: convID, Reply: chat.Message{Role: chat.RoleAssistant, Model: "m"}, Lease: lease}
	if user != "" {
		r.User = &chat.Message{Role: chat.RoleUser, Content: user}
	}
	u, m, err := s.StartReply(ctxT(t), r)
	if err != nil {
		t.Fatalf("StartReply(%q): %v", user, err)
	}
	return u, m
}

// outlive waits until a lease of expired's TTL has surely run out by the
// database's clock (millisecond resolution).
func outlive() { time.Sleep(5 * expired.TTL) }

func wantCode(t *testing.T, what string, err error, kind chat.Kind, code string) {
	t.Helper()
	if chat.KindOf(err) != kind || chat.CodeOf(err) != code {
		t.Errorf("%s: got %v (kind %v, code %q), want kind %v code %q", what, err, chat.KindOf(err), chat.CodeOf(err), kind, code)
	}
}

func (s suite) testStartReply(t *testing.T) {
	st := s.conversations(t)
	c := mustCreate(t, st, chat.Conversation{Title: "chat", CreatedAt: base, UpdatedAt: base})
	first := mustAppend(t, st, chat.Message{ConversationID: c.ID, Role: chat.RoleUser, Content: "earlier"})
	u, m := mustStart(t, st, c.ID, "hello", live)
	if u == nil || u.Content != "hello" || u.Role != chat.RoleUser || u.Status != chat.StatusComplete || !chat.ValidID(u.ID) {
		t.Fatalf("stored user message %+v", u)
	}
	if m.Status != chat.StatusStreaming || m.Role != chat.RoleAssistant || m.Model != "m" || m.ConversationID != c.ID || !chat.ValidID(m.ID) {
		t.Fatalf("stored reply %+v", m)
	}
	got := mustGet(t, st, c.ID)
	if want := []string{first.ID, u.ID, m.ID}; !slices.Equal(msgIDs(got.Messages), want) {
		t.Fatalf("messages %v, want %v", msgIDs(got.Messages), want)
	}
	checkMsg(t, "stored user", got.Messages[1], *u)
	checkMsg(t, "stored reply", got.Messages[2], m)
	if !got.UpdatedAt.After(base) {
		t.Errorf("conversation UpdatedAt %v not bumped", got.UpdatedAt)
	}
	// A regenerate stores no user message.
	c2 := mustCreate(t, st, chat.Conversation{})
	if u, _ := mustStart(t, st, c2.ID, "", live); u != nil {
		t.Errorf("StartReply without a user message stored %+v", u)
	}
	// Refused arguments change nothing.
	for _, bad := range []chat.NewReply{
		{ConversationID: c2.ID, Reply: chat.Message{Role: chat.RoleAssistant}},                                                                         // no lease
		{ConversationID: c2.ID, Reply: chat.Message{Role: chat.RoleAssistant}, Lease: chat.Lease{Owner: "x"}},                                          // no TTL
		{ConversationID: c2.ID, Reply: chat.Message{Role: "robot"}, Lease: live},                                                                       // bad role
		{ConversationID: c2.ID, User: &chat.Message{Role: chat.RoleUser, Content: "\xff"}, Reply: chat.Message{Role: chat.RoleAssistant}, Lease: live}, // bad text
	} {
		_, _, err := st.StartReply(ctxT(t), bad)
		wantKind(t, fmt.Sprintf("StartReply(%+v)", bad), err, chat.KindInvalid)
	}
	if got := mustGet(t, st, c2.ID); len(got.Messages) != 1 {
		t.Errorf("refused StartReply calls stored messages: %v", msgContents(got.Messages))
	}
}

func (s suite) testStartReplyReplaces(t *testing.T) {
	st := s.conversations(t)
	c := mustCreate(t, st, chat.Conversation{})
	ms := seedMessages(t, st, c.ID, "m", 4) // user, assistant, user, assistant
	start := func(from string, user *chat.Message) (chat.Message, error) {
		_, m, err := st.StartReply(ctxT(t), chat.NewReply{ConversationID: c.ID, From: from, User: user,
			Reply: chat.Message{Role: chat.RoleAssistant}, Lease: expired})
		return m, err
	}
	// Regenerate: the last reply goes, a new one follows.
	m, err := start(ms[3].ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := msgIDs(mustGet(t, st, c.ID).Messages); !slices.Equal(got, []string{ms[0].ID, ms[1].ID, ms[2].ID, m.ID}) {
		t.Fatalf("after regenerate: %v", got)
	}
	// Edit: the edited user message and all after it go.
	outlive()
	if _, err := start(ms[2].ID, &chat.Message{Role: chat.RoleUser, Content: "edited"}); err != nil {
		t.Fatal(err)
	}
	if got := msgContents(mustGet(t, st, c.ID).Messages); !slices.Equal(got, []string{"m0", "m1", "edited", ""}) {
		t.Fatalf("after edit: %v", got)
	}
	// From a message that is not there, or not in this conversation:
	// nothing changes.
	outlive()
	before := msgIDs(mustGet(t, st, c.ID).Messages)
	other := mustCreate(t, st, chat.Conversation{})
	stranger := mustAppend(t, st, chat.Message{ConversationID: other.ID, Role: chat.RoleUser, Content: "elsewhere"})
	for _, from := range []string{chat.NewID(), stranger.ID} {
		_, err := start(from, &chat.Message{Role: chat.RoleUser, Content: "x"})
		wantKind(t, "StartReply from a message not in the conversation", err, chat.KindNotFound)
	}
	if got := msgIDs(mustGet(t, st, c.ID).Messages); !slices.Equal(got, before) {
		t.Errorf("a refused StartReply changed the conversation: %v, want %v", got, before)
	}
}

// While a reply streams under a live lease its conversation takes no other
// reply and no history change, from any process; once the lease has run
// out, it does.
func (s suite) testOneLiveReply(t *testing.T) {
	st := s.conversations(t)
	c := mustCreate(t, st, chat.Conversation{})
	_, running := mustStart(t, st, c.ID, "first", live)
	before := mustGet(t, st, c.ID).Messages
	other := chat.Lease{Owner: "process-b", TTL: time.Minute}
	_, _, err := st.StartReply(ctxT(t), chat.NewReply{ConversationID: c.ID, User: &chat.Message{Role: chat.RoleUser, Content: "second"},
		Reply: chat.Message{Role: chat.RoleAssistant}, Lease: other})
	wantCode(t, "StartReply beside a live reply", err, chat.KindConflict, chat.CodeReplyRunning)
	wantCode(t, "DeleteMessagesFrom beside a live reply", st.DeleteMessagesFrom(ctxT(t), c.ID, before[0].ID), chat.KindConflict, chat.CodeReplyRunning)
	wantCode(t, "ClearMessages beside a live reply", st.ClearMessages(ctxT(t), c.ID), chat.KindConflict, chat.CodeReplyRunning)
	if got := mustGet(t, st, c.ID).Messages; !slices.Equal(msgIDs(got), msgIDs(before)) {
		t.Fatalf("refused changes changed the conversation: %v", msgContents(got))
	}
	// Another conversation is not held.
	mustStart(t, st, mustCreate(t, st, chat.Conversation{}).ID, "free", other)
	// Once the reply has ended, the conversation is free.
	done := running
	done.Content, done.Status = "answer", chat.StatusComplete
	if err := st.SaveReply(ctxT(t), done, live); err != nil {
		t.Fatal(err)
	}
	mustStart(t, st, c.ID, "second", expired)
	// A lease that ran out holds nothing, even before a sweep ends it.
	outlive()
	if err := st.ClearMessages(ctxT(t), c.ID); err != nil {
		t.Fatalf("ClearMessages after the lease ran out: %v", err)
	}
}

func (s suite) testSaveReply(t *testing.T) {
	root := s.open(t)
	st := root.For(account.LocalID)
	c := mustCreate(t, st, chat.Conversation{})
	_, m := mustStart(t, st, c.ID, "q", expired)
	// The owner saves, and its save renews the lease even after it ran
	// out, as long as no one has ended the reply.
	outlive()
	m.Content, m.OutputTokens, m.FirstTokenMS = "partial", 3, 40
	renewed := chat.Lease{Owner: expired.Owner, TTL: time.Minute}
	if err := st.SaveReply(ctxT(t), m, renewed); err != nil {
		t.Fatal(err)
	}
	if ended, err := root.InterruptExpired(ctxT(t), c.ID, "gone", nil); err != nil || len(ended) != 0 {
		t.Fatalf("InterruptExpired after a renewal ended %v (%v), want none", ended, err)
	}
	got := mustGet(t, st, c.ID).Messages[1]
	if got.Content != "partial" || got.Status != chat.StatusStreaming || got.OutputTokens != 3 || got.FirstTokenMS != 40 {
		t.Fatalf("saved %+v", got)
	}
	// Another owner cannot write it.
	intruder := m
	intruder.Content = "overwritten"
	wantCode(t, "SaveReply by another owner", st.SaveReply(ctxT(t), intruder, chat.Lease{Owner: "process-b", TTL: time.Minute}),
		chat.KindConflict, chat.CodeLeaseLost)
	// A final status ends the lease: no later write gets through.
	m.Content, m.Status, m.DurationMS = "partial and done", chat.StatusComplete, 900
	if err := st.SaveReply(ctxT(t), m, renewed); err != nil {
		t.Fatal(err)
	}
	late := m
	late.Content, late.Status = "late", chat.StatusStreaming
	wantCode(t, "SaveReply after the final save", st.SaveReply(ctxT(t), late, renewed), chat.KindConflict, chat.CodeLeaseLost)
	if got := mustGet(t, st, c.ID).Messages[1]; got.Content != "partial and done" || got.Status != chat.StatusComplete || got.DurationMS != 900 {
		t.Fatalf("after the final save: %+v", got)
	}
	// A message that is gone is not found.
	gone := m
	gone.ID = chat.NewID()
	wantKind(t, "SaveReply of an unknown message", st.SaveReply(ctxT(t), gone, renewed), chat.KindNotFound)
}

func (s suite) testInterruptExpired(t *testing.T) {
	root := s.open(t)
	st := root.For(account.LocalID)
	a := mustCreate(t, st, chat.Conversation{})
	b := mustCreate(t, st, chat.Conversation{})
	_, stale := mustStart(t, st, a.ID, "a", expired)
	stale.Content = "saved so far"
	if err := st.SaveReply(ctxT(t), stale, expired); err != nil {
		t.Fatal(err)
	}
	_, running := mustStart(t, st, b.ID, "b", live)
	// A streaming message under no lease at all (as left by a version
	// without leases) has run out too.
	old := mustAppend(t, st, chat.Message{ConversationID: b.ID, Role: chat.RoleAssistant, Content: "old", Status: chat.StatusStreaming})
	outlive()
	// Scoped to a conversation, only its replies end.
	ended, err := root.InterruptExpired(ctxT(t), a.ID, "the server stopped", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ended) != 1 || ended[0].ID != stale.ID || ended[0].ConversationID != a.ID {
		t.Fatalf("InterruptExpired(a) ended %+v, want %s", ended, stale.ID)
	}
	got := mustGet(t, st, a.ID).Messages[1]
	if got.Status != chat.StatusInterrupted || got.FinishReason != "interrupted" || got.Error != "the server stopped" || got.Content != "saved so far" {
		t.Fatalf("interrupted reply %+v", got)
	}
	// The process that lost it can no longer write it.
	stale.Content = "late words"
	wantCode(t, "SaveReply after an interrupt", st.SaveReply(ctxT(t), stale, expired), chat.KindConflict, chat.CodeLeaseLost)
	if got := mustGet(t, st, a.ID).Messages[1]; got.Content != "saved so far" || got.Status != chat.StatusInterrupted {
		t.Fatalf("a lost lease overwrote the interrupted reply: %+v", got)
	}
	// Unscoped: the old one ends, the live one runs on.
	ended, err = root.InterruptExpired(ctxT(t), "", "the server stopped", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ended) != 1 || ended[0].ID != old.ID {
		t.Fatalf("InterruptExpired(all) ended %+v, want only %s", ended, old.ID)
	}
	for _, m := range mustGet(t, st, b.ID).Messages {
		if m.ID == running.ID && m.Status != chat.StatusStreaming {
			t.Errorf("a reply under a live lease was ended: %+v", m)
		}
	}
	if ended, err := root.InterruptExpired(ctxT(t), "", "again", nil); err != nil || len(ended) != 0 {
		t.Errorf("a second sweep ended %v (%v)", ended, err)
	}
	// Replies the sweeper runs itself are spared, whatever their lease.
	var mine []string
	for range 2 {
		_, m := mustStart(t, st, mustCreate(t, st, chat.Conversation{}).ID, "q", expired)
		mine = append(mine, m.ID)
	}
	_, theirs := mustStart(t, st, mustCreate(t, st, chat.Conversation{}).ID, "q", expired)
	outlive()
	ended, err = root.InterruptExpired(ctxT(t), "", "the server stopped", mine)
	if err != nil || len(ended) != 1 || ended[0].ID != theirs.ID {
		t.Errorf("InterruptExpired sparing %v ended %+v (%v), want only %s", mine, ended, err, theirs.ID)
	}
}

// Processes sweeping at the same moment end each reply exactly once.
func (s suite) testInterruptExpiredOnce(t *testing.T) {
	root := s.open(t)
	st := root.For(account.LocalID)
	var want []string
	for range 5 {
		c := mustCreate(t, st, chat.Conversation{})
		_, m := mustStart(t, st, c.ID, "q", expired)
		want = append(want, m.ID)
	}
	outlive()
	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			ended, err := root.InterruptExpired(ctxT(t), "", "sweep", nil)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got = append(got, msgIDs(ended)...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("sweepers together ended %v, want each of %v once", got, want)
	}
}

// V1Rows are what a database of schema version 1 holds for CheckUpgrade:
// conversation ConversationID with the user message "question" (seq 1)
// and a reply left "streaming" with "partial" (seq 2) by a crash, as a
// version without leases left it. The store tests write them with their
// own SQL.
type V1Rows struct {
	ConversationID, UserID, ReplyID string
}

// NewV1Rows returns fresh ids for V1Rows.
func NewV1Rows() V1Rows { return V1Rows{chat.NewID(), chat.NewID(), chat.NewID()} }

// CheckUpgrade checks a store opened on a database of schema version 1
// holding rows: every row is kept as it was, the reply left streaming by a
// crash, which no process holds, is ended by the first sweep, and the
// conversation is the first admin's.
func CheckUpgrade(t *testing.T, root Store, rows V1Rows) {
	t.Helper()
	st := root.For(account.LocalID) // who owns what was stored before accounts
	got := mustGet(t, st, rows.ConversationID)
	if len(got.Messages) != 2 || got.Messages[0].ID != rows.UserID || got.Messages[0].Content != "question" ||
		got.Messages[1].ID != rows.ReplyID || got.Messages[1].Content != "partial" || got.Messages[1].Status != chat.StatusStreaming {
		t.Fatalf("after the upgrade: %+v", got.Messages)
	}
	// Migration 0006 chained the old messages: each follows the one before.
	if got.Messages[0].ParentID != "" || got.Messages[1].ParentID != rows.UserID {
		t.Errorf("after the upgrade the reply follows %q, want the question %s", got.Messages[1].ParentID, rows.UserID)
	}
	ended, err := root.InterruptExpired(ctxT(t), "", "the server stopped", nil)
	if err != nil || len(ended) != 1 || ended[0].ID != rows.ReplyID {
		t.Fatalf("first sweep after the upgrade ended %+v (%v), want %s", ended, err, rows.ReplyID)
	}
	if m := mustGet(t, st, rows.ConversationID).Messages[1]; m.Status != chat.StatusInterrupted || m.FinishReason != "interrupted" || m.Content != "partial" {
		t.Errorf("swept reply %+v", m)
	}
	// The new rows work beside the old ones.
	mustStart(t, st, rows.ConversationID, "next", live)
	checkUpgradedOwnership(t, root, []string{rows.ConversationID})
}

func (s suite) testContinueReply(t *testing.T) {
	st := s.conversations(t)
	c := mustCreate(t, st, chat.Conversation{})
	_, m := mustStart(t, st, c.ID, "tell a long story", live)
	ended := m
	ended.Content, ended.Status, ended.FinishReason, ended.OutputTokens, ended.DurationMS = "Once upon", chat.StatusComplete, chat.FinishLength, 2, 40
	ended.ContextFrom = m.ID
	if err := st.SaveReply(ctxT(t), ended, live); err != nil {
		t.Fatal(err)
	}
	// While it is held by no one, it streams again under a new lease, text
	// and stats kept, finish reason and error cleared.
	other := chat.Lease{Owner: "process-b", TTL: time.Minute}
	u, got, err := st.StartReply(ctxT(t), chat.NewReply{ConversationID: c.ID, Continue: m.ID, Lease: other})
	if err != nil {
		t.Fatal(err)
	}
	want := ended
	want.Status, want.FinishReason = chat.StatusStreaming, ""
	want.UpdatedAt = got.UpdatedAt
	if u != nil {
		t.Errorf("a continued reply stored a user message %+v", u)
	}
	checkMsg(t, "continued reply", got, want)
	if n := len(mustGet(t, st, c.ID).Messages); n != 2 {
		t.Errorf("%d messages after continuing, want the same 2", n)
	}
	// It is a running reply like any other: held, one per conversation.
	_, _, err = st.StartReply(ctxT(t), chat.NewReply{ConversationID: c.ID, Continue: m.ID, Lease: live})
	wantCode(t, "continuing a running reply", err, chat.KindConflict, chat.CodeReplyRunning)
	wantCode(t, "SaveReply by the old owner", st.SaveReply(ctxT(t), got, live), chat.KindConflict, chat.CodeLeaseLost)
	got.Content += " a time"
	got.Status, got.FinishReason = chat.StatusComplete, chat.FinishStop
	if err := st.SaveReply(ctxT(t), got, other); err != nil {
		t.Fatal(err)
	}
	if last := mustGet(t, st, c.ID).Messages[1]; last.Content != "Once upon a time" || last.FinishReason != chat.FinishStop {
		t.Errorf("after continuing: %+v", last)
	}
	// Only the last message, a reply that has ended, can be continued.
	u2, m2 := mustStart(t, st, c.ID, "and then?", live)
	m2.Status = chat.StatusFailed
	if err := st.SaveReply(ctxT(t), m2, live); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteMessagesFrom(ctxT(t), c.ID, m2.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what string
		id   string
		kind chat.Kind
		code string
	}{
		{"an earlier reply", m.ID, chat.KindInvalid, chat.CodeNotContinuable},
		{"a user message", u2.ID, chat.KindInvalid, chat.CodeNotContinuable},
		{"an unknown message", chat.NewID(), chat.KindNotFound, ""},
	} {
		_, _, err := st.StartReply(ctxT(t), chat.NewReply{ConversationID: c.ID, Continue: tc.id, Lease: other})
		if chat.KindOf(err) != tc.kind || (tc.code != "" && chat.CodeOf(err) != tc.code) {
			t.Errorf("continuing %s: %v (kind %v, code %q), want kind %v code %q", tc.what, err, chat.KindOf(err), chat.CodeOf(err), tc.kind, tc.code)
		}
	}
	// A reply still streaming cannot be continued, even once its lease
	// ran out (it is interrupted first).
	c2 := mustCreate(t, st, chat.Conversation{})
	_, streaming := mustStart(t, st, c2.ID, "q", expired)
	outlive()
	_, _, err = st.StartReply(ctxT(t), chat.NewReply{ConversationID: c2.ID, Continue: streaming.ID, Lease: live})
	wantCode(t, "continuing a streaming reply", err, chat.KindInvalid, chat.CodeNotContinuable)
	// Continuing neither replaces nor adds messages.
	_, _, err = st.StartReply(ctxT(t), chat.NewReply{ConversationID: c.ID, Continue: m.ID, From: m.ID, Lease: live})
	wantKind(t, "continue with From", err, chat.KindInvalid)
}
