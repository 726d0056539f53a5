package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

func (s suite) testAppendMessage(t *testing.T) {
	st := s.conversations(t)
	c := mustCreate(t, st, chat.Conversation{Title: "chat", CreatedAt: base, UpdatedAt: base})
	other := mustCreate(t, st, chat.Conversation{Title: "other", CreatedAt: base, UpdatedAt: base})
	givenID := chat.NewID()
	odd := time.Date(2023, 6, 1, 8, 30, 0, 987654321, time.FixedZone("PDT", -7*3600))
	inputs := []chat.Message{
		{Role: chat.RoleSystem, Content: "system text"},
		{Role: chat.RoleUser, Content: "hello"},
		{Role: chat.RoleAssistant, Content: "", Status: chat.StatusStreaming, Model: "m1"},
		// Given id and an old creation time: order is the order of
		// appends, not of CreatedAt.
		{ID: givenID, Role: chat.RoleUser, Content: "given", CreatedAt: odd, UpdatedAt: odd},
		{Role: chat.RoleAssistant, Content: "done", Status: chat.StatusComplete, Model: "m2",
			PromptTokens: 12, OutputTokens: 34, FirstTokenMS: 56, DurationMS: 789, Error: ""},
		{Role: chat.RoleAssistant, Content: "partial", Status: chat.StatusFailed, Error: "model unavailable"},
		{Role: chat.RoleAssistant, Content: "cut", Status: chat.StatusStopped},
	}
	var want []chat.Message
	for i, in := range inputs {
		in.ConversationID = c.ID
		before := time.Now().Add(-time.Second)
		got := mustAppend(t, st, in)
		exp := in
		if in.ID == "" {
			if !chat.ValidID(got.ID) {
				t.Fatalf("message %d: ID %q is not a valid id", i, got.ID)
			}
			exp.ID = got.ID
		}
		if in.Status == "" {
			exp.Status = chat.StatusComplete
		}
		if in.CreatedAt.IsZero() {
			if got.CreatedAt.Before(before) {
				t.Errorf("message %d: CreatedAt = %v, want about now", i, got.CreatedAt)
			}
			exp.CreatedAt, exp.UpdatedAt = got.CreatedAt, got.UpdatedAt
		}
		exp.CreatedAt = exp.CreatedAt.UTC().Truncate(time.Millisecond)
		exp.UpdatedAt = exp.UpdatedAt.UTC().Truncate(time.Millisecond)
		checkMsg(t, fmt.Sprintf("appended[%d]", i), got, exp)
		want = append(want, exp)
	}
	if want[3].ID != givenID {
		t.Errorf("given message id not kept: %s", want[3].ID)
	}
	stored := mustGet(t, st, c.ID)
	if !slices.Equal(msgIDs(stored.Messages), msgIDs(want)) {
		t.Fatalf("stored order = %v, want %v", msgContents(stored.Messages), msgContents(want))
	}
	for i := range want {
		checkMsg(t, fmt.Sprintf("stored[%d]", i), stored.Messages[i], want[i])
	}
	if !stored.UpdatedAt.After(base) {
		t.Errorf("conversation UpdatedAt = %v, not bumped by AppendMessage", stored.UpdatedAt)
	}
	checkTime(t, "conversation CreatedAt", stored.CreatedAt, base)
	if got := mustGet(t, st, other.ID); len(got.Messages) != 0 || !got.UpdatedAt.Equal(base) {
		t.Errorf("other conversation changed: %d messages, UpdatedAt %v", len(got.Messages), got.UpdatedAt)
	}
}

