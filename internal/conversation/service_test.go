package conversation_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/conversation"
	"github.com/parley-chat/parley/internal/store/sqlite"
)

// scripted stands in for an external LLM: it emits its pieces in order and
// can pause after some of them (until released or cancelled) or fail.
type scripted struct {
	pieces []string
	// pauseAfter, if > 0, makes Generate signal paused after that many
	// pieces and then wait for release or ctx.
	pauseAfter int
	paused     chan struct{}
	release    chan struct{}
	// fail, if not nil, is returned after all pieces.
	fail error
	// before runs at the start of Generate, e.g. to inspect the store.
	before func(req chat.GenerateRequest)
	// usageAtEnd reports usage only for a reply that ran to its end, like
	// a backend reached over HTTP whose usage chunk comes last.
	usageAtEnd bool

	mu       sync.Mutex
	requests []chat.GenerateRequest
}

func (g *scripted) Generate(ctx context.Context, req chat.GenerateRequest, emit func(chat.Delta) error) (chat.Generation, error) {
	g.mu.Lock()
	g.requests = append(g.requests, req)
	g.mu.Unlock()
	if g.before != nil {
		g.before(req)
	}
	gen := chat.Generation{Model: "scripted", FinishReason: chat.FinishStop}
	for i, p := range g.pieces {
		if g.pauseAfter > 0 && i == g.pauseAfter {
			close(g.paused)
			select {
			case <-g.release:
			case <-ctx.Done():
				return g.cut(gen), context.Cause(ctx)
			}
		}
		if err := ctx.Err(); err != nil {
			return g.cut(gen), context.Cause(ctx)
		}
		if err := emit(chat.Delta{Content: p}); err != nil {
			return gen, err
		}
		gen.Usage.CompletionTokens++
	}
	if g.fail != nil {
		return gen, g.fail
	}
	return gen, nil
}

// cut is the Generation of a reply that ended early.
func (g *scripted) cut(gen chat.Generation) chat.Generation {
	if g.usageAtEnd {
		gen.Usage = chat.Usage{}
	}
	return gen
}

func (g *scripted) Models(context.Context) ([]chat.ModelInfo, error) {
	return []chat.ModelInfo{{ID: "scripted"}}, nil
}

func pausing(after int, pieces ...string) *scripted {
	return &scripted{pieces: pieces, pauseAfter: after, paused: make(chan struct{}), release: make(chan struct{})}
}

// owner is whose conversations the tests use: the local user, who exists
// in every new database.
const owner = account.LocalID

func openStore(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "chat.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newService(t *testing.T, db chat.Store, gen chat.Generator, cfg conversation.Config) *conversation.Service {
	t.Helper()
	svc := conversation.NewService(db, gen, cfg, slog.New(slog.DiscardHandler))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		svc.Shutdown(ctx)
	})
	return svc
}

func newConversation(t *testing.T, svc *conversation.Service, c chat.Conversation) chat.Conversation {
	t.Helper()
	c, err := svc.CreateConversation(t.Context(), owner, c)
	if err != nil {
		t.Fatalf("create conversation: %v", err)
	}
	return c
}

func lastMessage(t *testing.T, db chat.Store, id string) chat.Message {
	t.Helper()
	c, err := db.For(owner).GetConversation(context.Background(), id)
	if err != nil {
		t.Fatalf("get conversation: %v", err)
	}
	if len(c.Messages) == 0 {
		t.Fatal("conversation has no messages")
	}
	return c.Messages[len(c.Messages)-1]
}

// send sends content to the conversation and returns the reply started.
func send(t *testing.T, svc *conversation.Service, convID, content string) conversation.Reply {
	t.Helper()
	rp, err := svc.Send(t.Context(), owner, convID, content, conversation.ReplyOptions{})
	if err != nil {
		t.Fatalf("Send(%q): %v", content, err)
	}
	return rp
}

// awaitStored waits until the last stored message of conversation id
// satisfies ok, and returns it; it fails the test after 10 seconds.
func awaitStored(t *testing.T, db chat.Store, id string, ok func(chat.Message) bool) chat.Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := lastMessage(t, db, id)
		if ok(m) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store still holds %+v", m)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestUserMessageCommittedBeforeModelIsCalled(t *testing.T) {
	db := openStore(t)
	gen := &scripted{pieces: []string{"ok"}}
	svc := newService(t, db, gen, conversation.Config{})
	c := newConversation(t, svc, chat.Conversation{})
	var seen []chat.Message
	gen.before = func(chat.GenerateRequest) {
		got, err := db.For(owner).GetConversation(context.Background(), c.ID)
		if err != nil {
			t.Errorf("store read inside Generate: %v", err)
			return
		}
		seen = got.Messages
	}
	run, err := svc.Send(t.Context(), owner, c.ID, "remember me", conversation.ReplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0].Role != chat.RoleUser || seen[0].Content != "remember me" ||
		seen[1].Role != chat.RoleAssistant || seen[1].Status != chat.StatusStreaming {
		t.Fatalf("store inside Generate held %+v, want the user message and a streaming placeholder", seen)
	}
}

