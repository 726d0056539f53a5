package chat

import "context"

// Store keeps conversations and messages. Implementations must be safe for
// concurrent use and return *Error values of KindNotFound for unknown ids and
// KindInvalid for arguments they refuse; other failures (the database is
// unreachable) are KindUnavailable. storetest holds the conformance suite.
type Store interface {
	// CreateConversation stores c. ID, CreatedAt and UpdatedAt are filled in
	// when empty; the stored conversation is returned.
	CreateConversation(ctx context.Context, c Conversation) (Conversation, error)
	// GetConversation returns the conversation with all its messages in
	// order.
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
	// FirstTokenMS, DurationMS; it sets UpdatedAt.
	UpdateMessage(ctx context.Context, m Message) error
	// DeleteMessagesFrom removes the message with id messageID and every
	// message after it in the same conversation.
	DeleteMessagesFrom(ctx context.Context, conversationID, messageID string) error
	// ClearMessages removes every message of the conversation.
	ClearMessages(ctx context.Context, conversationID string) error

	// Ping reports whether the database answers (used by /readyz).
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}
