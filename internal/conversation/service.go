// Package conversation is the conversation service behind the api's
// handlers: it validates what clients send, keeps the durability rules (a
// user's message is committed before any model is called, a reply is saved
// as it streams, so nothing the user wrote is ever lost), runs replies in
// goroutines that outlive the requests that started them, and shows a
// conversation with its running reply as it is now. A running reply is
// held in the store under a lease, renewed while it runs, so that across
// replicas a conversation runs one reply at a time and a reply whose
// process died is ended as interrupted, its text kept (lease.go). It is
// written against the domain's interfaces (chat.Store, chat.Generator) and
// knows nothing of HTTP.
package conversation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/limit"
)

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
// ReplyTimeout or Shutdown; and the sweep for replies whose lease ran out,
// ended by Shutdown.
type Service struct {
	store chat.Store
	gen   chat.Generator
	cfg   Config
	log   *slog.Logger
	runs  *runs
	// running counts the replies each owner has running (nil: no limit).
	running limit.Running
	// metrics counts replies; nil counts nothing.
	metrics *Metrics

	stopSweep context.CancelFunc
	sweepDone chan struct{}
	sweepOnce sync.Once
	// pubs counts the goroutines publishing replies to the relay.
	pubs sync.WaitGroup
}

// NewService returns a Service over store and gen, and starts its sweep
// for replies whose lease ran out (Shutdown stops it). Zero fields of cfg
// take their defaults.
func NewService(store chat.Store, gen chat.Generator, cfg Config, log *slog.Logger, opts ...Option) *Service {
	def := DefaultConfig()
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = def.MaxMessageBytes
	}
	if cfg.MaxTitleRunes <= 0 {
		cfg.MaxTitleRunes = def.MaxTitleRunes
	}
	if cfg.SaveInterval <= 0 {
		cfg.SaveInterval = def.SaveInterval
	}
	if cfg.SaveTokens <= 0 {
		cfg.SaveTokens = def.SaveTokens
	}
	if cfg.ReplyTimeout <= 0 {
		cfg.ReplyTimeout = def.ReplyTimeout
	}
	if cfg.ReplyLease <= 0 {
		cfg.ReplyLease = def.ReplyLease
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = def.SweepInterval
	}
	if cfg.ContextReserve <= 0 {
		cfg.ContextReserve = def.ContextReserve
	}
	if cfg.Owner == "" {
		cfg.Owner = newOwner()
	}
	s := &Service{store: store, gen: gen, cfg: cfg, log: log, runs: newRuns(), sweepDone: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	ctx, stop := context.WithCancel(context.Background())
	s.stopSweep = stop
	go func() {
		defer close(s.sweepDone)
		var wg sync.WaitGroup
		if cfg.Relay != nil {
			wg.Go(func() { s.listenStops(ctx) })
		}
		s.sweep(ctx)
		wg.Wait()
	}()
	return s
}

// Option is a dependency of the Service that not every caller has.
type Option func(*Service)

// WithRunning limits the replies an owner may have running at once,
// counted by l from the start of a reply until its final state is stored
// (nil: no limit). Over it, starting one is a KindRateLimited error.
func WithRunning(l limit.Running) Option { return func(s *Service) { s.running = l } }

// View is a conversation as a client sees it: always with its messages
// (an empty list rather than none), a running reply as it is now rather
// than as last saved, and whether one runs.
type View struct {
	chat.Conversation
	Messages []chat.Message `json:"messages"`
	Running  bool           `json:"running"`
}

// viewOf shows c with live, the running reply as it is now (zero when
// none runs).
func viewOf(c chat.Conversation, live chat.Message, running bool) View {
	v := View{Conversation: c, Messages: c.Messages, Running: running}
	if v.Messages == nil {
		v.Messages = []chat.Message{}
	}
	v.Conversation.Messages = nil
	if running {
		// The store holds the reply as of its last periodic save; the
		// running reply is ahead of it.
		for i := range v.Messages {
			if m := v.Messages[i]; m.ID == live.ID {
				live.ParentID, live.Version, live.Versions = m.ParentID, m.Version, m.Versions
				v.Messages[i] = live
			}
		}
	}
	return v
}

// CreateConversation validates and stores a new conversation of owner.
func (s *Service) CreateConversation(ctx context.Context, owner string, c chat.Conversation) (chat.Conversation, error) {
	p := chat.ConversationPatch{Title: &c.Title, SystemPrompt: &c.SystemPrompt, Model: &c.Model, Settings: &c.Settings}
	if err := s.validatePatch(p); err != nil {
		return chat.Conversation{}, err
	}
	c.ID, c.Messages = "", nil
	c.Title = strings.TrimSpace(c.Title)
	return s.store.For(owner).CreateConversation(ctx, c)
}

