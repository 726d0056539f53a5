// Package storetest is the conformance suite for chat.Store and
// account.Store: every implementation (SQLite, PostgreSQL, and any future
// one) runs Run against a fresh, real database and must pass all of it, so
// that the rest of Parley can rely on one behaviour whatever the
// deployment — above all, that one user's conversations are never another's.
package storetest

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/chat"
)

// Store is what a SQL store is: conversations and accounts in one
// database.
type Store interface {
	chat.Store
	account.Store
}

// Run runs the whole suite. open must return a new, empty store for each
// call and arrange for it to be closed (t.Cleanup); the suite may also close
// it itself, so Close must tolerate being called twice.
func Run(t *testing.T, open func(t *testing.T) Store) {
	s := suite{open: open}
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"CreateGet", s.testCreateGet},
		{"CreateRefused", s.testCreateRefused},
		{"ListOrderAndPages", s.testListOrderAndPages},
		{"ListLimits", s.testListLimits},
		{"ListBadCursor", s.testListBadCursor},
		{"Search", s.testSearch},
		{"SearchPages", s.testSearchPages},
		{"UpdateConversation", s.testUpdateConversation},
		{"DeleteConversation", s.testDeleteConversation},
		{"AppendMessage", s.testAppendMessage},
		{"AppendRefused", s.testAppendRefused},
		{"UpdateMessage", s.testUpdateMessage},
		{"DeleteMessagesFrom", s.testDeleteMessagesFrom},
		{"ClearMessages", s.testClearMessages},
		{"StartReply", s.testStartReply},
		{"StartReplyReplaces", s.testStartReplyReplaces},
		{"ContinueReply", s.testContinueReply},
		{"Versions", s.testVersions},
		{"GenerationSettings", s.testGenerationSettings},
		{"PinArchive", s.testPinArchive},
		{"OneLiveReplyPerConversation", s.testOneLiveReply},
		{"SaveReplyHoldsTheLease", s.testSaveReply},
		{"InterruptExpired", s.testInterruptExpired},
		{"InterruptExpiredOnce", s.testInterruptExpiredOnce},
		{"UnknownIDs", s.testUnknownIDs},
		{"MalformedIDs", s.testMalformedIDs},
		{"ContentRoundTrip", s.testContentRoundTrip},
		{"ConcurrentAppends", s.testConcurrentAppends},
		{"ConcurrentConversations", s.testConcurrentConversations},
		{"Ping", s.testPing},
		{"Closed", s.testClosed},
		{"CanceledContext", s.testCanceledContext},
		{"Isolation", s.testIsolation},
		{"IsolationOfIDs", s.testIsolationOfIDs},
		{"DeleteUserTakesConversations", s.testDeleteUserTakesConversations},
		{"NoOwner", s.testNoOwner},
		{"Users", s.testUsers},
		{"ClaimLocal", s.testClaimLocal},
		{"ConcurrentClaims", s.testConcurrentClaims},
		{"Sessions", s.testSessions},
		{"Keys", s.testKeys},
		{"Settings", s.testSettings},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.fn)
	}
}

type suite struct {
	open func(t *testing.T) Store
}

// conversations opens a new store and returns the conversations of the
// local user, who exists in every new database.
func (s suite) conversations(t *testing.T) chat.Conversations {
	return s.open(t).For(account.LocalID)
}

// base is a fixed past instant; tests that check "UpdatedAt was bumped"
// create their rows at base so that any bump is strictly later, however
// coarse the clock.
var base = time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)

func ctxT(t *testing.T) context.Context { return t.Context() }

func mustCreate(t *testing.T, s chat.Conversations, c chat.Conversation) chat.Conversation {
	t.Helper()
	got, err := s.CreateConversation(ctxT(t), c)
	if err != nil {
		t.Fatalf("CreateConversation(%q): %v", c.Title, err)
	}
	return got
}