func (s suite) testAppendRefused(t *testing.T) {
	st := s.conversations(t)
	c := mustCreate(t, st, chat.Conversation{Title: "chat"})
	first := mustAppend(t, st, chat.Message{ConversationID: c.ID, Role: chat.RoleUser, Content: "first"})
	tests := []struct {
		name  string
		in    chat.Message
		kinds []chat.Kind
	}{
		{"unknown conversation", chat.Message{ConversationID: chat.NewID(), Role: chat.RoleUser}, []chat.Kind{chat.KindNotFound}},
		{"no conversation", chat.Message{Role: chat.RoleUser}, []chat.Kind{chat.KindNotFound, chat.KindInvalid}},
		{"duplicate id", chat.Message{ID: first.ID, ConversationID: c.ID, Role: chat.RoleUser}, []chat.Kind{chat.KindConflict}},
		{"malformed id", chat.Message{ID: "x", ConversationID: c.ID, Role: chat.RoleUser}, []chat.Kind{chat.KindInvalid}},
		{"bad role", chat.Message{ConversationID: c.ID, Role: "robot"}, []chat.Kind{chat.KindInvalid}},
		{"no role", chat.Message{ConversationID: c.ID}, []chat.Kind{chat.KindInvalid}},
		{"bad status", chat.Message{ConversationID: c.ID, Role: chat.RoleUser, Status: "pending"}, []chat.Kind{chat.KindInvalid}},
		{"invalid utf-8", chat.Message{ConversationID: c.ID, Role: chat.RoleUser, Content: "\xc3\x28"}, []chat.Kind{chat.KindInvalid}},
		{"NUL", chat.Message{ConversationID: c.ID, Role: chat.RoleUser, Content: "a\x00"}, []chat.Kind{chat.KindInvalid}},
		{"negative tokens", chat.Message{ConversationID: c.ID, Role: chat.RoleAssistant, OutputTokens: -1}, []chat.Kind{chat.KindInvalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := st.AppendMessage(ctxT(t), tt.in)
			wantKind(t, "AppendMessage", err, tt.kinds...)
		})
	}
	if got := mustGet(t, st, c.ID); !slices.Equal(msgIDs(got.Messages), []string{first.ID}) {
		t.Errorf("messages after refused appends = %v, want only the first", msgContents(got.Messages))
	}
}

