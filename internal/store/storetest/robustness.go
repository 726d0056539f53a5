package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/chat"
)

// idOps calls every Store method that takes an id with the given ids.
func idOps(st chat.Conversations, convID, msgID string) []struct {
	name string
	call func(ctx context.Context) error
} {
	title := "t"
	return []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"GetConversation", func(ctx context.Context) error { _, err := st.GetConversation(ctx, convID); return err }},
		{"UpdateConversation", func(ctx context.Context) error {
			_, err := st.UpdateConversation(ctx, convID, chat.ConversationPatch{Title: &title})
			return err
		}},
		{"DeleteConversation", func(ctx context.Context) error { return st.DeleteConversation(ctx, convID) }},
		{"AppendMessage", func(ctx context.Context) error {
			_, err := st.AppendMessage(ctx, chat.Message{ConversationID: convID, Role: chat.RoleUser, Content: "x"})
			return err
		}},
		{"UpdateMessage", func(ctx context.Context) error {
			return st.UpdateMessage(ctx, chat.Message{ID: msgID, ConversationID: convID, Role: chat.RoleUser, Status: chat.StatusComplete})
		}},
		{"DeleteMessagesFrom", func(ctx context.Context) error { return st.DeleteMessagesFrom(ctx, convID, msgID) }},
		{"ClearMessages", func(ctx context.Context) error { return st.ClearMessages(ctx, convID) }},
		{"StartReply", func(ctx context.Context) error {
			_, _, err := st.StartReply(ctx, chat.NewReply{ConversationID: convID,
				Reply: chat.Message{Role: chat.RoleAssistant}, Lease: chat.Lease{Owner: "p", TTL: time.Minute}})
			return err
		}},
		{"SaveReply", func(ctx context.Context) error {
			return st.SaveReply(ctx, chat.Message{ID: msgID, ConversationID: convID, Role: chat.RoleAssistant,
				Status: chat.StatusStreaming}, chat.Lease{Owner: "p", TTL: time.Minute})
		}},
	}
}

func (s suite) testUnknownIDs(t *testing.T) {
	st := s.conversations(t)
	// A populated store, so "unknown" cannot pass by the tables being empty.
	c := mustCreate(t, st, chat.Conversation{Title: "present"})
	seedMessages(t, st, c.ID, "m", 2)
	for _, op := range idOps(st, chat.NewID(), chat.NewID()) {
		wantKind(t, op.name+"(unknown id)", op.call(ctxT(t)), chat.KindNotFound)
	}
	if got := mustGet(t, st, c.ID); len(got.Messages) != 2 || got.Title != "present" {
		t.Errorf("existing conversation changed: %q with %d messages", got.Title, len(got.Messages))
	}
}

func (s suite) testMalformedIDs(t *testing.T) {
	st := s.conversations(t)
	c := mustCreate(t, st, chat.Conversation{Title: "present"})
	ms := seedMessages(t, st, c.ID, "m", 2)
	malformed := []string{
		"",
		"nope",
		"' OR '1'='1",
		"'; DROP TABLE conversations; --",
		"%",
		"_",
		strings.ToUpper(c.ID),
		c.ID + " ",
		c.ID[:35],
		"\x00" + c.ID[1:],
		"\xff\xfe",
		"00000000-0000-0000-0000-00000000000g",
		strings.Repeat("a", 10000),
	}
	for _, bad := range malformed {
		ops := append(idOps(st, bad, ms[0].ID), idOps(st, c.ID, bad)[4:6]...)
		for _, op := range ops {
			err := func() (err error) {
				defer func() {
					if r := recover(); r != nil {
						err = fmt.Errorf("panic: %v", r)
					}
				}()
				return op.call(ctxT(t))
			}()
			wantKind(t, fmt.Sprintf("%s(%.40q)", op.name, bad), err, chat.KindNotFound, chat.KindInvalid)
		}
	}
	if got := mustGet(t, st, c.ID); !slices.Equal(msgIDs(got.Messages), msgIDs(ms)) || got.Title != "present" {
		t.Errorf("existing conversation changed by malformed ids: %q, %v", got.Title, msgContents(got.Messages))
	}
}

func (s suite) testContentRoundTrip(t *testing.T) {
	st := s.conversations(t)
	var huge strings.Builder
	for huge.Len() < 4<<20 {
		huge.WriteString("Ünïcødé ✓ 日本語テキスト 🦙🔥 עברית مرحبا \u200d\ufeff e\u0301 \"q\" 'a' \\n\r\n\t%_;--\n")
	}
	tests := []struct {
		name    string
		content string
	}{
		{"empty", ""},
		{"ascii", "hello"},
		{"emoji and scripts", "👩‍👩‍👧‍👦 Привет 世界 مرحبا"},
		{"control characters", "\x01\x02\t\r\n\x1b[31mred\x1b[0m\x7f"},
		{"sql-ish", "'); DELETE FROM messages; -- \\ % _ $1 ?"},
		{"max code point", "\U0010FFFF\uFFFD"},
		{"huge", huge.String()},
	}
	c := mustCreate(t, st, chat.Conversation{Title: "🦙 " + tests[2].content, SystemPrompt: strings.ToValidUTF8(huge.String()[:100000], "")})
	var want []chat.Message
	for _, tt := range tests {
		want = append(want, mustAppend(t, st, chat.Message{ConversationID: c.ID, Role: chat.RoleAssistant, Content: tt.content}))
	}
	got := mustGet(t, st, c.ID)
	if got.Title != c.Title || got.SystemPrompt != c.SystemPrompt {
		t.Errorf("title or system prompt did not round-trip")
	}
	if len(got.Messages) != len(tests) {
		t.Fatalf("got %d messages, want %d", len(got.Messages), len(tests))
	}
	for i, tt := range tests {
		checkMsg(t, tt.name, got.Messages[i], want[i])
	}
	// The same content through UpdateMessage.
	m := want[0]
	m.Content = huge.String() + "end"
	if err := st.UpdateMessage(ctxT(t), m); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, st, c.ID); got.Messages[0].Content != m.Content {
		t.Errorf("huge content did not round-trip through UpdateMessage (%d bytes, want %d)", len(got.Messages[0].Content), len(m.Content))
	}
}

