package chat

import (
	"context"
	"time"
)

// Store keeps every user's conversations. It hands them out per owner
// only (For), so that no code can read or change a conversation without
// naming whose it is: another owner's conversation is simply not there.
// Implementations must be safe for concurrent use; storetest holds the
// conformance suite.
type Store interface {
	// For returns the conversations of owner, a user id. An owner that
	// names no user has none, and cannot create any.
	For(owner string) Conversations

	// InterruptExpired ends every reply of the conversation (of all
	// conversations when conversationID is "") that streams under a lease
	// that has run out, except those whose ids are in spare (the caller
	// runs them itself): status and finish reason StatusInterrupted with
	// errText, its text kept. Each reply is ended by one conditional write, so of processes
	// sweeping at once exactly one ends it. It returns the ended messages
	// (id and conversation id only). It is the sweep of the processes
	// running replies, and spans owners; it ends only replies whose
	// process is gone.
	InterruptExpired(ctx context.Context, conversationID, errText string, spare []string) ([]Message, error)

	// Ping reports whether the database answers (used by /readyz).
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// Conversations are one owner's conversations and their messages. Every
// method sees only that owner's: an id of another owner's conversation is
// KindNotFound, exactly like an id that exists nowhere. Methods return
// *Error values of KindNotFound for unknown ids and KindInvalid for
// arguments they refuse; other failures (the database is unreachable) are
// KindUnavailable.
type Conversations interface {
	// CreateConversation stores c. ID, CreatedAt and UpdatedAt are filled in
	// when empty; the stored conversation is returned.
	CreateConversation(ctx context.Context, c Conversation) (Conversation, error)
	// GetConversation returns the conversation with the messages of its
	// chosen branch in order: from the first message, at each turn the
	// chosen version (SelectVersion; else the newest), with Version and
	// Versions filled in. Versions not chosen stay stored but are not
	// listed.
	GetConversation(ctx context.Context, id string) (Conversation, error)
	// ListConversations returns a page ordered by UpdatedAt descending, ID
	// descending as the tie-break; Messages is left nil.
	ListConversations(ctx context.Context, opts ListOptions) (Page, error)
	// UpdateConversation applies p and bumps UpdatedAt.
	UpdateConversation(ctx context.Context, id string, p ConversationPatch) (Conversation, error)
	// DeleteConversation removes the conversation and its messages.
	DeleteConversation(ctx context.Context, id string) error

	// AppendMessage adds m at the end of its conversation (m.ConversationID
	// must exist), fills ID/CreatedAt/UpdatedAt when empty, bumps the
	// conversation's UpdatedAt and returns the stored message.
	AppendMessage(ctx context.Context, m Message) (Message, error)
	// UpdateMessage overwrites the mutable fields of an existing message:
	// Content, Status, Error, Model, PromptTokens, OutputTokens,
	// FirstTokenMS, DurationMS, FinishReason, ContextFrom; it sets
	// UpdatedAt.
	UpdateMessage(ctx context.Context, m Message) error
	// DeleteMessagesFrom removes the message with id messageID and every
	// message after it in the same conversation: all versions of its turn
	// and everything that follows any of them.
	DeleteMessagesFrom(ctx context.Context, conversationID, messageID string) error
	// ClearMessages removes every message of the conversation.
	ClearMessages(ctx context.Context, conversationID string) error
	// SelectVersion chooses version (from 1) of the turn of messageID, a
	// message of the conversation: GetConversation then shows that version
	// and what follows it, as it was when last shown. A version that does
	// not exist is KindInvalid with code CodeNoSuchVersion; while a reply
	// streams it is refused like DeleteMessagesFrom.
	SelectVersion(ctx context.Context, conversationID, messageID string, version int) error

	// StartReply changes the end of a conversation for a new reply in one
	// transaction: it sets r.From and every message after it aside as an
	// earlier version (when set: the new message takes r.From's place as
	// its newest version, chosen), appends r.User (when not nil) and then
	// r.Reply, a streaming assistant
	// message held under r.Lease, and returns the two as stored. With
	// r.Continue set it appends nothing: that message, the conversation's
	// last, an assistant reply that has ended, streams again under r.Lease
	// with its text and stats kept (its error and finish reason cleared),
	// and is returned as the reply; any other message is KindInvalid with
	// code CodeNotContinuable. While
	// another reply of the conversation streams under a lease that has not
	// run out, it changes nothing and returns KindConflict with code
	// CodeReplyRunning; so do DeleteMessagesFrom and ClearMessages. That
	// keeps one reply per conversation across processes.
	StartReply(ctx context.Context, r NewReply) (user *Message, reply Message, err error)
	// SaveReply writes the mutable fields of a reply (as UpdateMessage) and
	// renews its lease for lease.TTL, but only while the reply streams
	// under lease.Owner; otherwise it changes nothing and returns
	// KindConflict with code CodeLeaseLost (KindNotFound when the message
	// is gone). Saving a final status ends the lease.
	SaveReply(ctx context.Context, m Message, lease Lease) error
}

// Lease is how a process holds a reply it generates: the holder's id,
// unique per process (not to be confused with a conversation's owner), and how long the hold lasts unless renewed. Leases
// are timed by the database's clock, which all processes share.
type Lease struct {
	Owner string
	TTL   time.Duration
}

// NewReply is what Store.StartReply stores.
type NewReply struct {
	// ConversationID is the conversation the reply belongs to.
	ConversationID string
	// From, when not "", is a message of the chosen branch that the new
	// messages replace as a new version of its turn (an edit, a
	// regenerated reply); it and what follows it are kept as the earlier
	// version.
	From string
	// User, when not nil, is appended before the reply.
	User *Message
	// Reply is the assistant message, stored as StatusStreaming.
	Reply Message
	// Continue, when not "", is the id of the reply to resume instead of
	// appending Reply (From and User must then be empty).
	Continue string
	// Lease is the hold its generating process takes on Reply.
	Lease Lease
}

// Codes of the store's KindConflict errors about running replies.
const (
	// CodeReplyRunning: another reply of the conversation is streaming
	// under a live lease.
	CodeReplyRunning = "reply_running"
	// CodeLeaseLost: the reply is no longer streaming under this owner
	// (it was ended, or another process ended it when the lease ran out).
	CodeLeaseLost = "lease_lost"
	// CodeNotContinuable: the message to continue is not the
	// conversation's last, or not an assistant reply that has ended.
	CodeNotContinuable = "nothing_to_continue"
	// CodeNoSuchVersion: SelectVersion named a version the turn does not
	// have.
	CodeNoSuchVersion = "no_such_version"
)
