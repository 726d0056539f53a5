package conversation_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/conversation"
	"github.com/parley-chat/parley/internal/store/sqlite"
)

// leftover stores a reply as another process holds it (owner "elsewhere",
// lease ttl), with text saved so far, after a user message; with a short
// ttl it is what a killed process leaves behind.
func leftover(t *testing.T, db chat.Store, convID, text string, ttl time.Duration) chat.Message {
	t.Helper()
	lease := chat.Lease{Owner: "elsewhere", TTL: ttl}
	_, m, err := db.For(owner).StartReply(t.Context(), chat.NewReply{ConversationID: convID,
		User: &chat.Message{Role: chat.RoleUser, Content: "question"}, Reply: chat.Message{Role: chat.RoleAssistant}, Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	m.Content = text
	if err := db.For(owner).SaveReply(t.Context(), m, lease); err != nil {
		t.Fatal(err)
	}
	return m
}

func newStoredConversation(t *testing.T, db chat.Store) chat.Conversation {
	t.Helper()
	c, err := db.For(owner).CreateConversation(t.Context(), chat.Conversation{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A process killed mid-reply leaves it streaming; the next process to
// start ends it at once when its lease has run out, keeping its text.
func TestStartUpEndsRepliesWhoseLeaseRanOut(t *testing.T) {
	db := openStore(t)
	c := newStoredConversation(t, db)
	leftover(t, db, c.ID, "saved before the kill", time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	newService(t, db, &scripted{}, conversation.Config{SweepInterval: time.Hour})
	m := awaitStored(t, db, c.ID, func(m chat.Message) bool { return m.Status != chat.StatusStreaming })
	if m.Status != chat.StatusInterrupted || m.Content != "saved before the kill" || m.Error == "" {
		t.Fatalf("left-over reply after start-up: %+v", m)
	}
}

// Another replica's sweep ends a dead replica's reply once its lease ran
// out, with nobody reading the conversation: a short lease is swept at
// least once per lease, whatever the sweep interval.
func TestSweepEndsADeadReplicasReplyWithinALease(t *testing.T) {
	db := openStore(t)
	newService(t, db, &scripted{}, conversation.Config{ReplyLease: 300 * time.Millisecond, SweepInterval: time.Hour})
	c := newStoredConversation(t, db)
	leftover(t, db, c.ID, "until the kill", 300*time.Millisecond) // after the start-up sweep
	m := awaitStored(t, db, c.ID, func(m chat.Message) bool { return m.Status != chat.StatusStreaming })
	if m.Status != chat.StatusInterrupted || m.Content != "until the kill" {
		t.Fatalf("the dead replica's reply: %+v", m)
	}
}

// Reading a conversation ends its reply whose lease ran out, without
// waiting for a sweep; a reply under a live lease shows as running and
// holds the conversation.
func TestReadEndsRepliesWhoseLeaseRanOut(t *testing.T) {
	db := openStore(t)
	svc := newService(t, db, &scripted{pieces: []string{"ok"}}, conversation.Config{SweepInterval: time.Hour})

	live := newStoredConversation(t, db)
	leftover(t, db, live.ID, "still going", time.Minute)
	v, err := svc.GetConversation(t.Context(), owner, live.ID)
	if err != nil || !v.Running || v.Messages[1].Status != chat.StatusStreaming {
		t.Fatalf("conversation with a reply running elsewhere: running %v, %+v (%v)", v.Running, v.Messages, err)
	}
	if _, err := svc.Send(t.Context(), owner, live.ID, "more", conversation.ReplyOptions{}); chat.KindOf(err) != chat.KindConflict {
		t.Errorf("Send beside a reply running elsewhere: %v, want conflict", err)
	}
	if _, err := svc.Undo(t.Context(), owner, live.ID); chat.KindOf(err) != chat.KindConflict {
		t.Errorf("Undo beside a reply running elsewhere: %v, want conflict", err)
	}

	dead := newStoredConversation(t, db)
	leftover(t, db, dead.ID, "cut off", time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	v, err = svc.GetConversation(t.Context(), owner, dead.ID)
	if err != nil || v.Running || len(v.Messages) != 2 {
		t.Fatalf("conversation with a dead reply: running %v, %+v (%v)", v.Running, v.Messages, err)
	}
	if m := v.Messages[1]; m.Status != chat.StatusInterrupted || m.Content != "cut off" || m.Error == "" {
		t.Fatalf("dead reply as read: %+v", m)
	}
	if m := lastMessage(t, db, dead.ID); m.Status != chat.StatusInterrupted {
		t.Fatalf("dead reply as stored: %+v", m)
	}
	// Retry replaces it; an interrupted reply is no part of the prompt.
	gen := &scripted{pieces: []string{"again"}}
	svc2 := newService(t, db, gen, conversation.Config{SweepInterval: time.Hour})
	rp, err := svc2.Regenerate(t.Context(), owner, dead.ID, conversation.ReplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if msg, err := rp.Wait(t.Context()); err != nil || msg.Status != chat.StatusComplete {
		t.Fatalf("retry of an interrupted reply: %+v, %v", msg, err)
	}
	if got := gen.requests[0].Messages; len(got) != 1 || got[0].Content != "question" {
		t.Fatalf("prompt of the retry: %+v", got)
	}
}

// Two replicas on one database: while one runs a reply, the other refuses
// to start another in that conversation or to change its history, and
// shows it as running.
func TestOneReplyPerConversationAcrossReplicas(t *testing.T) {
	db := openStore(t)
	genA := pausing(1, "a", "b")
	a := newService(t, db, genA, conversation.Config{})
	b := newService(t, db, &scripted{pieces: []string{"b"}}, conversation.Config{})
	c := newConversation(t, a, chat.Conversation{})
	run := send(t, a, c.ID, "first")
	<-genA.paused
	before := len(mustView(t, b, c.ID).Messages)
	_, err := b.Send(t.Context(), owner, c.ID, "second", conversation.ReplyOptions{})
	wantConflict(t, "Send", err)
	_, err = b.Regenerate(t.Context(), owner, c.ID, conversation.ReplyOptions{})
	wantConflict(t, "Regenerate", err)
	_, err = b.Edit(t.Context(), owner, c.ID, run.User.ID, "edited", conversation.ReplyOptions{})
	wantConflict(t, "Edit", err)
	_, err = b.Clear(t.Context(), owner, c.ID)
	wantConflict(t, "Clear", err)
	v := mustView(t, b, c.ID)
	if !v.Running || len(v.Messages) != before {
		t.Fatalf("the other replica sees running %v and %d messages, want running and %d", v.Running, len(v.Messages), before)
	}
	close(genA.release)
	if _, err := run.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	rp, err := b.Send(t.Context(), owner, c.ID, "second", conversation.ReplyOptions{})
	if err != nil {
		t.Fatalf("Send after the reply ended: %v", err)
	}
	if msg, err := rp.Wait(t.Context()); err != nil || msg.Content != "b" {
		t.Fatalf("second reply: %+v, %v", msg, err)
	}
}

func mustView(t *testing.T, svc *conversation.Service, id string) conversation.View {
	t.Helper()
	v, err := svc.GetConversation(t.Context(), owner, id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func wantConflict(t *testing.T, what string, err error) {
	t.Helper()
	if chat.KindOf(err) != chat.KindConflict || chat.CodeOf(err) != chat.CodeReplyRunning {
		t.Errorf("%s beside a reply running on another replica: %v, want conflict %s", what, err, chat.CodeReplyRunning)
	}
}

// A process that lost its reply's lease (another replica ended it while
// this one was cut off) neither overwrites what the store now holds nor
// tells its clients anything else.
func TestLostLeaseDoesNotOverwrite(t *testing.T) {
	db := openStore(t)
	gen := pausing(2, "a", "b", "c", "d")
	svc := newService(t, db, gen, conversation.Config{SaveInterval: time.Nanosecond})
	c := newConversation(t, svc, chat.Conversation{})
	run := send(t, svc, c.ID, "hi")
	<-gen.paused
	m := awaitStored(t, db, c.ID, func(m chat.Message) bool { return m.Content == "ab" })
	// What another replica's sweep does once the lease has run out.
	m.Status, m.Error = chat.StatusInterrupted, "ended elsewhere"
	if err := db.For(owner).UpdateMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	close(gen.release)
	msg, err := run.Wait(t.Context())
	if err == nil || msg.Status != chat.StatusInterrupted || msg.Content != "ab" || msg.Error != "ended elsewhere" {
		t.Fatalf("the clients were told %+v, %v; want the stored interrupted reply", msg, err)
	}
	if got := lastMessage(t, db, c.ID); got.Status != chat.StatusInterrupted || got.Content != "ab" {
		t.Fatalf("stored %+v, want the interrupted reply unchanged", got)
	}
}

// lockWrites holds the write lock of the SQLite file at path from another
// connection, as a stalled database would; unlock releases it.
func lockWrites(t *testing.T, path string) (unlock func()) {
	t.Helper()
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			conn.ExecContext(context.Background(), "ROLLBACK")
			conn.Close()
			other.Close()
		})
	}
}

func openStoreAt(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	// A short busy timeout: writes fail fast while the file is locked.
	db, err := sqlite.Open(t.Context(), path, sqlite.Options{BusyTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// lockedRun is a reply on a store in a file, paused after its first piece
// "a" with "b" to come, whose database the test locks.
type lockedRun struct {
	path string
	db   *sqlite.DB
	svc  *conversation.Service
	gen  *scripted
	conv chat.Conversation
	run  conversation.Reply
}

func startLockedRun(t *testing.T) lockedRun {
	t.Helper()
	l := lockedRun{path: filepath.Join(t.TempDir(), "chat.db"), gen: pausing(1, "a", "b")}
	l.db = openStoreAt(t, l.path)
	l.svc = newService(t, l.db, l.gen, conversation.Config{})
	l.conv = newConversation(t, l.svc, chat.Conversation{})
	l.run = send(t, l.svc, l.conv.ID, "hi")
	<-l.gen.paused
	return l
}

// done is sent only once the final state is stored: a final save that
// fails is retried until the database is back.
func TestFinalSaveRetriedUntilStored(t *testing.T) {
	l := startLockedRun(t)
	unlock := lockWrites(t, l.path)
	close(l.gen.release)
	select {
	case <-l.run.Done():
		unlock()
		t.Fatalf("the reply ended while its final state could not be stored: %+v", l.run.Snapshot())
	case <-time.After(500 * time.Millisecond):
	}
	unlock()
	msg, err := l.run.Wait(t.Context())
	if err != nil || msg.Status != chat.StatusComplete || msg.Content != "ab" {
		t.Fatalf("after the database came back: %+v, %v", msg, err)
	}
	if m := lastMessage(t, l.db, l.conv.ID); m.Status != chat.StatusComplete || m.Content != "ab" {
		t.Fatalf("stored %+v", m)
	}
}

// When the final state can never be stored the clients are told the reply
// failed to be saved, with the text they were sent, and never that it is
// complete.
func TestUnsavedReplyIsNotComplete(t *testing.T) {
	l := startLockedRun(t)
	unlock := lockWrites(t, l.path)
	defer unlock()
	close(l.gen.release)
	// Shutdown stops waiting for the database.
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	l.svc.Shutdown(ctx)
	msg, err := l.run.Wait(t.Context())
	if chat.KindOf(err) != chat.KindUnavailable || msg.Status != chat.StatusFailed || msg.FinishReason != "failed" || msg.Content != "ab" ||
		!strings.Contains(msg.Error, "could not be saved") {
		t.Fatalf("unsaved reply reported as %+v, %v", msg, err)
	}
	unlock()
	if m := lastMessage(t, l.db, l.conv.ID); m.Status == chat.StatusComplete {
		t.Fatalf("stored %+v", m)
	}
}

// The stored text trails the streamed text by at most SaveTokens pieces,
// however long SaveInterval is.
func TestSaveCadenceByPieces(t *testing.T) {
	db := openStore(t)
	gen := pausing(3, "a", "b", "c", "d")
	svc := newService(t, db, gen, conversation.Config{SaveInterval: time.Hour, SaveTokens: 2})
	c := newConversation(t, svc, chat.Conversation{})
	run := send(t, svc, c.ID, "hi")
	<-gen.paused
	m := awaitStored(t, db, c.ID, func(m chat.Message) bool { return len(m.Content) >= 2 })
	if m.Content != "ab" && m.Content != "abc" {
		t.Fatalf("stored %q mid-stream", m.Content)
	}
	close(gen.release)
	if _, err := run.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
}