func (s suite) testUpdateMessage(t *testing.T) {
	st := s.conversations(t)
	c := mustCreate(t, st, chat.Conversation{Title: "chat"})
	tests := []struct {
		name   string
		change func(m *chat.Message)
	}{
		{"content", func(m *chat.Message) { m.Content = "Once upon a time 🐉" }},
		{"status", func(m *chat.Message) { m.Status = chat.StatusComplete }},
		{"error", func(m *chat.Message) { m.Status, m.Error = chat.StatusFailed, "backend went away" }},
		{"model", func(m *chat.Message) { m.Model = "stories260K" }},
		{"prompt tokens", func(m *chat.Message) { m.PromptTokens = 101 }},
		{"output tokens", func(m *chat.Message) { m.OutputTokens = 202 }},
		{"first token", func(m *chat.Message) { m.FirstTokenMS = 303 }},
		{"duration", func(m *chat.Message) { m.DurationMS = 1 << 40 }},
		{"finish reason", func(m *chat.Message) { m.Status, m.FinishReason = chat.StatusComplete, chat.FinishLength }},
		{"context from", func(m *chat.Message) { m.ContextFrom = chat.NewID() }},
		{"everything", func(m *chat.Message) {
			*m = chat.Message{ID: m.ID, ConversationID: m.ConversationID, Role: m.Role, CreatedAt: m.CreatedAt, Content: "final", Status: chat.StatusStopped,
				Error: "stopped by user", Model: "x", PromptTokens: 1, OutputTokens: 2, FirstTokenMS: 3, DurationMS: 4,
				FinishReason: "stopped", ContextFrom: m.ID}
		}},
		{"back to empty", func(m *chat.Message) {
			m.Content, m.Error, m.Model, m.PromptTokens, m.OutputTokens, m.FirstTokenMS, m.DurationMS = "", "", "", 0, 0, 0, 0
			m.FinishReason, m.ContextFrom = "", ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := mustAppend(t, st, chat.Message{ConversationID: c.ID, Role: chat.RoleUser, Content: "tell a story"})
			orig := mustAppend(t, st, chat.Message{ConversationID: c.ID, Role: chat.RoleAssistant, Content: "Once",
				Status: chat.StatusStreaming, Model: "m0", PromptTokens: 5, Error: "", CreatedAt: base, UpdatedAt: base})
			want := orig
			tt.change(&want)
			// Immutable fields sent differently must be ignored.
			sent := want
			sent.Role = chat.RoleUser
			sent.CreatedAt = time.Now().Add(time.Hour)
			sent.UpdatedAt = time.Time{}
			if err := st.UpdateMessage(ctxT(t), sent); err != nil {
				t.Fatal(err)
			}
			got := mustGet(t, st, c.ID)
			var stored chat.Message
			for _, m := range got.Messages {
				if m.ID == orig.ID {
					stored = m
				}
			}
			if !stored.UpdatedAt.After(base) {
				t.Errorf("UpdatedAt = %v, not set by UpdateMessage", stored.UpdatedAt)
			}
			want.UpdatedAt = stored.UpdatedAt
			checkMsg(t, "updated", stored, want)
			for _, m := range got.Messages {
				if m.ID == user.ID {
					checkMsg(t, "untouched user message", m, user)
				}
			}
		})
	}
	valid := mustAppend(t, st, chat.Message{ConversationID: c.ID, Role: chat.RoleAssistant, Content: "ok"})
	refused := []struct {
		name   string
		change func(m *chat.Message)
		kinds  []chat.Kind
	}{
		{"unknown id", func(m *chat.Message) { m.ID = chat.NewID() }, []chat.Kind{chat.KindNotFound}},
		{"empty id", func(m *chat.Message) { m.ID = "" }, []chat.Kind{chat.KindNotFound, chat.KindInvalid}},
		{"no conversation id", func(m *chat.Message) { m.ConversationID = "" }, []chat.Kind{chat.KindNotFound, chat.KindInvalid}},
		{"other conversation", func(m *chat.Message) { m.ConversationID = chat.NewID() }, []chat.Kind{chat.KindNotFound}},
		{"bad status", func(m *chat.Message) { m.Status = "weird" }, []chat.Kind{chat.KindInvalid}},
		{"invalid utf-8", func(m *chat.Message) { m.Content = "\xff" }, []chat.Kind{chat.KindInvalid}},
		{"context from no id", func(m *chat.Message) { m.ContextFrom = "the start" }, []chat.Kind{chat.KindInvalid}},
	}
	for _, tt := range refused {
		m := valid
		m.Content = "changed"
		tt.change(&m)
		wantKind(t, "UpdateMessage("+tt.name+")", st.UpdateMessage(ctxT(t), m), tt.kinds...)
	}
	got := mustGet(t, st, c.ID)
	if last := got.Messages[len(got.Messages)-1]; last.ID != valid.ID || last.Content != "ok" {
		t.Errorf("message after refused updates = %q, want %q", last.Content, "ok")
	}
}

// seedMessages appends n messages named prefix0..prefixN-1.
func seedMessages(t *testing.T, st chat.Conversations, convID, prefix string, n int) []chat.Message {
	t.Helper()
	var out []chat.Message
	for i := range n {
		role := chat.RoleUser
		if i%2 == 1 {
			role = chat.RoleAssistant
		}
		out = append(out, mustAppend(t, st, chat.Message{ConversationID: convID, Role: role, Content: fmt.Sprint(prefix, i)}))
	}
	return out
}