func (s suite) testConcurrentAppends(t *testing.T) {
	st := s.conversations(t)
	c := mustCreate(t, st, chat.Conversation{Title: "busy"})
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each+writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := st.AppendMessage(ctxT(t), chat.Message{ConversationID: c.ID, Role: chat.RoleUser, Content: fmt.Sprintf("w%d-%03d", w, i)}); err != nil {
					errs <- fmt.Errorf("writer %d append %d: %w", w, i, err)
					return
				}
			}
		})
	}
	// Readers at the same time must see consistent snapshots, never errors.
	for range 2 {
		wg.Go(func() {
			for range 10 {
				if _, err := st.GetConversation(ctxT(t), c.ID); err != nil {
					errs <- fmt.Errorf("concurrent read: %w", err)
					return
				}
				if _, err := st.ListConversations(ctxT(t), chat.ListOptions{Query: "w1"}); err != nil {
					errs <- fmt.Errorf("concurrent list: %w", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := mustGet(t, st, c.ID)
	if len(got.Messages) != writers*each {
		t.Fatalf("got %d messages, want %d", len(got.Messages), writers*each)
	}
	// Each writer's messages appear in the order it appended them, and
	// the order is stable across reads.
	next := make([]int, writers)
	seen := map[string]bool{}
	for _, m := range got.Messages {
		if seen[m.ID] {
			t.Fatalf("message %s listed twice", m.ID)
		}
		seen[m.ID] = true
		var w, i int
		if _, err := fmt.Sscanf(m.Content, "w%d-%03d", &w, &i); err != nil {
			t.Fatalf("unexpected content %q", m.Content)
		}
		if i != next[w] {
			t.Fatalf("writer %d: message %d stored after %d", w, i, next[w]-1)
		}
		next[w]++
	}
	again := mustGet(t, st, c.ID)
	if !slices.Equal(msgIDs(again.Messages), msgIDs(got.Messages)) {
		t.Error("message order differs between two reads")
	}
}

func (s suite) testConcurrentConversations(t *testing.T) {
	st := s.conversations(t)
	const workers, each = 6, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				c, err := st.CreateConversation(ctxT(t), chat.Conversation{Title: fmt.Sprintf("w%d-%d", w, i)})
				if err == nil {
					_, err = st.AppendMessage(ctxT(t), chat.Message{ConversationID: c.ID, Role: chat.RoleUser, Content: "hi"})
				}
				if err == nil && i%3 == 0 {
					err = st.DeleteConversation(ctxT(t), c.ID)
				}
				if err != nil {
					errs <- fmt.Errorf("worker %d step %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	all, _ := listAll(t, st, chat.ListOptions{Limit: 7})
	if want := workers * (each - (each+2)/3); len(all) != want {
		t.Errorf("listed %d conversations, want %d", len(all), want)
	}
}

func (s suite) testPing(t *testing.T) {
	st := s.open(t)
	if err := st.Ping(ctxT(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func (s suite) testClosed(t *testing.T) {
	root := s.open(t)
	st := root.For(account.LocalID)
	c := mustCreate(t, st, chat.Conversation{Title: "x"})
	if err := root.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wantKind(t, "Ping after Close", root.Ping(ctxT(t)), chat.KindUnavailable)
	_, err := st.GetConversation(ctxT(t), c.ID)
	wantKind(t, "GetConversation after Close", err, chat.KindUnavailable)
	_, err = st.AppendMessage(ctxT(t), chat.Message{ConversationID: c.ID, Role: chat.RoleUser})
	wantKind(t, "AppendMessage after Close", err, chat.KindUnavailable)
	_, err = st.ListConversations(ctxT(t), chat.ListOptions{})
	wantKind(t, "ListConversations after Close", err, chat.KindUnavailable)
	_, err = root.GetUser(ctxT(t), account.LocalID)
	wantKind(t, "GetUser after Close", err, chat.KindUnavailable)
	if err := root.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func (s suite) testCanceledContext(t *testing.T) {
	st := s.conversations(t)
	c := mustCreate(t, st, chat.Conversation{Title: "x"})
	ctx, cancel := context.WithCancel(ctxT(t))
	cancel()
	_, err := st.GetConversation(ctx, c.ID)
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("GetConversation with a canceled context = %v, want an error wrapping context.Canceled", err)
	}
	_, err = st.AppendMessage(ctx, chat.Message{ConversationID: c.ID, Role: chat.RoleUser, Content: "x"})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("AppendMessage with a canceled context = %v, want an error wrapping context.Canceled", err)
	}
	if got := mustGet(t, st, c.ID); len(got.Messages) != 0 {
		t.Errorf("a canceled append was stored")
	}
}
