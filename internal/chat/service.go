package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// ServiceConfig holds the limits of conversation handling.
type ServiceConfig struct {
	// MaxMessageBytes bounds a user message and a system prompt.
	MaxMessageBytes int
	// MaxTitleRunes bounds a conversation title.
	MaxTitleRunes int
	// SaveInterval is how often a streaming reply is written to the store,
	// so that a crash loses at most this much of it.
	SaveInterval time.Duration
	// ReplyTimeout bounds one reply from start to end.
	ReplyTimeout time.Duration
	// MaxTokens caps the length of a reply (0: the model's default).
	MaxTokens int
	// DefaultModel is used when neither the request nor the conversation
	// names one ("" lets the generator choose).
	DefaultModel string
}

// DefaultServiceConfig returns the defaults documented in the README.
func DefaultServiceConfig() ServiceConfig {
	return ServiceConfig{
		MaxMessageBytes: 64 << 10,
		MaxTitleRunes:   200,
		SaveInterval:    time.Second,
		ReplyTimeout:    10 * time.Minute,
	}
}

// autoTitleRunes is the length of titles made from a first message.
const autoTitleRunes = 60

// Cancellation causes, so a reply ended early gets the right status.
var (
	errStopped      = errors.New("stopped by the user")
	errShuttingDown = errors.New("server shutting down")
	errReplyTimeout = errors.New("reply timed out")
	errDeleted      = errors.New("conversation deleted")
)

// Service is the conversation logic behind the api's handlers. It owns the
// running replies: each runs in a goroutine that outlives the request that
// started it (a closed browser must not lose the reply), ended by Stop,
// ReplyTimeout or Shutdown.
type Service struct {
	store Store
	gen   Generator
	cfg   ServiceConfig
	log   *slog.Logger

	mu      sync.Mutex
	runs    map[string]*Run // by conversation id
	closing bool
	wg      sync.WaitGroup
}

// NewService returns a Service over store and gen. Zero fields of cfg take
// their defaults.
func NewService(store Store, gen Generator, cfg ServiceConfig, log *slog.Logger) *Service {
	def := DefaultServiceConfig()
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = def.MaxMessageBytes
	}
	if cfg.MaxTitleRunes <= 0 {
		cfg.MaxTitleRunes = def.MaxTitleRunes
	}
	if cfg.SaveInterval <= 0 {
		cfg.SaveInterval = def.SaveInterval
	}
	if cfg.ReplyTimeout <= 0 {
		cfg.ReplyTimeout = def.ReplyTimeout
	}
	return &Service{store: store, gen: gen, cfg: cfg, log: log, runs: make(map[string]*Run)}
}

// CreateConversation validates and stores a new conversation.
func (s *Service) CreateConversation(ctx context.Context, c Conversation) (Conversation, error) {
	p := ConversationPatch{Title: &c.Title, SystemPrompt: &c.SystemPrompt, Model: &c.Model}
	if err := s.validatePatch(p); err != nil {
		return Conversation{}, err
	}
	c.ID, c.Messages = "", nil
	c.Title = strings.TrimSpace(c.Title)
	return s.store.CreateConversation(ctx, c)
}

// GetConversation returns a conversation with its messages and whether a
// reply is running in it now.
func (s *Service) GetConversation(ctx context.Context, id string) (Conversation, bool, error) {
	if !ValidID(id) {
		return Conversation{}, false, errConversationNotFound()
	}
	c, err := s.store.GetConversation(ctx, id)
	if err != nil {
		return Conversation{}, false, conversationErr(err)
	}
	_, running := s.Attach(id)
	return c, running, nil
}

// ListConversations returns a page of conversations, newest activity first.
func (s *Service) ListConversations(ctx context.Context, opts ListOptions) (Page, error) {
	if len(opts.Query) > 1000 {
		return Page{}, Errorf(KindInvalid, "search query is longer than 1000 bytes")
	}
	return s.store.ListConversations(ctx, opts)
}

// UpdateConversation renames a conversation or changes its system prompt or
// model.
func (s *Service) UpdateConversation(ctx context.Context, id string, p ConversationPatch) (Conversation, error) {
	if !ValidID(id) {
		return Conversation{}, errConversationNotFound()
	}
	if err := s.validatePatch(p); err != nil {
		return Conversation{}, err
	}
	if p.Title != nil {
		t := strings.TrimSpace(*p.Title)
		p.Title = &t
	}
	c, err := s.store.UpdateConversation(ctx, id, p)
	return c, conversationErr(err)
}