func TestStreamingReplyIsSavedPeriodically(t *testing.T) {
	db := openStore(t)
	gen := pausing(3, "one ", "two ", "three ", "four")
	svc := newService(t, db, gen, conversation.Config{SaveInterval: time.Nanosecond})
	c := newConversation(t, svc, chat.Conversation{})
	run, err := svc.Send(t.Context(), owner, c.ID, "count", conversation.ReplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	<-gen.paused
	// Saves happen beside the generation, which never waits for them.
	m := awaitStored(t, db, c.ID, func(m chat.Message) bool { return m.Content == "one two three " })
	if m.Status != chat.StatusStreaming {
		t.Fatalf("mid-stream store has %q (%s), want %q streaming", m.Content, m.Status, "one two three ")
	}
	close(gen.release)
	final, err := run.Wait(t.Context())
	if err != nil || final.Status != chat.StatusComplete || final.Content != "one two three four" {
		t.Fatalf("final %+v, %v", final, err)
	}
	if m := lastMessage(t, db, c.ID); m.Status != chat.StatusComplete || m.Content != final.Content || m.OutputTokens != 4 {
		t.Fatalf("stored final %+v", m)
	}
}

func TestShutdownStopsRunningRepliesAndSavesThem(t *testing.T) {
	db := openStore(t)
	gen := pausing(1, "partial ", "never")
	svc := newService(t, db, gen, conversation.Config{})
	c := newConversation(t, svc, chat.Conversation{})
	run, err := svc.Send(t.Context(), owner, c.ID, "hi", conversation.ReplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	<-gen.paused
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	svc.Shutdown(ctx)
	select {
	case <-run.Done():
	default:
		t.Fatal("Shutdown returned while a reply was still running")
	}
	if m := lastMessage(t, db, c.ID); m.Status != chat.StatusStopped || m.Content != "partial " {
		t.Fatalf("after shutdown the reply is %q (%s), want %q stopped", m.Content, m.Status, "partial ")
	}
	if _, err := svc.Send(t.Context(), owner, c.ID, "again", conversation.ReplyOptions{}); chat.KindOf(err) != chat.KindUnavailable {
		t.Fatalf("Send after Shutdown: %v, want KindUnavailable", err)
	}
}

func TestReplyTimeoutFails(t *testing.T) {
	db := openStore(t)
	gen := pausing(1, "slow ", "never")
	svc := newService(t, db, gen, conversation.Config{ReplyTimeout: 30 * time.Millisecond})
	c := newConversation(t, svc, chat.Conversation{})
	run, err := svc.Send(t.Context(), owner, c.ID, "hi", conversation.ReplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := run.Wait(t.Context())
	if chat.KindOf(err) != chat.KindTimeout || msg.Status != chat.StatusFailed || msg.Error == "" {
		t.Fatalf("timed-out reply: %+v, %v; want failed with KindTimeout", msg, err)
	}
	if m := lastMessage(t, db, c.ID); m.Status != chat.StatusFailed || m.Content != "slow " {
		t.Fatalf("stored %+v", m)
	}
}

func TestModelFailureKeepsUserMessage(t *testing.T) {
	db := openStore(t)
	down := chat.E(chat.KindUnavailable, "model backend unreachable", errors.New("dial tcp: refused"))
	svc := newService(t, db, &scripted{fail: down}, conversation.Config{})
	c := newConversation(t, svc, chat.Conversation{})
	run, err := svc.Send(t.Context(), owner, c.ID, "are you there?", conversation.ReplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := run.Wait(t.Context())
	if chat.KindOf(err) != chat.KindUnavailable || msg.Status != chat.StatusFailed || msg.Error != "model backend unreachable" {
		t.Fatalf("failed reply %+v, %v", msg, err)
	}
	got, err := svc.GetConversation(t.Context(), owner, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 2 || got.Messages[0].Content != "are you there?" || got.Messages[1].Status != chat.StatusFailed {
		t.Fatalf("stored %+v", got.Messages)
	}
}

func TestStopAndFollow(t *testing.T) {
	db := openStore(t)
	gen := pausing(2, "a", "b", "c")
	svc := newService(t, db, gen, conversation.Config{})
	c := newConversation(t, svc, chat.Conversation{})
	run, err := svc.Send(t.Context(), owner, c.ID, "hi", conversation.ReplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Send(t.Context(), owner, c.ID, "second", conversation.ReplyOptions{}); chat.KindOf(err) != chat.KindConflict {
		t.Fatalf("Send while running: %v, want conflict", err)
	}
	if _, err := svc.Undo(t.Context(), owner, c.ID); chat.KindOf(err) != chat.KindConflict {
		t.Fatalf("Undo while running: %v, want conflict", err)
	}
	<-gen.paused
	// Stop waits for the stored end itself; Follow runs alongside it so
	// that its own wait is what is tested.
	stopped := make(chan bool, 1)
	go func() {
		ok, err := svc.Stop(context.Background(), owner, c.ID)
		if err != nil {
			t.Errorf("Stop: %v", err)
		}
		stopped <- ok
	}()
	var text strings.Builder
	msg, err := run.Follow(t.Context(), 0, func(s string) error { text.WriteString(s); return nil })
	if err != nil || msg.Status != chat.StatusStopped || text.String() != "ab" {
		t.Fatalf("Follow: %q %+v %v", text.String(), msg, err)
	}
	// Once Follow has seen the end, the conversation is free and the
	// final state stored: a client acting on "done" must not race it.
	if _, running, err := svc.Join(t.Context(), owner, c.ID); running || err != nil {
		t.Fatalf("run still attached after Follow returned (%v)", err)
	}
	if m := lastMessage(t, db, c.ID); m.Status != chat.StatusStopped || m.Content != "ab" {
		t.Fatalf("stored %+v", m)
	}
	if !<-stopped {
		t.Fatal("Stop found nothing running")
	}
	if ok, err := svc.Stop(t.Context(), owner, c.ID); ok || err != nil {
		t.Fatalf("Stop after the reply ended: %v, %v; want false", ok, err)
	}
}

// A stopped reply keeps its measurements even when the backend reported no
// usage, as a model service reached over HTTP never does after a cancel.
func TestStoppedReplyKeepsTokenCountAndLatency(t *testing.T) {
	for _, usageAtEnd := range []bool{false, true} {
		db := openStore(t)
		gen := pausing(3, "a", "b", "c", "d")
		gen.usageAtEnd = usageAtEnd
		svc := newService(t, db, gen, conversation.Config{})
		c := newConversation(t, svc, chat.Conversation{})
		run, err := svc.Send(t.Context(), owner, c.ID, "hi", conversation.ReplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		<-gen.paused
		time.Sleep(2 * time.Millisecond) // so the duration cannot round to 0 ms
		if ok, err := svc.Stop(t.Context(), owner, c.ID); !ok || err != nil {
			t.Fatalf("Stop: %v, %v", ok, err)
		}
		select {
		case <-run.Done():
		default:
			t.Fatal("Stop returned before the stopped reply was stored")
		}
		m := lastMessage(t, db, c.ID)
		if m.Status != chat.StatusStopped || m.Content != "abc" || m.OutputTokens != 3 || m.DurationMS <= 0 {
			t.Fatalf("usageAtEnd=%v: stored %+v, want 3 completion tokens and a duration", usageAtEnd, m)
		}
	}
}

func TestDeleteWhileRunning(t *testing.T) {
	db := openStore(t)
	gen := pausing(1, "a", "b")
	svc := newService(t, db, gen, conversation.Config{})
	c := newConversation(t, svc, chat.Conversation{})
	run, err := svc.Send(t.Context(), owner, c.ID, "hi", conversation.ReplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	<-gen.paused
	if err := svc.DeleteConversation(t.Context(), owner, c.ID); err != nil {
		t.Fatal(err)
	}
	<-run.Done()
	if _, err := svc.GetConversation(t.Context(), owner, c.ID); chat.KindOf(err) != chat.KindNotFound {
		t.Fatalf("get deleted conversation: %v", err)
	}
}

func TestTitleFromFirstMessage(t *testing.T) {
	long := strings.Repeat("word ", 30)
	tests := []struct {
		name, preset, content, want string
	}{
		{"short", "", "Tell me a joke", "Tell me a joke"},
		{"first line", "", "\n\n  Plan a trip  \nwith details", "Plan a trip"},
		{"spaces collapse", "", "a\t\tb   c", "a b c"},
		{"long cut at word", "", long, strings.TrimSpace(strings.Repeat("word ", 12)) + "…"},
		{"unicode", "", strings.Repeat("é", 70), strings.Repeat("é", 60) + "…"},
		{"preset kept", "My title", "hello", "My title"},
	}
	db := openStore(t)
	svc := newService(t, db, &scripted{pieces: []string{"ok"}}, conversation.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConversation(t, svc, chat.Conversation{Title: tt.preset})
			run, err := svc.Send(t.Context(), owner, c.ID, tt.content, conversation.ReplyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := run.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
			got, err := svc.GetConversation(t.Context(), owner, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Title != tt.want {
				t.Fatalf("title %q, want %q", got.Title, tt.want)
			}
		})
	}
}

func TestSystemPromptAndHistoryReachTheModel(t *testing.T) {
	db := openStore(t)
	gen := &scripted{pieces: []string{"fine"}}
	svc := newService(t, db, gen, conversation.Config{})
	c := newConversation(t, svc, chat.Conversation{SystemPrompt: "Be brief.", Model: "m1"})
	for _, content := range []string{"one", "two"} {
		run, err := svc.Send(t.Context(), owner, c.ID, content, conversation.ReplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := run.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	req := gen.requests[len(gen.requests)-1]
	want := []chat.Turn{{Role: chat.RoleSystem, Content: "Be brief."}, {Role: chat.RoleUser, Content: "one"},
		{Role: chat.RoleAssistant, Content: "fine"}, {Role: chat.RoleUser, Content: "two"}}
	if req.Model != "m1" || len(req.Messages) != len(want) {
		t.Fatalf("request %+v", req)
	}
	for i := range want {
		if req.Messages[i] != want[i] {
			t.Fatalf("turn %d = %+v, want %+v", i, req.Messages[i], want[i])
		}
	}
}

func TestValidation(t *testing.T) {
	db := openStore(t)
	svc := newService(t, db, &scripted{pieces: []string{"ok"}}, conversation.Config{MaxMessageBytes: 10})
	c := newConversation(t, svc, chat.Conversation{})
	tests := []struct {
		name    string
		convID  string
		content string
		kind    chat.Kind
	}{
		{"empty", c.ID, "   ", chat.KindInvalid},
		{"too long", c.ID, strings.Repeat("x", 11), chat.KindTooLarge},
		{"bad utf8", c.ID, "\xff", chat.KindInvalid},
		{"bad id", "nope", "hi", chat.KindNotFound},
		{"unknown conversation", chat.NewID(), "hi", chat.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := svc.Send(t.Context(), owner, tt.convID, tt.content, conversation.ReplyOptions{}); chat.KindOf(err) != tt.kind {
				t.Fatalf("Send: %v, want kind %v", err, tt.kind)
			}
		})
	}
	if got, _ := svc.GetConversation(t.Context(), owner, c.ID); len(got.Messages) != 0 {
		t.Fatalf("refused messages were stored: %+v", got.Messages)
	}
}

// pausingStore holds the real store's StartReply (which stores the user
// message and the assistant placeholder) until released, to act while a
// reply is being prepared.
type pausingStore struct {
	chat.Store
	paused  chan struct{}
	release chan struct{}
}

func (s *pausingStore) For(owner string) chat.Conversations {
	return pausingConversations{Conversations: s.Store.For(owner), s: s}
}

type pausingConversations struct {
	chat.Conversations
	s *pausingStore
}

func (c pausingConversations) StartReply(ctx context.Context, r chat.NewReply) (*chat.Message, chat.Message, error) {
	close(c.s.paused)
	<-c.s.release
	return c.Conversations.StartReply(ctx, r)
}

func TestStopWhilePreparing(t *testing.T) {
	db := &pausingStore{Store: openStore(t), paused: make(chan struct{}), release: make(chan struct{})}
	gen := &scripted{pieces: []string{"never"}}
	svc := newService(t, db, gen, conversation.Config{})
	c := newConversation(t, svc, chat.Conversation{})
	type sent struct {
		run conversation.Reply
		err error
	}
	res := make(chan sent, 1)
	go func() {
		run, err := svc.Send(context.Background(), owner, c.ID, "hi", conversation.ReplyOptions{})
		res <- sent{run, err}
	}()
	<-db.paused
	if _, err := svc.Clear(t.Context(), owner, c.ID); chat.KindOf(err) != chat.KindConflict {
		t.Fatalf("Clear while preparing: %v, want conflict", err)
	}
	if _, ok, err := svc.Join(t.Context(), owner, c.ID); ok || err != nil {
		t.Fatalf("Join returned a reply that has not started (%v)", err)
	}
	if ok, err := svc.Stop(t.Context(), owner, c.ID); !ok || err != nil {
		t.Fatalf("Stop did not see the reply being prepared: %v, %v", ok, err)
	}
	close(db.release)
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	msg, err := r.run.Wait(t.Context())
	if err != nil || msg.Status != chat.StatusStopped || msg.Content != "" {
		t.Fatalf("reply stopped while preparing: %+v, %v", msg, err)
	}
	if m := lastMessage(t, db, c.ID); m.Status != chat.StatusStopped {
		t.Fatalf("stored %+v", m)
	}
}
