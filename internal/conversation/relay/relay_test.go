package relay_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/cluster/redistest"
	"github.com/parley-chat/parley/internal/conversation"
	"github.com/parley-chat/parley/internal/conversation/relay"
	"github.com/parley-chat/parley/internal/store/sqlite"
)

// gated writes a reply piece by piece as the test hands it pieces, and
// ends it when the channel is closed (or the reply is stopped).
type gated struct{ pieces chan string }

func (g gated) Generate(ctx context.Context, _ chat.GenerateRequest, emit func(chat.Delta) error) (chat.Generation, error) {
	gen := chat.Generation{Model: "gated", FinishReason: chat.FinishStop}
	for {
		select {
		case p, ok := <-g.pieces:
			if !ok {
				return gen, nil
			}
			if err := emit(chat.Delta{Content: p}); err != nil {
				return gen, err
			}
		case <-ctx.Done():
			return gen, context.Cause(ctx)
		}
	}
}

func (gated) Models(context.Context) ([]chat.ModelInfo, error) {
	return []chat.ModelInfo{{ID: "gated"}}, nil
}

const alice = account.LocalID

// replicas are api replicas on one database; those given a Redis share
// their running replies through it.
type replicas struct {
	db  *sqlite.DB
	gen gated
}

func newReplicas(t *testing.T) *replicas {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "chat.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &replicas{db: db, gen: gated{pieces: make(chan string)}}
}

func (rs *replicas) start(t *testing.T, redis *redistest.Server) *conversation.Service {
	cfg := conversation.Config{ReplyLease: 3 * time.Second}
	if redis != nil {
		cfg.Relay = relay.New(redis.Client(), relay.Config{})
	}
	svc := conversation.NewService(rs.db, rs.gen, cfg, slog.New(slog.DiscardHandler))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		svc.Shutdown(ctx)
	})
	return svc
}

// follower collects what a client following a reply is shown.
type follower struct {
	mu    sync.Mutex
	text  strings.Builder
	final chat.Message
	done  chan struct{}
}

func follow(t *testing.T, rp conversation.Reply) *follower {
	f := &follower{done: make(chan struct{})}
	f.text.WriteString(rp.Assistant.Content)
	go func() {
		defer close(f.done)
		msg, _ := rp.Follow(t.Context(), len(rp.Assistant.Content), func(p string) error {
			f.mu.Lock()
			f.text.WriteString(p)
			f.mu.Unlock()
			return nil
		})
		f.final = msg
	}()
	return f
}

func (f *follower) shown() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.text.String()
}