func (s suite) testDeleteMessagesFrom(t *testing.T) {
	tests := []struct {
		name string
		from int // index of the message to delete from
	}{
		{"first", 0},
		{"middle", 2},
		{"last", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := s.conversations(t)
			a := mustCreate(t, st, chat.Conversation{Title: "a"})
			b := mustCreate(t, st, chat.Conversation{Title: "b"})
			am := seedMessages(t, st, a.ID, "a", 5)
			bm := seedMessages(t, st, b.ID, "b", 3)
			if err := st.DeleteMessagesFrom(ctxT(t), a.ID, am[tt.from].ID); err != nil {
				t.Fatal(err)
			}
			if got := mustGet(t, st, a.ID); !slices.Equal(msgIDs(got.Messages), msgIDs(am[:tt.from])) {
				t.Errorf("a's messages = %v, want %v", msgContents(got.Messages), msgContents(am[:tt.from]))
			}
			if got := mustGet(t, st, b.ID); !slices.Equal(msgIDs(got.Messages), msgIDs(bm)) {
				t.Errorf("b's messages = %v, want untouched %v", msgContents(got.Messages), msgContents(bm))
			}
			// Appending after a truncation continues at the end.
			n := mustAppend(t, st, chat.Message{ConversationID: a.ID, Role: chat.RoleUser, Content: "edited"})
			want := append(msgIDs(am[:tt.from]), n.ID)
			if got := mustGet(t, st, a.ID); !slices.Equal(msgIDs(got.Messages), want) {
				t.Errorf("after re-append: %v", msgContents(got.Messages))
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		st := s.conversations(t)
		a := mustCreate(t, st, chat.Conversation{Title: "a"})
		b := mustCreate(t, st, chat.Conversation{Title: "b"})
		am := seedMessages(t, st, a.ID, "a", 3)
		bm := seedMessages(t, st, b.ID, "b", 3)
		cases := []struct {
			name      string
			conv, msg string
			kinds     []chat.Kind
		}{
			{"unknown message", a.ID, chat.NewID(), []chat.Kind{chat.KindNotFound}},
			{"message of another conversation", a.ID, bm[1].ID, []chat.Kind{chat.KindNotFound}},
			{"unknown conversation", chat.NewID(), am[0].ID, []chat.Kind{chat.KindNotFound}},
			{"malformed message", a.ID, "nope", []chat.Kind{chat.KindNotFound, chat.KindInvalid}},
			{"malformed conversation", "nope", am[0].ID, []chat.Kind{chat.KindNotFound, chat.KindInvalid}},
		}
		for _, tc := range cases {
			wantKind(t, tc.name, st.DeleteMessagesFrom(ctxT(t), tc.conv, tc.msg), tc.kinds...)
		}
		if got := mustGet(t, st, a.ID); !slices.Equal(msgIDs(got.Messages), msgIDs(am)) {
			t.Errorf("a's messages after refused deletes = %v", msgContents(got.Messages))
		}
		if got := mustGet(t, st, b.ID); !slices.Equal(msgIDs(got.Messages), msgIDs(bm)) {
			t.Errorf("b's messages after refused deletes = %v", msgContents(got.Messages))
		}
	})
}

func (s suite) testClearMessages(t *testing.T) {
	st := s.conversations(t)
	a := mustCreate(t, st, chat.Conversation{Title: "a", SystemPrompt: "sp"})
	b := mustCreate(t, st, chat.Conversation{Title: "b"})
	seedMessages(t, st, a.ID, "a", 4)
	bm := seedMessages(t, st, b.ID, "b", 2)
	if err := st.ClearMessages(ctxT(t), a.ID); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, st, a.ID)
	if len(got.Messages) != 0 {
		t.Errorf("a has %d messages after ClearMessages, want 0", len(got.Messages))
	}
	if got.Title != "a" || got.SystemPrompt != "sp" {
		t.Errorf("conversation fields changed by ClearMessages: %+v", got)
	}
	if got := mustGet(t, st, b.ID); !slices.Equal(msgIDs(got.Messages), msgIDs(bm)) {
		t.Errorf("b's messages = %v, want untouched", msgContents(got.Messages))
	}
	if err := st.ClearMessages(ctxT(t), a.ID); err != nil {
		t.Errorf("ClearMessages on an empty conversation: %v", err)
	}
	fresh := seedMessages(t, st, a.ID, "new", 2)
	if got := mustGet(t, st, a.ID); !slices.Equal(msgIDs(got.Messages), msgIDs(fresh)) {
		t.Errorf("after clear and append: %v", msgContents(got.Messages))
	}
	wantKind(t, "ClearMessages(unknown)", st.ClearMessages(ctxT(t), chat.NewID()), chat.KindNotFound)
}