func mustAppend(t *testing.T, s chat.Conversations, m chat.Message) chat.Message {
	t.Helper()
	got, err := s.AppendMessage(ctxT(t), m)
	if err != nil {
		t.Fatalf("AppendMessage(%q): %v", m.Content, err)
	}
	return got
}

func mustGet(t *testing.T, s chat.Conversations, id string) chat.Conversation {
	t.Helper()
	got, err := s.GetConversation(ctxT(t), id)
	if err != nil {
		t.Fatalf("GetConversation(%s): %v", id, err)
	}
	return got
}

// wantKind fails unless err carries one of kinds.
func wantKind(t *testing.T, what string, err error, kinds ...chat.Kind) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got no error, want kind %v", what, kinds)
		return
	}
	if k := chat.KindOf(err); !slices.Contains(kinds, k) {
		t.Errorf("%s: got kind %v (%v), want %v", what, k, err, kinds)
	}
}

// checkTime fails unless got is want, in UTC, at millisecond precision.
func checkTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
	if got.Location() != time.UTC {
		t.Errorf("%s location = %v, want UTC", what, got.Location())
	}
	if got.Nanosecond()%int(time.Millisecond) != 0 {
		t.Errorf("%s = %v has sub-millisecond precision", what, got)
	}
}

func checkConv(t *testing.T, what string, got, want chat.Conversation) {
	t.Helper()
	if got.ID != want.ID || got.Title != want.Title || got.SystemPrompt != want.SystemPrompt || got.Model != want.Model {
		t.Errorf("%s = {%s %q %q %q}, want {%s %q %q %q}", what,
			got.ID, got.Title, got.SystemPrompt, got.Model, want.ID, want.Title, want.SystemPrompt, want.Model)
	}
	checkTime(t, what+".CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, what+".UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

func checkMsg(t *testing.T, what string, got, want chat.Message) {
	t.Helper()
	g, w := got, want
	g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	// Where a message sits among versions is testVersions' to check.
	g.ParentID, g.Version, g.Versions, w.ParentID, w.Version, w.Versions = "", 0, 0, "", 0, 0
	if g != w {
		if len(g.Content) > 100 || len(w.Content) > 100 {
			g.Content, w.Content = summarize(g.Content), summarize(w.Content)
		}
		t.Errorf("%s =\n  %+v\nwant\n  %+v", what, g, w)
	}
	checkTime(t, what+".CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, what+".UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

func summarize(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:20] + "…" + s[len(s)-20:] + " (" + strconv.Itoa(len(s)) + " bytes)"
}

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

func convIDs(cs []chat.Conversation) []string {
	return ids(cs, func(c chat.Conversation) string { return c.ID })
}

func msgIDs(ms []chat.Message) []string {
	return ids(ms, func(m chat.Message) string { return m.ID })
}

func msgContents(ms []chat.Message) []string {
	return ids(ms, func(m chat.Message) string { return m.Content })
}

// listAll walks every page of a listing, failing on repeated cursors so a
// broken implementation cannot loop forever.
func listAll(t *testing.T, s chat.Conversations, opts chat.ListOptions) (all []chat.Conversation, pages int) {
	t.Helper()
	seen := map[string]bool{}
	for {
		p, err := s.ListConversations(ctxT(t), opts)
		if err != nil {
			t.Fatalf("ListConversations(%+v): %v", opts, err)
		}
		pages++
		if want := opts.Limit; want > 0 && len(p.Conversations) > want {
			t.Fatalf("page %d has %d conversations, limit %d", pages, len(p.Conversations), want)
		}
		for _, c := range p.Conversations {
			if c.Messages != nil {
				t.Errorf("listed conversation %s has Messages set", c.ID)
			}
		}
		all = append(all, p.Conversations...)
		if p.NextCursor == "" {
			return all, pages
		}
		if len(p.Conversations) == 0 {
			t.Fatalf("page %d is empty but has a next cursor", pages)
		}
		if seen[p.NextCursor] {
			t.Fatalf("cursor %q repeated", p.NextCursor)
		}
		seen[p.NextCursor] = true
		opts.Cursor = p.NextCursor
	}
}
