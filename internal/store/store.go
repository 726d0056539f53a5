// Package store is chat.Store on SQL, written once for every database: DB
// holds the queries and the row mapping, and the rules both databases must
// follow (which arguments are refused, how times are normalised, how list
// pages are sized, how their opaque cursors and search patterns are built).
// What differs per database is a Dialect, given by the sqlite and postgres
// subpackages, which also open the connections and keep the schema files;
// storetest is the conformance suite they both pass.
//
// A new table is one migration file per database (see migrate) and its
// queries here, in one file beside conversations.go and messages.go.
package store

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/chat"
)

// Page sizes, as chat.ListOptions documents them.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Limit clamps a requested page size to [1, MaxLimit], with 0 meaning
// DefaultLimit.
func Limit(n int) int {
	switch {
	case n == 0:
		return DefaultLimit
	case n < 1:
		return 1
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// Cursor is the position after which the next page starts: the last
// conversation of the previous page.
type Cursor struct {
	UpdatedAt time.Time
	ID        string
}

// EncodeCursor returns c as an opaque token for clients.
func EncodeCursor(c Cursor) string {
	raw := strconv.FormatInt(c.UpdatedAt.UnixMilli(), 10) + "|" + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// DecodeCursor parses a token made by EncodeCursor. Anything else is
// refused with KindInvalid, because it can only come from a client that
// made it up.
func DecodeCursor(s string) (Cursor, error) {
	bad := func() (Cursor, error) { return Cursor{}, chat.Errorf(chat.KindInvalid, "invalid cursor") }
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return bad()
	}
	ms, id, ok := strings.Cut(string(raw), "|")
	if !ok || !chat.ValidID(id) {
		return bad()
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return bad()
	}
	return Cursor{UpdatedAt: time.UnixMilli(n).UTC(), ID: id}, nil
}

// LikePattern turns a search query into a LIKE pattern matching it as a
// substring, with '\' as the escape character (both databases are told
// ESCAPE '\'), so that % and _ in the query match themselves.
func LikePattern(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 2)
	b.WriteByte('%')
	for _, r := range q {
		if r == '\\' || r == '%' || r == '_' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('%')
	return b.String()
}

// Time returns t as stored: UTC at millisecond precision, or now when t is
// zero.
func Time(t, now time.Time) time.Time {
	if t.IsZero() {
		t = now
	}
	return t.UTC().Truncate(time.Millisecond)
}

// Now is the current time as stored.
func Now() time.Time { return Time(time.Time{}, time.Now()) }

// PrepareConversation checks c and fills its id and times, so both
// databases store exactly what they return.
func PrepareConversation(c chat.Conversation) (chat.Conversation, error) {
	if c.ID == "" {
		c.ID = chat.NewID()
	} else if !chat.ValidID(c.ID) {
		return c, chat.Errorf(chat.KindInvalid, "invalid conversation id")
	}
	if err := checkText("title", c.Title); err != nil {
		return c, err
	}
	if err := checkText("system_prompt", c.SystemPrompt); err != nil {
		return c, err
	}
	if err := checkText("model", c.Model); err != nil {
		return c, err
	}
	if err := c.Settings.Check(); err != nil {
		return c, err
	}
	now := time.Now()
	c.CreatedAt = Time(c.CreatedAt, now)
	c.UpdatedAt = Time(c.UpdatedAt, now)
	c.Messages = nil
	return c, nil
}

// CheckPatch refuses patches whose texts or settings cannot be stored.
func CheckPatch(p chat.ConversationPatch) error {
	if p.Settings != nil {
		if err := p.Settings.Check(); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"title", p.Title}, {"system_prompt", p.SystemPrompt}, {"model", p.Model}} {
		if f.v != nil {
			if err := checkText(f.name, *f.v); err != nil {
				return err
			}
		}
	}
	return nil
}

// PrepareMessage checks a message about to be appended and fills its id,
// status and times.
func PrepareMessage(m chat.Message) (chat.Message, error) {
	if !chat.ValidID(m.ConversationID) {
		return m, chat.Errorf(chat.KindNotFound, "conversation not found")
	}
	if m.ID == "" {
		m.ID = chat.NewID()
	} else if !chat.ValidID(m.ID) {
		return m, chat.Errorf(chat.KindInvalid, "invalid message id")
	}
	if !m.Role.Valid() {
		return m, chat.Errorf(chat.KindInvalid, "invalid message role %q", m.Role)
	}
	if m.Status == "" {
		m.Status = chat.StatusComplete
	}
	if err := CheckMessageFields(m); err != nil {
		return m, err
	}
	now := time.Now()
	m.CreatedAt = Time(m.CreatedAt, now)
	m.UpdatedAt = Time(m.UpdatedAt, now)
	return m, nil
}

// CheckMessageFields refuses values of the mutable message fields that
// cannot be stored.
func CheckMessageFields(m chat.Message) error {
	if m.Status != chat.StatusStreaming && !m.Status.Final() {
		return chat.Errorf(chat.KindInvalid, "invalid message status %q", m.Status)
	}
	if err := checkText("content", m.Content); err != nil {
		return err
	}
	if err := checkText("error", m.Error); err != nil {
		return err
	}
	if err := checkText("model", m.Model); err != nil {
		return err
	}
	if err := checkText("finish reason", m.FinishReason); err != nil {
		return err
	}
	if m.ContextFrom != "" && !chat.ValidID(m.ContextFrom) {
		return chat.Errorf(chat.KindInvalid, "context_from must be a message id")
	}
	if m.PromptTokens < 0 || m.OutputTokens < 0 || m.FirstTokenMS < 0 || m.DurationMS < 0 {
		return chat.Errorf(chat.KindInvalid, "token counts and durations must not be negative")
	}
	return nil
}

// checkText refuses what PostgreSQL cannot store in a text column (invalid
// UTF-8, NUL), on every database, so that the two behave alike.
func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return chat.Errorf(chat.KindInvalid, "%s is not valid UTF-8", field)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return chat.Errorf(chat.KindInvalid, "%s contains a NUL character", field)
	}
	return nil
}

// NotFound is the error for an unknown or malformed id of what.
func NotFound(what string) error {
	return chat.Errorf(chat.KindNotFound, "%s not found", what)
}

// PageOf makes a list page from conversations read in list order with a
// LIMIT of limit+1: the extra row only says that a next page exists, and
// the last row kept is where it starts.
func PageOf(convs []chat.Conversation, limit int) chat.Page {
	page := chat.Page{Conversations: convs}
	if page.Conversations == nil {
		page.Conversations = []chat.Conversation{}
	}
	if len(convs) > limit {
		page.Conversations = convs[:limit]
		last := convs[limit-1]
		page.NextCursor = EncodeCursor(Cursor{UpdatedAt: last.UpdatedAt, ID: last.ID})
	}
	return page
}