func (f *follower) await(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for f.shown() != text {
		if time.Now().After(deadline) {
			t.Fatalf("follower shows %q, want %q", f.shown(), text)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func lastStored(t *testing.T, db *sqlite.DB, id string) chat.Message {
	t.Helper()
	c, err := db.For(alice).GetConversation(context.Background(), id)
	if err != nil || len(c.Messages) == 0 {
		t.Fatalf("conversation %s: %+v %v", id, c, err)
	}
	return c.Messages[len(c.Messages)-1]
}

// A reply run by replica A is followed from B, from the text so far on,
// and stopped from C; C answers once the reply is stored as stopped, and
// B's client is shown the whole text and the stored end. Another user
// finds neither the conversation nor its reply on any replica.
func TestFollowAndStopFromOtherReplicas(t *testing.T) {
	redis := redistest.Start(t)
	rs := newReplicas(t)
	a, b, c := rs.start(t, redis), rs.start(t, redis), rs.start(t, redis)
	conv, err := a.CreateConversation(t.Context(), alice, chat.Conversation{})
	if err != nil {
		t.Fatal(err)
	}
	rp, err := a.Send(t.Context(), alice, conv.ID, "hello", conversation.ReplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	onA := follow(t, rp)
	rs.gen.pieces <- "one "
	rs.gen.pieces <- "two "
	onA.await(t, "one two ")

	joined, running, err := b.Join(t.Context(), alice, conv.ID)
	if err != nil || !running {
		t.Fatalf("Join on B: running %v, %v", running, err)
	}
	if !strings.HasPrefix("one two ", joined.Assistant.Content) || joined.Assistant.ID != rp.Assistant.ID {
		t.Fatalf("B shows the reply so far as %+v", joined.Assistant)
	}
	onB := follow(t, joined)
	onB.await(t, "one two ")
	rs.gen.pieces <- "three"
	onB.await(t, "one two three")

	// Another user: not found on any replica, and nothing is stopped.
	const bob = "0193aaaa-0000-7000-8000-000000000000"
	if _, _, err := c.Join(t.Context(), bob, conv.ID); chat.KindOf(err) != chat.KindNotFound {
		t.Errorf("bob's Join of alice's reply: %v, want not found", err)
	}
	if _, err := c.Stop(t.Context(), bob, conv.ID); chat.KindOf(err) != chat.KindNotFound {
		t.Errorf("bob's Stop of alice's reply: %v, want not found", err)
	}

	stopped, err := c.Stop(t.Context(), alice, conv.ID)
	if err != nil || !stopped {
		t.Fatalf("Stop on C: %v, %v", stopped, err)
	}
	// Answered once stored.
	if m := lastStored(t, rs.db, conv.ID); m.Status != chat.StatusStopped || m.Content != "one two three" {
		t.Fatalf("after C's stop the store holds %+v", m)
	}
	for name, f := range map[string]*follower{"A": onA, "B": onB} {
		select {
		case <-f.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("the follower on %s never saw the end", name)
		}
		if f.shown() != "one two three" || f.final.Status != chat.StatusStopped || f.final.Content != "one two three" {
			t.Errorf("the follower on %s was shown %q, then %+v", name, f.shown(), f.final)
		}
	}
	if _, running, err := b.Join(t.Context(), alice, conv.ID); running || err != nil {
		t.Errorf("Join on B after the end: running %v, %v", running, err)
	}
}

// A reply continued on B after it ended on A is followed from A: the log
// of the continued run follows the first one's, and A's client sees the
// text so far, then only what the second run adds.
func TestContinueOnAnotherReplica(t *testing.T) {
	redis := redistest.Start(t)
	rs := newReplicas(t)
	a, b := rs.start(t, redis), rs.start(t, redis)
	conv, err := a.CreateConversation(t.Context(), alice, chat.Conversation{})
	if err != nil {
		t.Fatal(err)
	}
	rp, err := a.Send(t.Context(), alice, conv.ID, "hello", conversation.ReplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs.gen.pieces <- "first"
	if ok, err := a.Stop(t.Context(), alice, conv.ID); !ok || err != nil {
		t.Fatalf("Stop on A: %v %v", ok, err)
	}
	if _, err := rp.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}

	cont, err := b.Continue(t.Context(), alice, conv.ID, conversation.ReplyOptions{})
	if err != nil {
		t.Fatalf("Continue on B: %v", err)
	}
	if cont.Assistant.ID != rp.Assistant.ID {
		t.Fatalf("continued %s, want %s", cont.Assistant.ID, rp.Assistant.ID)
	}
	joined, running, err := a.Join(t.Context(), alice, conv.ID)
	if err != nil || !running {
		t.Fatalf("Join on A of the reply continued on B: %v %v", running, err)
	}
	onA := follow(t, joined)
	onA.await(t, "first")
	rs.gen.pieces <- " second"
	onA.await(t, "first second")
	close(rs.gen.pieces)
	<-onA.done
	if onA.final.Status != chat.StatusComplete || onA.final.Content != "first second" {
		t.Fatalf("A was shown the end %+v", onA.final)
	}
}

// Without Redis a replica cannot follow or stop a reply that another
// runs, and says so rather than that nothing runs.
func TestWithoutRedisAnotherReplicasReplyIsElsewhere(t *testing.T) {
	rs := newReplicas(t)
	a, b := rs.start(t, nil), rs.start(t, nil)
	conv, err := a.CreateConversation(t.Context(), alice, chat.Conversation{})
	if err != nil {
		t.Fatal(err)
	}
	rp, err := a.Send(t.Context(), alice, conv.ID, "hello", conversation.ReplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs.gen.pieces <- "one"
	if _, _, err := b.Join(t.Context(), alice, conv.ID); chat.CodeOf(err) != conversation.CodeReplyElsewhere || chat.KindOf(err) != chat.KindUnavailable {
		t.Errorf("Join on B without Redis: %v, want %s", err, conversation.CodeReplyElsewhere)
	}
	if _, err := b.Stop(t.Context(), alice, conv.ID); chat.CodeOf(err) != conversation.CodeReplyElsewhere {
		t.Errorf("Stop on B without Redis: %v, want %s", err, conversation.CodeReplyElsewhere)
	}
	close(rs.gen.pieces)
	if m, err := rp.Wait(t.Context()); err != nil || m.Status != chat.StatusComplete {
		t.Fatalf("the reply on A: %+v %v", m, err)
	}
	if _, running, err := b.Join(t.Context(), alice, conv.ID); running || err != nil {
		t.Errorf("Join on B after the end: %v %v", running, err)
	}
}

// Redis holds a reply's log in order; a read from a position returns
// only what follows it, and a blocking read waits for the next entry.
func TestLogReadsFromAPosition(t *testing.T) {
	redis := redistest.Start(t)
	r := relay.New(redis.Client(), relay.Config{})
	ctx := t.Context()
	start := chat.Message{ID: chat.NewID(), Content: "so far"}
	if err := r.Append(ctx, start.ID,
		conversation.RelayEvent{Kind: conversation.RelayStart, Run: "r1", Message: &start},
		conversation.RelayEvent{Kind: conversation.RelayDelta, Run: "r1", At: 6, Text: " more"}); err != nil {
		t.Fatal(err)
	}
	evs, err := r.Read(ctx, start.ID, "", 0)
	if err != nil || len(evs) != 2 || evs[0].Message.Content != "so far" || evs[1].At != 6 || evs[1].Text != " more" {
		t.Fatalf("read all: %+v %v", evs, err)
	}
	got := make(chan []conversation.RelayEvent, 1)
	go func() {
		evs, _ := r.Read(ctx, start.ID, evs[1].Pos, 5*time.Second)
		got <- evs
	}()
	end := start
	end.Content, end.Status = "so far more", chat.StatusComplete
	if err := r.Append(ctx, start.ID, conversation.RelayEvent{Kind: conversation.RelayDone, Run: "r1", Message: &end}); err != nil {
		t.Fatal(err)
	}
	if evs := <-got; len(evs) != 1 || evs[0].Kind != conversation.RelayDone || evs[0].Message.Status != chat.StatusComplete {
		t.Fatalf("blocking read: %+v", evs)
	}
	if evs, err := r.Read(ctx, chat.NewID(), "", 0); err != nil || len(evs) != 0 {
		t.Fatalf("a log that does not exist: %+v %v", evs, err)
	}
}
