package conversation_test

import (
	"log/slog"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/conversation"
	"github.com/parley-chat/parley/internal/limit"
)

// A reply holds one of its owner's running slots from its start until its
// final state is stored, nobody following it; a reply already running in
// the conversation stays a conflict; a refused start leaves no slot taken.
func TestRunningRepliesPerOwner(t *testing.T) {
	db := openStore(t)
	gen := pausing(1, "a", "b")
	svc := conversation.NewService(db, gen, conversation.Config{}, slog.New(slog.DiscardHandler),
		conversation.WithRunning(limit.NewRunning(1)))
	t.Cleanup(func() { svc.Shutdown(t.Context()) })
	a := newConversation(t, svc, chat.Conversation{})
	b := newConversation(t, svc, chat.Conversation{})
	run, err := svc.Send(t.Context(), owner, a.ID, "hi", conversation.ReplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	<-gen.paused // running, and nobody follows it
	if _, err := svc.Send(t.Context(), owner, a.ID, "again", conversation.ReplyOptions{}); chat.KindOf(err) != chat.KindConflict {
		t.Fatalf("a second reply in the same conversation: %v, want conflict", err)
	}
	for range 2 { // refused twice: the first refusal took no slot
		if _, err := svc.Send(t.Context(), owner, b.ID, "hi", conversation.ReplyOptions{}); chat.KindOf(err) != chat.KindRateLimited || chat.RetryAfterOf(err) <= 0 {
			t.Fatalf("a reply over the owner's limit: %v, want rate limited with a retry time", err)
		}
	}
	close(gen.release)
	if _, err := run.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	gen.pauseAfter = 0 // the generator pauses once; the first reply has ended
	if _, err := svc.Send(t.Context(), owner, b.ID, "hi", conversation.ReplyOptions{}); err != nil {
		t.Fatalf("after the first reply ended: %v", err)
	}
}