// GetConversation returns a conversation of owner with its messages, the
// running reply among them as it is now. Running is also true while
// another replica runs a reply of it.
func (s *Service) GetConversation(ctx context.Context, owner, id string) (View, error) {
	if !chat.ValidID(id) {
		return View{}, errConversationNotFound()
	}
	c, was, err := s.current(ctx, owner, id)
	if err != nil {
		return View{}, err
	}
	// Looked up after the read: a reply that ended meanwhile is then
	// current in the store, one still running is ahead of it.
	_, live, running := s.runs.started(owner, id)
	return viewOf(c, live, running || streamingElsewhere(c, was, live.ID)), nil
}

// current reads a conversation of owner, ending those of its replies
// whose lease ran out: a reply streaming in the store that this process
// does not run is run by another replica, or was left by a process that
// died, and its lease tells which. It also returns the id of the reply
// this process ran when the read began ("" for none), which the read may
// show streaming although it has ended since.
func (s *Service) current(ctx context.Context, owner, id string) (chat.Conversation, string, error) {
	_, was, _ := s.runs.started(owner, id)
	convs := s.store.For(owner)
	c, err := convs.GetConversation(ctx, id)
	if err != nil {
		return c, was.ID, conversationErr(err)
	}
	// Only now, the conversation being owner's, may its replies be ended.
	if !streamingElsewhere(c, was.ID) || !s.interruptExpired(ctx, id) {
		return c, was.ID, nil
	}
	c, err = convs.GetConversation(ctx, id)
	return c, was.ID, conversationErr(err)
}

// streamingElsewhere reports whether c has a streaming reply other than
// those with the ids local (the ones this process runs).
func streamingElsewhere(c chat.Conversation, local ...string) bool {
	for _, m := range c.Messages {
		if m.Status == chat.StatusStreaming && !slices.Contains(local, m.ID) {
			return true
		}
	}
	return false
}

// ListConversations returns a page of owner's conversations, newest
// activity first.
func (s *Service) ListConversations(ctx context.Context, owner string, opts chat.ListOptions) (chat.Page, error) {
	if len(opts.Query) > 1000 {
		return chat.Page{}, chat.Errorf(chat.KindInvalid, "search query is longer than 1000 bytes")
	}
	return s.store.For(owner).ListConversations(ctx, opts)
}

// UpdateConversation renames a conversation or changes its system prompt or
// model.
func (s *Service) UpdateConversation(ctx context.Context, owner, id string, p chat.ConversationPatch) (chat.Conversation, error) {
	if !chat.ValidID(id) {
		return chat.Conversation{}, errConversationNotFound()
	}
	if err := s.validatePatch(p); err != nil {
		return chat.Conversation{}, err
	}
	if p.Title != nil {
		t := strings.TrimSpace(*p.Title)
		p.Title = &t
	}
	c, err := s.store.For(owner).UpdateConversation(ctx, id, p)
	return c, conversationErr(err)
}