// DeleteConversation stops a running reply, then deletes the conversation.
func (s *Service) DeleteConversation(ctx context.Context, id string) error {
	if !ValidID(id) {
		return errConversationNotFound()
	}
	if r, ok := s.lookup(id); ok {
		r.cancel(errDeleted)
		select {
		case <-r.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return conversationErr(s.store.DeleteConversation(ctx, id))
}

func (s *Service) validatePatch(p ConversationPatch) error {
	if p.Title != nil {
		if !utf8.ValidString(*p.Title) || strings.ContainsAny(*p.Title, "\x00") {
			return Errorf(KindInvalid, "title must be valid UTF-8 text")
		}
		if utf8.RuneCountInString(*p.Title) > s.cfg.MaxTitleRunes {
			return Errorf(KindInvalid, "title is longer than %d characters", s.cfg.MaxTitleRunes)
		}
	}
	if p.SystemPrompt != nil {
		if !utf8.ValidString(*p.SystemPrompt) {
			return Errorf(KindInvalid, "system prompt must be valid UTF-8 text")
		}
		if len(*p.SystemPrompt) > s.cfg.MaxMessageBytes {
			return &Error{Kind: KindTooLarge, Code: "system_prompt_too_long",
				Message: fmt.Sprintf("system prompt is longer than %d bytes", s.cfg.MaxMessageBytes)}
		}
	}
	if p.Model != nil && len(*p.Model) > 256 {
		return Errorf(KindInvalid, "model name is longer than 256 bytes")
	}
	return nil
}

// ValidateMessage reports whether content is acceptable as a user message
// (non-empty UTF-8 text within MaxMessageBytes), so that a caller can
// refuse it before creating anything for it.
func (s *Service) ValidateMessage(content string) error { return s.validateContent(content) }

func (s *Service) validateContent(content string) error {
	if !utf8.ValidString(content) {
		return Errorf(KindInvalid, "message must be valid UTF-8 text")
	}
	if strings.TrimSpace(content) == "" {
		return &Error{Kind: KindInvalid, Code: "empty_message", Message: "message is empty"}
	}
	if len(content) > s.cfg.MaxMessageBytes {
		return &Error{Kind: KindTooLarge, Code: "message_too_long",
			Message: fmt.Sprintf("message is longer than %d bytes", s.cfg.MaxMessageBytes)}
	}
	return nil
}

// conversationErr gives a store's not-found for a conversation id the
// documented code, so clients can tell it from an unknown message or model.
func conversationErr(err error) error {
	if err != nil && KindOf(err) == KindNotFound && CodeOf(err) == "" {
		return &Error{Kind: KindNotFound, Code: "conversation_not_found", Message: "conversation not found", Err: err}
	}
	return err
}

func errConversationNotFound() error {
	return &Error{Kind: KindNotFound, Code: "conversation_not_found", Message: "conversation not found"}
}

// ReplyOptions tune one reply.
type ReplyOptions struct {
	// Model overrides the conversation's model for this reply.
	Model  string
	Params Params
}

// Send stores content as the user's next message and starts the reply. The
// message is committed before the model is called, so it survives any
// failure of the model. The returned Run streams the reply.
func (s *Service) Send(ctx context.Context, conversationID, content string, opts ReplyOptions) (*Run, error) {
	if err := s.validateContent(content); err != nil {
		return nil, err
	}
	if !ValidID(conversationID) {
		return nil, errConversationNotFound()
	}
	return s.startRun(ctx, conversationID, opts, func(c *Conversation) (*Message, error) {
		return s.appendUser(ctx, c, content)
	})
}

// Edit replaces the user message messageID (and everything after it) with
// content and starts a new reply.
func (s *Service) Edit(ctx context.Context, conversationID, messageID, content string, opts ReplyOptions) (*Run, error) {
	if err := s.validateContent(content); err != nil {
		return nil, err
	}
	if !ValidID(conversationID) {
		return nil, errConversationNotFound()
	}
	return s.startRun(ctx, conversationID, opts, func(c *Conversation) (*Message, error) {
		i := indexOf(c.Messages, messageID)
		if i < 0 {
			return nil, &Error{Kind: KindNotFound, Code: "message_not_found", Message: "message not found"}
		}
		if c.Messages[i].Role != RoleUser {
			return nil, Errorf(KindInvalid, "only user messages can be edited")
		}
		if err := s.store.DeleteMessagesFrom(ctx, c.ID, messageID); err != nil {
			return nil, err
		}
		c.Messages = c.Messages[:i]
		return s.appendUser(ctx, c, content)
	})
}

// Regenerate drops the last reply and starts a new one (the seed's Retry).
func (s *Service) Regenerate(ctx context.Context, conversationID string, opts ReplyOptions) (*Run, error) {
	if !ValidID(conversationID) {
		return nil, errConversationNotFound()
	}
	return s.startRun(ctx, conversationID, opts, func(c *Conversation) (*Message, error) {
		n := len(c.Messages)
		if n > 0 && c.Messages[n-1].Role == RoleAssistant {
			if err := s.store.DeleteMessagesFrom(ctx, c.ID, c.Messages[n-1].ID); err != nil {
				return nil, err
			}
			c.Messages = c.Messages[:n-1]
			n--
		}
		if n == 0 || c.Messages[n-1].Role != RoleUser {
			return nil, &Error{Kind: KindInvalid, Code: "nothing_to_regenerate", Message: "there is no message to answer"}
		}
		return nil, nil
	})
}

// Undo removes the last user message and everything after it.
func (s *Service) Undo(ctx context.Context, conversationID string) (Conversation, error) {
	return s.editHistory(ctx, conversationID, func(c Conversation) error {
		for i := len(c.Messages) - 1; i >= 0; i-- {
			if c.Messages[i].Role == RoleUser {
				return s.store.DeleteMessagesFrom(ctx, c.ID, c.Messages[i].ID)
			}
		}
		if len(c.Messages) > 0 { // only assistant/system messages: drop them all
			return s.store.ClearMessages(ctx, c.ID)
		}
		return nil
	})
}

// Clear removes every message of a conversation.
func (s *Service) Clear(ctx context.Context, conversationID string) (Conversation, error) {
	return s.editHistory(ctx, conversationID, func(c Conversation) error {
		return s.store.ClearMessages(ctx, c.ID)
	})
}

// editHistory changes the stored history while no reply runs: a running
// reply would write into a message that is gone.
func (s *Service) editHistory(ctx context.Context, id string, change func(Conversation) error) (Conversation, error) {
	if !ValidID(id) {
		return Conversation{}, errConversationNotFound()
	}
	if _, running := s.lookup(id); running {
		return Conversation{}, errRunning()
	}
	c, err := s.store.GetConversation(ctx, id)
	if err != nil {
		return Conversation{}, conversationErr(err)
	}
	if err := change(c); err != nil {
		return Conversation{}, err
	}
	return s.store.GetConversation(ctx, id)
}

func errRunning() error {
	return &Error{Kind: KindConflict, Code: "reply_running",
		Message: "a reply is being generated in this conversation; stop it first"}
}

// Stop ends the running reply of a conversation; it is saved as stopped.
// It reports whether a reply was running.
func (s *Service) Stop(conversationID string) bool {
	r, ok := s.lookup(conversationID)
	if ok {
		r.cancel(errStopped)
	}
	return ok
}

// Attach returns the running reply of a conversation, if any. A reply
// still being prepared (its messages not yet stored) is not returned.
func (s *Service) Attach(conversationID string) (*Run, bool) {
	r, ok := s.lookup(conversationID)
	if !ok || r.Snapshot().ID == "" {
		return nil, false
	}
	return r, true
}

// lookup returns the run that holds a conversation, started or still
// preparing: both forbid other changes to its history.
func (s *Service) lookup(conversationID string) (*Run, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[conversationID]
	return r, ok
}

// Shutdown refuses new replies and waits for running ones until ctx ends;
// then it stops those left, which are saved as stopped.
func (s *Service) Shutdown(ctx context.Context) {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	s.mu.Lock()
	for _, r := range s.runs {
		r.cancel(errShuttingDown)
	}
	s.mu.Unlock()
	<-done // each run saves its final state within finalSaveTimeout
}

func indexOf(ms []Message, id string) int {
	for i := range ms {
		if ms[i].ID == id {
			return i
		}
	}
	return -1
}

func (s *Service) appendUser(ctx context.Context, c *Conversation, content string) (*Message, error) {
	m, err := s.store.AppendMessage(ctx, Message{ConversationID: c.ID, Role: RoleUser, Content: content, Status: StatusComplete})
	if err != nil {
		return nil, fmt.Errorf("store user message: %w", err)
	}
	c.Messages = append(c.Messages, m)
	if c.Title == "" {
		title := titleFrom(content)
		if _, err := s.store.UpdateConversation(ctx, c.ID, ConversationPatch{Title: &title}); err != nil {
			s.log.Warn("set conversation title", "conversation_id", c.ID, "err", err)
		} else {
			c.Title = title
		}
	}
	return &m, nil
}

// titleFrom makes a title from a first message: its first non-empty line,
// trimmed and shortened on a word boundary.
func titleFrom(content string) string {
	line := strings.TrimSpace(content)
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = strings.TrimSpace(line[:i])
	}
	line = strings.Join(strings.Fields(line), " ")
	if utf8.RuneCountInString(line) <= autoTitleRunes {
		return line
	}
	r := []rune(line)[:autoTitleRunes]
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i > autoTitleRunes/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:") + "…"
}
