// Package chat is the domain of Parley: conversations, their messages, and
// the two interfaces every other room is built around — Store (where
// conversations live) and Generator (what writes the assistant's replies) —
// with the domain's errors and ids. The rules of a conversation (what is
// stored when, running replies) live in package conversation.
//
// This package imports nothing of Parley's and only the standard library, so
// that every implementation (SQLite, PostgreSQL, HTTP clients, the built-in
// engine) can depend on it without cycles.
package chat

import "time"

// Role is who wrote a message.
type Role string

const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	return r == RoleSystem || r == RoleUser || r == RoleAssistant
}

// Status is the lifecycle state of a message. User messages are always
// StatusComplete; assistant messages start as StatusStreaming and end in one
// of the four final states.
type Status string

const (
	StatusStreaming Status = "streaming"
	StatusComplete  Status = "complete"
	StatusStopped   Status = "stopped"
	StatusFailed    Status = "failed"
	// StatusInterrupted is a reply whose process stopped generating it
	// without ending it (a crash, a kill, a machine gone): its lease ran
	// out and another process ended it, keeping the text saved so far.
	StatusInterrupted Status = "interrupted"
)

// Final reports whether s is a terminal status.
func (s Status) Final() bool {
	return s == StatusComplete || s == StatusStopped || s == StatusFailed || s == StatusInterrupted
}

// Conversation is one chat thread. Messages is filled only by
// Store.GetConversation; listings leave it nil.
type Conversation struct {
	ID           string `json:"id"`
	Title        string `json:"title"`
	SystemPrompt string `json:"system_prompt"`
	Model        string `json:"model"`
	// Settings are sent with each reply of the conversation.
	Settings Settings `json:"settings"`
	// Pinned conversations are listed apart, first; Archived ones are
	// left out of the list, but searches find them.
	Pinned    bool      `json:"pinned"`
	Archived  bool      `json:"archived"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Messages  []Message `json:"messages,omitempty"`
}

// Settings are a conversation's generation settings; nil (or 0 for
// MaxTokens) is the default: the request's, else the model's.
type Settings struct {
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	MaxTokens   int      `json:"max_tokens,omitempty"`
}

// Check refuses settings outside what models accept.
func (s Settings) Check() error {
	if t := s.Temperature; t != nil && !(*t >= 0 && *t <= 2) {
		return Errorf(KindInvalid, "temperature must be from 0 to 2")
	}
	if p := s.TopP; p != nil && !(*p > 0 && *p <= 1) {
		return Errorf(KindInvalid, "top_p must be more than 0 and at most 1")
	}
	if s.MaxTokens < 0 || s.MaxTokens > MaxSettingsTokens {
		return Errorf(KindInvalid, "max_tokens must be from 0 (the default) to %d", MaxSettingsTokens)
	}
	return nil
}

// MaxSettingsTokens bounds Settings.MaxTokens; the server's --max-tokens
// caps every reply further.
const MaxSettingsTokens = 1 << 20

// Message is one turn of a conversation. The token, timing, finish and
// context fields are meaningful for assistant replies only.
type Message struct {
	ID             string `json:"id"`
	ConversationID string `json:"conversation_id"`
	Role           Role   `json:"role"`
	Content        string `json:"content"`
	Status         Status `json:"status"`
	Error          string `json:"error,omitempty"`
	Model          string `json:"model,omitempty"`
	PromptTokens   int    `json:"prompt_tokens,omitempty"`
	OutputTokens   int    `json:"completion_tokens,omitempty"`
	FirstTokenMS   int64  `json:"ttft_ms,omitempty"`
	DurationMS     int64  `json:"duration_ms,omitempty"`
	// FinishReason says why a reply ended: FinishStop, FinishLength, or
	// for a reply that did not end by itself its status ("stopped",
	// "failed", "interrupted"); "" while it streams.
	FinishReason string `json:"finish_reason,omitempty"`
	// ContextFrom is the id of the oldest message the model saw when it
	// wrote this reply: the messages before it did not fit its context
	// window. "" when unknown (the reply failed before the model was
	// asked, or it was stored by an older version).
	ContextFrom string `json:"context_from,omitempty"`
	// ParentID is the message this one follows ("" for a first message).
	// A retried reply or an edited question is a new message beside the
	// one it replaces, with the same parent: they are versions of one
	// turn, and the conversation shows the chosen one (and what follows
	// it).
	ParentID string `json:"parent_id,omitempty"`
	// Version is this message's place (from 1, oldest first) among the
	// versions of its turn, and Versions how many there are; both 0 when
	// the turn has only this one.
	Version   int       `json:"version,omitempty"`
	Versions  int       `json:"versions,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ConversationPatch changes some fields of a conversation; nil means "leave
// as is".
type ConversationPatch struct {
	Title        *string `json:"title,omitempty"`
	SystemPrompt *string `json:"system_prompt,omitempty"`
	Model        *string `json:"model,omitempty"`
	// Settings, when not nil, replace all the settings.
	Settings *Settings `json:"settings,omitempty"`
	Pinned   *bool     `json:"pinned,omitempty"`
	Archived *bool     `json:"archived,omitempty"`
}

// ListOptions selects a page of conversations, newest activity first.
type ListOptions struct {
	// Limit is the page size; implementations clamp it to [1, 200] and use
	// 50 when it is 0.
	Limit int
	// Cursor is the opaque NextCursor of the previous page ("" for the first).
	Cursor string
	// Query, when set, keeps conversations whose title or any message
	// content contains it (case-insensitive).
	Query string
	// SkipEmpty leaves out conversations without messages (a chat page's
	// list, where they would only be clutter).
	SkipEmpty bool
	// Pinned and Archived keep only conversations that are (FilterOnly)
	// or are not (FilterNone) pinned or archived; FilterAny keeps both.
	// The zero value of Archived is FilterNone without a Query and
	// FilterAny with one: archived conversations are found by searches.
	Pinned, Archived Filter
}

// Filter is how a listing treats a flag of conversations.
type Filter int

const (
	FilterDefault Filter = iota
	FilterAny
	FilterOnly
	FilterNone
)

// Page is one page of a conversation listing.
type Page struct {
	Conversations []Conversation `json:"data"`
	// NextCursor is "" on the last page.
	NextCursor string `json:"next_cursor"`
}
