package storetest

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

func (s suite) testCreateGet(t *testing.T) {
	st := s.conversations(t)
	fixedID := chat.NewID()
	// A time in another zone with sub-millisecond digits: the store keeps
	// the instant, in UTC, at millisecond precision.
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	odd := time.Date(2025, 1, 2, 3, 4, 5, 123456789, zone)
	tests := []struct {
		name string
		in   chat.Conversation
	}{
		{"empty", chat.Conversation{}},
		{"all fields", chat.Conversation{Title: "Trip planning", SystemPrompt: "You are terse.", Model: "stories260K"}},
		{"given id", chat.Conversation{ID: fixedID, Title: "given"}},
		{"given times", chat.Conversation{Title: "times", CreatedAt: odd, UpdatedAt: odd.Add(time.Hour)}},
		{"unicode", chat.Conversation{Title: "Привет 👋 世界", SystemPrompt: "é\u0301\n\t\"quoted\" 'single' \\back"}},
		{"messages ignored", chat.Conversation{Title: "m", Messages: []chat.Message{{Role: chat.RoleUser, Content: "x"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now().Add(-time.Second)
			got := mustCreate(t, st, tt.in)
			if !chat.ValidID(got.ID) {
				t.Errorf("ID = %q, not a valid id", got.ID)
			}
			if tt.in.ID != "" && got.ID != tt.in.ID {
				t.Errorf("ID = %q, want the given %q", got.ID, tt.in.ID)
			}
			want := tt.in
			want.ID = got.ID
			if want.CreatedAt.IsZero() {
				if got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now().Add(time.Second)) {
					t.Errorf("CreatedAt = %v, want about now", got.CreatedAt)
				}
				want.CreatedAt = got.CreatedAt
			}
			if want.UpdatedAt.IsZero() {
				want.UpdatedAt = got.UpdatedAt
			}
			want.CreatedAt = want.CreatedAt.UTC().Truncate(time.Millisecond)
			want.UpdatedAt = want.UpdatedAt.UTC().Truncate(time.Millisecond)
			checkConv(t, "created", got, want)
			stored := mustGet(t, st, got.ID)
			checkConv(t, "stored", stored, want)
			if len(stored.Messages) != 0 {
				t.Errorf("stored conversation has %d messages, want 0", len(stored.Messages))
			}
		})
	}
}

func (s suite) testCreateRefused(t *testing.T) {
	st := s.conversations(t)
	existing := mustCreate(t, st, chat.Conversation{Title: "first"})
	tests := []struct {
		name  string
		in    chat.Conversation
		kinds []chat.Kind
	}{
		{"duplicate id", chat.Conversation{ID: existing.ID, Title: "second"}, []chat.Kind{chat.KindConflict}},
		{"malformed id", chat.Conversation{ID: "not-an-id"}, []chat.Kind{chat.KindInvalid}},
		{"upper-case id", chat.Conversation{ID: strings.ToUpper(chat.NewID())}, []chat.Kind{chat.KindInvalid}},
		{"invalid utf-8 title", chat.Conversation{Title: "bad \xff\xfe"}, []chat.Kind{chat.KindInvalid}},
		{"NUL in system prompt", chat.Conversation{SystemPrompt: "a\x00b"}, []chat.Kind{chat.KindInvalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := st.CreateConversation(ctxT(t), tt.in)
			wantKind(t, "CreateConversation", err, tt.kinds...)
		})
	}
	if got := mustGet(t, st, existing.ID); got.Title != "first" {
		t.Errorf("existing conversation title = %q after refused creates, want %q", got.Title, "first")
	}
	all, _ := listAll(t, st, chat.ListOptions{})
	if len(all) != 1 {
		t.Errorf("store holds %d conversations after refused creates, want 1", len(all))
	}
}

// sortNewestFirst is the order every listing must follow.
func sortNewestFirst(cs []chat.Conversation) {
	slices.SortFunc(cs, func(a, b chat.Conversation) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
}

// seedConversations creates n conversations in random order, with
// UpdatedAt values that collide in groups of three so that the ID tie-break
// and the cursor's handling of equal times are exercised.
func seedConversations(t *testing.T, st chat.Conversations, n int, title func(i int) string) []chat.Conversation {
	t.Helper()
	order := rand.Perm(n)
	out := make([]chat.Conversation, 0, n)
	for _, i := range order {
		ts := base.Add(time.Duration(i/3) * time.Minute)
		out = append(out, mustCreate(t, st, chat.Conversation{Title: title(i), CreatedAt: ts, UpdatedAt: ts}))
	}
	sortNewestFirst(out)
	return out
}

func (s suite) testListOrderAndPages(t *testing.T) {
	st := s.conversations(t)
	if p, err := st.ListConversations(ctxT(t), chat.ListOptions{}); err != nil || len(p.Conversations) != 0 || p.NextCursor != "" {
		t.Fatalf("empty store: page %+v, %v; want no conversations and no cursor", p, err)
	}
	want := seedConversations(t, st, 23, func(i int) string { return fmt.Sprintf("conv %02d", i) })
	tests := []struct {
		limit     int
		wantPages int
	}{
		{limit: 1, wantPages: 23},
		{limit: 5, wantPages: 5},
		{limit: 7, wantPages: 4},
		{limit: 23, wantPages: 1},
		{limit: 24, wantPages: 1},
		{limit: 0, wantPages: 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("limit=%d", tt.limit), func(t *testing.T) {
			got, pages := listAll(t, st, chat.ListOptions{Limit: tt.limit})
			if !slices.Equal(convIDs(got), convIDs(want)) {
				t.Fatalf("listing (limit %d) =\n  %v\nwant\n  %v", tt.limit, convIDs(got), convIDs(want))
			}
			if pages != tt.wantPages {
				t.Errorf("pages = %d, want %d", pages, tt.wantPages)
			}
			for i := range got {
				checkConv(t, fmt.Sprintf("listed[%d]", i), got[i], want[i])
			}
		})
	}

	t.Run("activity moves a conversation first", func(t *testing.T) {
		last := want[len(want)-1]
		mustAppend(t, st, chat.Message{ConversationID: last.ID, Role: chat.RoleUser, Content: "bump"})
		p, err := st.ListConversations(ctxT(t), chat.ListOptions{Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Conversations) != 2 || p.Conversations[0].ID != last.ID {
			t.Fatalf("first listed = %v, want %s first", convIDs(p.Conversations), last.ID)
		}
	})
}

func (s suite) testListLimits(t *testing.T) {
	st := s.conversations(t)
	seedConversations(t, st, 205, func(i int) string { return fmt.Sprintf("c%d", i) })
	tests := []struct {
		limit int
		want  int
	}{
		{limit: 0, want: 50},
		{limit: -7, want: 1},
		{limit: 1, want: 1},
		{limit: 199, want: 199},
		{limit: 200, want: 200},
		{limit: 201, want: 200},
		{limit: 1 << 30, want: 200},
	}
	for _, tt := range tests {
		p, err := st.ListConversations(ctxT(t), chat.ListOptions{Limit: tt.limit})
		if err != nil {
			t.Fatalf("limit %d: %v", tt.limit, err)
		}
		if len(p.Conversations) != tt.want {
			t.Errorf("limit %d: got %d conversations, want %d", tt.limit, len(p.Conversations), tt.want)
		}
		if p.NextCursor == "" {
			t.Errorf("limit %d: no next cursor although more conversations exist", tt.limit)
		}
	}
}

func (s suite) testListBadCursor(t *testing.T) {
	st := s.conversations(t)
	seedConversations(t, st, 3, func(i int) string { return "c" })
	for _, cur := range []string{"!!!", "bm90IGEgY3Vyc29y", "%00", "'; DROP TABLE conversations; --", strings.Repeat("A", 5000)} {
		_, err := st.ListConversations(ctxT(t), chat.ListOptions{Cursor: cur})
		wantKind(t, fmt.Sprintf("cursor %.20q", cur), err, chat.KindInvalid)
	}
	if all, _ := listAll(t, st, chat.ListOptions{}); len(all) != 3 {
		t.Errorf("after bad cursors: %d conversations, want 3", len(all))
	}
}

func (s suite) testSearch(t *testing.T) {
	st := s.conversations(t)
	mk := func(title string, contents ...string) string {
		c := mustCreate(t, st, chat.Conversation{Title: title})
		for i, content := range contents {
			role := chat.RoleUser
			if i%2 == 1 {
				role = chat.RoleAssistant
			}
			mustAppend(t, st, chat.Message{ConversationID: c.ID, Role: role, Content: content})
		}
		return c.ID
	}
	grocery := mk("Grocery List", "eggs", "bread")
	milk := mk("Chores", "Remember the MILK", "ok")
	both := mk("milk prices", "Is milk expensive?")
	percent := mk("Confidence", "I am 100% sure")
	underscore := mk("Code", "use snake_case names")
	backslash := mk(`C:\Users`, "paths")
	unicode := mk("Café notes", "naïve résumé 日本語 😀")
	empty := mk("")
	tests := []struct {
		q    string
		want []string
	}{
		{q: "grocery", want: []string{grocery}},
		{q: "GROCERY list", want: []string{grocery}},
		{q: "milk", want: []string{milk, both}},
		{q: "MiLk", want: []string{milk, both}},
		{q: "%", want: []string{percent}},
		{q: "100%", want: []string{percent}},
		{q: "_", want: []string{underscore}},
		{q: "e_c", want: []string{underscore}},
		{q: `\`, want: []string{backslash}},
		{q: `c:\users`, want: []string{backslash}},
		{q: "日本", want: []string{unicode}},
		{q: "😀", want: []string{unicode}},
		{q: "café", want: []string{unicode}},
		{q: "nowhere to be found", want: nil},
		{q: "'; DROP TABLE messages; --", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			got, _ := listAll(t, st, chat.ListOptions{Query: tt.q})
			gotIDs := convIDs(got)
			slices.Sort(gotIDs)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(gotIDs, want) {
				t.Errorf("Query %q matched %v, want %v", tt.q, gotIDs, want)
			}
		})
	}
	if all, _ := listAll(t, st, chat.ListOptions{}); len(all) != 8 {
		t.Errorf("unfiltered listing has %d conversations, want 8", len(all))
	}
	// Without the empty one, alone and with a query.
	titled := mk("Empty but titled")
	if all, _ := listAll(t, st, chat.ListOptions{SkipEmpty: true}); len(all) != 7 || slices.Contains(convIDs(all), empty) || slices.Contains(convIDs(all), titled) {
		t.Errorf("SkipEmpty lists %v, want the 7 with messages", convIDs(all))
	}
	if all, _ := listAll(t, st, chat.ListOptions{SkipEmpty: true, Query: "titled"}); len(all) != 0 {
		t.Errorf("SkipEmpty with a query lists %v", convIDs(all))
	}
}

func (s suite) testSearchPages(t *testing.T) {
	st := s.conversations(t)
	all := seedConversations(t, st, 30, func(i int) string {
		if i%2 == 0 {
			return fmt.Sprintf("needle %d", i)
		}
		return fmt.Sprintf("hay %d", i)
	})
	// One match only through several messages, to catch joins that repeat
	// a conversation once per matching message.
	viaMessages := mustCreate(t, st, chat.Conversation{Title: "hay again", UpdatedAt: base.Add(-time.Hour)})
	for range 3 {
		mustAppend(t, st, chat.Message{ConversationID: viaMessages.ID, Role: chat.RoleUser, Content: "a NEEDLE here"})
	}
	viaMessages = mustGet(t, st, viaMessages.ID)
	var want []chat.Conversation
	for _, c := range append(all, viaMessages) {
		if strings.Contains(c.Title, "needle") || c.ID == viaMessages.ID {
			want = append(want, c)
		}
	}
	sortNewestFirst(want)
	got, pages := listAll(t, st, chat.ListOptions{Query: "Needle", Limit: 4})
	if !slices.Equal(convIDs(got), convIDs(want)) {
		t.Fatalf("search listing =\n  %v\nwant\n  %v", convIDs(got), convIDs(want))
	}
	if wantPages := (len(want) + 3) / 4; pages != wantPages {
		t.Errorf("pages = %d, want %d", pages, wantPages)
	}
}

func (s suite) testUpdateConversation(t *testing.T) {
	st := s.conversations(t)
	str := func(s string) *string { return &s }
	tests := []struct {
		name  string
		patch chat.ConversationPatch
	}{
		{"nothing", chat.ConversationPatch{}},
		{"title", chat.ConversationPatch{Title: str("New title ✨")}},
		{"system prompt", chat.ConversationPatch{SystemPrompt: str("Be kind.")}},
		{"model", chat.ConversationPatch{Model: str("other-model")}},
		{"all", chat.ConversationPatch{Title: str("T"), SystemPrompt: str("S"), Model: str("M")}},
		{"to empty", chat.ConversationPatch{Title: str(""), SystemPrompt: str(""), Model: str("")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := mustCreate(t, st, chat.Conversation{Title: "Old title", SystemPrompt: "Old prompt", Model: "old-model", CreatedAt: base, UpdatedAt: base})
			other := mustCreate(t, st, chat.Conversation{Title: "Other", CreatedAt: base, UpdatedAt: base})
			mustAppend(t, st, chat.Message{ConversationID: orig.ID, Role: chat.RoleUser, Content: "kept"})
			before := mustGet(t, st, orig.ID)
			got, err := st.UpdateConversation(ctxT(t), orig.ID, tt.patch)
			if err != nil {
				t.Fatal(err)
			}
			want := before
			if tt.patch.Title != nil {
				want.Title = *tt.patch.Title
			}
			if tt.patch.SystemPrompt != nil {
				want.SystemPrompt = *tt.patch.SystemPrompt
			}
			if tt.patch.Model != nil {
				want.Model = *tt.patch.Model
			}
			if got.UpdatedAt.Before(before.UpdatedAt) || !got.UpdatedAt.After(base) {
				t.Errorf("UpdatedAt = %v, not bumped past %v", got.UpdatedAt, before.UpdatedAt)
			}
			want.UpdatedAt = got.UpdatedAt
			checkConv(t, "returned", got, want)
			stored := mustGet(t, st, orig.ID)
			checkConv(t, "stored", stored, want)
			if len(stored.Messages) != 1 || stored.Messages[0].Content != "kept" {
				t.Errorf("messages after update = %v, want [kept]", msgContents(stored.Messages))
			}
			checkConv(t, "other conversation", mustGet(t, st, other.ID), other)
		})
	}
	_, err := st.UpdateConversation(ctxT(t), chat.NewID(), chat.ConversationPatch{Title: str("x")})
	wantKind(t, "UpdateConversation(unknown)", err, chat.KindNotFound)
	c := mustCreate(t, st, chat.Conversation{Title: "valid"})
	_, err = st.UpdateConversation(ctxT(t), c.ID, chat.ConversationPatch{Title: str("bad \xff")})
	wantKind(t, "UpdateConversation(invalid utf-8)", err, chat.KindInvalid)
	if got := mustGet(t, st, c.ID); got.Title != "valid" {
		t.Errorf("title after refused patch = %q", got.Title)
	}
}

func (s suite) testDeleteConversation(t *testing.T) {
	st := s.conversations(t)
	gone := mustCreate(t, st, chat.Conversation{Title: "gone"})
	kept := mustCreate(t, st, chat.Conversation{Title: "kept"})
	var goneMsgs []chat.Message
	for i := range 3 {
		goneMsgs = append(goneMsgs, mustAppend(t, st, chat.Message{ConversationID: gone.ID, Role: chat.RoleUser, Content: fmt.Sprint("g", i)}))
	}
	keptMsg := mustAppend(t, st, chat.Message{ConversationID: kept.ID, Role: chat.RoleUser, Content: "k"})

	if err := st.DeleteConversation(ctxT(t), gone.ID); err != nil {
		t.Fatal(err)
	}
	_, err := st.GetConversation(ctxT(t), gone.ID)
	wantKind(t, "GetConversation after delete", err, chat.KindNotFound)
	wantKind(t, "DeleteConversation twice", st.DeleteConversation(ctxT(t), gone.ID), chat.KindNotFound)
	m := goneMsgs[1]
	m.Content = "edited"
	wantKind(t, "UpdateMessage of a deleted conversation's message", st.UpdateMessage(ctxT(t), m), chat.KindNotFound)
	_, err = st.AppendMessage(ctxT(t), chat.Message{ConversationID: gone.ID, Role: chat.RoleUser, Content: "late"})
	wantKind(t, "AppendMessage to a deleted conversation", err, chat.KindNotFound)

	all, _ := listAll(t, st, chat.ListOptions{})
	if !slices.Equal(convIDs(all), []string{kept.ID}) {
		t.Errorf("listing after delete = %v, want [%s]", convIDs(all), kept.ID)
	}
	if hits, _ := listAll(t, st, chat.ListOptions{Query: "g1"}); len(hits) != 0 {
		t.Errorf("search still finds the deleted conversation's messages: %v", convIDs(hits))
	}
	got := mustGet(t, st, kept.ID)
	if len(got.Messages) != 1 {
		t.Fatalf("kept conversation has %d messages, want 1", len(got.Messages))
	}
	checkMsg(t, "kept message", got.Messages[0], keptMsg)
	// Ids stay usable: re-creating a conversation with the deleted id works
	// and starts empty (the messages really went, not just hidden).
	again := mustCreate(t, st, chat.Conversation{ID: gone.ID, Title: "again"})
	if got := mustGet(t, st, again.ID); len(got.Messages) != 0 {
		t.Errorf("re-created conversation has %d messages, want 0", len(got.Messages))
	}
}