// DeleteConversation stops a running reply, then deletes the conversation.
func (s *Service) DeleteConversation(ctx context.Context, owner, id string) error {
	if !chat.ValidID(id) {
		return errConversationNotFound()
	}
	if r, ok := s.runs.get(owner, id); ok {
		r.cancel(errDeleted)
		select {
		case <-r.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return conversationErr(s.store.For(owner).DeleteConversation(ctx, id))
}

// Undo removes the last user message and everything after it.
func (s *Service) Undo(ctx context.Context, owner, conversationID string) (View, error) {
	return s.editHistory(ctx, owner, conversationID, func(convs chat.Conversations, c chat.Conversation) error {
		for i := len(c.Messages) - 1; i >= 0; i-- {
			if c.Messages[i].Role == chat.RoleUser {
				return convs.DeleteMessagesFrom(ctx, c.ID, c.Messages[i].ID)
			}
		}
		if len(c.Messages) > 0 { // only assistant/system messages: drop them all
			return convs.ClearMessages(ctx, c.ID)
		}
		return nil
	})
}

// SelectVersion shows version (from 1) of the turn of messageID: the
// conversation goes on from that version as it was when last shown, and
// the next reply's model sees that branch.
func (s *Service) SelectVersion(ctx context.Context, owner, conversationID, messageID string, version int) (View, error) {
	return s.editHistory(ctx, owner, conversationID, func(convs chat.Conversations, c chat.Conversation) error {
		err := convs.SelectVersion(ctx, c.ID, messageID, version)
		if chat.KindOf(err) == chat.KindNotFound && chat.CodeOf(err) == "" {
			return &chat.Error{Kind: chat.KindNotFound, Code: "message_not_found", Message: "message not found", Err: err}
		}
		return err
	})
}

// Clear removes every message of a conversation.
func (s *Service) Clear(ctx context.Context, owner, conversationID string) (View, error) {
	return s.editHistory(ctx, owner, conversationID, func(convs chat.Conversations, c chat.Conversation) error {
		return convs.ClearMessages(ctx, c.ID)
	})
}

// editHistory changes the stored history while no reply runs: a running
// reply would write into a message that is gone.
func (s *Service) editHistory(ctx context.Context, owner, id string, change func(chat.Conversations, chat.Conversation) error) (View, error) {
	if !chat.ValidID(id) {
		return View{}, errConversationNotFound()
	}
	if _, running := s.runs.get(owner, id); running {
		return View{}, errRunning()
	}
	c, _, err := s.current(ctx, owner, id)
	if err != nil {
		return View{}, err
	}
	convs := s.store.For(owner)
	// The store refuses the change while another replica runs a reply.
	if err := change(convs, c); err != nil {
		return View{}, err
	}
	c, err = convs.GetConversation(ctx, id)
	if err != nil {
		return View{}, err
	}
	return viewOf(c, chat.Message{}, false), nil
}

// Shutdown refuses new replies and waits for running ones until ctx ends;
// then it stops those left, which are saved as stopped. Then it stops the
// sweep and, with a relay, listening for stop requests, once the ends of
// the replies are published. It may be called more than once.
func (s *Service) Shutdown(ctx context.Context) {
	s.runs.shutdown(ctx)
	s.pubs.Wait()
	s.sweepOnce.Do(func() {
		s.stopSweep()
		<-s.sweepDone
	})
}

func (s *Service) validatePatch(p chat.ConversationPatch) error {
	if p.Title != nil {
		if !utf8.ValidString(*p.Title) || strings.ContainsAny(*p.Title, "\x00") {
			return chat.Errorf(chat.KindInvalid, "title must be valid UTF-8 text")
		}
		if utf8.RuneCountInString(*p.Title) > s.cfg.MaxTitleRunes {
			return chat.Errorf(chat.KindInvalid, "title is longer than %d characters", s.cfg.MaxTitleRunes)
		}
	}
	if p.SystemPrompt != nil {
		if !utf8.ValidString(*p.SystemPrompt) {
			return chat.Errorf(chat.KindInvalid, "system prompt must be valid UTF-8 text")
		}
		if len(*p.SystemPrompt) > s.cfg.MaxMessageBytes {
			return &chat.Error{Kind: chat.KindTooLarge, Code: "system_prompt_too_long",
				Message: fmt.Sprintf("system prompt is longer than %d bytes", s.cfg.MaxMessageBytes)}
		}
	}
	if p.Settings != nil {
		if err := p.Settings.Check(); err != nil {
			return err
		}
	}
	if p.Model != nil && len(*p.Model) > 256 {
		return chat.Errorf(chat.KindInvalid, "model name is longer than 256 bytes")
	}
	return nil
}

// validateContent reports whether content is acceptable as a user message:
// non-empty UTF-8 text within MaxMessageBytes.
func (s *Service) validateContent(content string) error {
	if !utf8.ValidString(content) {
		return chat.Errorf(chat.KindInvalid, "message must be valid UTF-8 text")
	}
	if strings.TrimSpace(content) == "" {
		return &chat.Error{Kind: chat.KindInvalid, Code: "empty_message", Message: "message is empty"}
	}
	if len(content) > s.cfg.MaxMessageBytes {
		return &chat.Error{Kind: chat.KindTooLarge, Code: "message_too_long",
			Message: fmt.Sprintf("message is longer than %d bytes", s.cfg.MaxMessageBytes)}
	}
	return nil
}

// conversationErr gives a store's not-found for a conversation id the
// documented code, so clients can tell it from an unknown message or model.
func conversationErr(err error) error {
	if err != nil && chat.KindOf(err) == chat.KindNotFound && chat.CodeOf(err) == "" {
		return &chat.Error{Kind: chat.KindNotFound, Code: "conversation_not_found", Message: "conversation not found", Err: err}
	}
	return err
}

func errConversationNotFound() error {
	return &chat.Error{Kind: chat.KindNotFound, Code: "conversation_not_found", Message: "conversation not found"}
}

func errRunning() error {
	return &chat.Error{Kind: chat.KindConflict, Code: "reply_running",
		Message: "a reply is being generated in this conversation; stop it first"}
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
