package conversation

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// ReplyOptions tune one reply.
type ReplyOptions struct {
	// Model overrides the conversation's model for this reply.
	Model  string
	Params chat.Params
}

// Reply is a running reply as one client takes part in it: what the
// client is shown first, and the run to follow from there.
type Reply struct {
	*Run
	// User is the user message the request stored for the reply (Send,
	// Edit); nil when it stored none (Regenerate, Join).
	User *chat.Message
	// Assistant is the assistant message as the client first sees it; the
	// text Run.Follow gives from len(Assistant.Content) on completes it.
	Assistant chat.Message
}

// Send stores content as the user's next message in owner's conversation
// and starts the reply. The message is committed before the model is
// called, so it survives any failure of the model.
func (s *Service) Send(ctx context.Context, owner, conversationID, content string, opts ReplyOptions) (Reply, error) {
	if err := s.validateContent(content); err != nil {
		return Reply{}, err
	}
	if !chat.ValidID(conversationID) {
		return Reply{}, errConversationNotFound()
	}
	return s.startRun(ctx, owner, conversationID, opts, func(c *chat.Conversation) (change, error) {
		return change{user: userMessage(c, content)}, nil
	})
}

// Edit replaces the user message messageID (and everything after it) with
// content and starts a new reply.
func (s *Service) Edit(ctx context.Context, owner, conversationID, messageID, content string, opts ReplyOptions) (Reply, error) {
	if err := s.validateContent(content); err != nil {
		return Reply{}, err
	}
	if !chat.ValidID(conversationID) {
		return Reply{}, errConversationNotFound()
	}
	return s.startRun(ctx, owner, conversationID, opts, func(c *chat.Conversation) (change, error) {
		i := indexOf(c.Messages, messageID)
		if i < 0 {
			return change{}, &chat.Error{Kind: chat.KindNotFound, Code: "message_not_found", Message: "message not found"}
		}
		if c.Messages[i].Role != chat.RoleUser {
			return change{}, chat.Errorf(chat.KindInvalid, "only user messages can be edited")
		}
		c.Messages = c.Messages[:i]
		return change{from: messageID, user: userMessage(c, content)}, nil
	})
}

// Regenerate drops the last reply and starts a new one (the seed's Retry).
func (s *Service) Regenerate(ctx context.Context, owner, conversationID string, opts ReplyOptions) (Reply, error) {
	if !chat.ValidID(conversationID) {
		return Reply{}, errConversationNotFound()
	}
	return s.startRun(ctx, owner, conversationID, opts, func(c *chat.Conversation) (change, error) {
		var ch change
		n := len(c.Messages)
		if n > 0 && c.Messages[n-1].Role == chat.RoleAssistant {
			ch.from = c.Messages[n-1].ID
			c.Messages = c.Messages[:n-1]
			n--
		}
		if n == 0 || c.Messages[n-1].Role != chat.RoleUser {
			return change{}, &chat.Error{Kind: chat.KindInvalid, Code: "nothing_to_regenerate", Message: "there is no message to answer"}
		}
		return ch, nil
	})
}

// Continue resumes the last reply of a conversation in place: the model
// gets the history with the reply so far as the beginning of its turn,
// and what it writes is added to the same message. Any reply that has
// ended with text can be continued; it is meant for one cut off by the
// length limit (finish reason "length").
func (s *Service) Continue(ctx context.Context, owner, conversationID string, opts ReplyOptions) (Reply, error) {
	if !chat.ValidID(conversationID) {
		return Reply{}, errConversationNotFound()
	}
	return s.startRun(ctx, owner, conversationID, opts, func(c *chat.Conversation) (change, error) {
		n := len(c.Messages)
		if n == 0 || c.Messages[n-1].Role != chat.RoleAssistant || !c.Messages[n-1].Status.Final() || c.Messages[n-1].Content == "" {
			return change{}, &chat.Error{Kind: chat.KindInvalid, Code: chat.CodeNotContinuable,
				Message: "there is no reply to continue: the last message must be a reply that has ended, with text"}
		}
		return change{cont: c.Messages[n-1].ID}, nil
	})
}

// change is how a reply request changes the end of a conversation: the
// message removed first with all that follows it, and the user message
// added; or the reply continued. The store makes the change together with
// storing the reply.
type change struct {
	from string
	user *chat.Message
	cont string
}

// userMessage is content as the user's next message of c, which it is
// added to (for the prompt) ahead of being stored.
func userMessage(c *chat.Conversation, content string) *chat.Message {
	m := chat.Message{ID: chat.NewID(), ConversationID: c.ID, Role: chat.RoleUser, Content: content, Status: chat.StatusComplete}
	c.Messages = append(c.Messages, m)
	return &m
}

// Answer is the outcome of Ask.
type Answer struct {
	// ConversationID is the conversation the user message was stored in;
	// "" when it was not stored.
	ConversationID string
	// Reply is the assistant message: final, unless ctx ended first.
	Reply chat.Message
}

// Ask is the seed's one-shot exchange: it stores content as the next user
// message of the conversation (a new one when conversationID is "") and
// waits for the whole reply. Once the message is stored the answer names
// its conversation, even when the reply fails or ctx ends first; the reply
// then goes on and is stored.
func (s *Service) Ask(ctx context.Context, owner, conversationID, content string) (Answer, error) {
	// Refuse a bad message before creating a conversation for it.
	if err := s.validateContent(content); err != nil {
		return Answer{}, err
	}
	if conversationID == "" {
		c, err := s.CreateConversation(ctx, owner, chat.Conversation{})
		if err != nil {
			return Answer{}, err
		}
		conversationID = c.ID
	}
	rp, err := s.Send(ctx, owner, conversationID, content, ReplyOptions{})
	if err != nil {
		return Answer{}, err
	}
	msg, err := rp.Wait(ctx)
	if err != nil && msg.Status.Final() && chat.KindOf(err) == chat.KindInternal {
		// Whatever broke, it broke on the model's side of the call.
		err = chat.E(chat.KindUpstream, "the model failed to answer", err)
	}
	return Answer{ConversationID: conversationID, Reply: msg}, err
}

// Stop ends the running reply of a conversation, which is saved as
// stopped, and reports whether one was running. A reply that had started
// is waited for until its final state is stored (or ctx ends), so that a
// client reading the conversation right after sees it stopped. A reply
// run by another replica is stopped there through the relay; without one
// Stop answers CodeReplyElsewhere.
func (s *Service) Stop(ctx context.Context, owner, conversationID string) (bool, error) {
	if !chat.ValidID(conversationID) {
		return false, errConversationNotFound()
	}
	r, ok := s.runs.get(owner, conversationID)
	if !ok {
		// Nothing runs here: one may run on another replica. Reading the
		// conversation as owner's also tells an unknown one from an idle
		// one, and ends a reply whose replica died.
		c, was, err := s.current(ctx, owner, conversationID)
		if err != nil {
			return false, err
		}
		if m, elsewhere := streamingElsewhereReply(c, was); elsewhere {
			return s.stopElsewhere(ctx, owner, m)
		}
		return false, nil
	}
	started := r.Snapshot().ID != ""
	r.cancel(errStopped)
	if started {
		select {
		case <-r.done:
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
	return true, nil
}

// Join returns the running reply of a conversation for a client that
// joins it now (after a reload): its Assistant is the reply so far. ok is
// false when no reply runs, or one is still being prepared. A reply run
// by another replica is followed through the relay; without one Join
// answers CodeReplyElsewhere.
func (s *Service) Join(ctx context.Context, owner, conversationID string) (Reply, bool, error) {
	if r, live, running := s.runs.started(owner, conversationID); running {
		return Reply{Run: r, Assistant: live}, true, nil
	}
	if !chat.ValidID(conversationID) {
		return Reply{}, false, errConversationNotFound()
	}
	// Nothing runs here: one may run on another replica (see Stop).
	c, was, err := s.current(ctx, owner, conversationID)
	if err != nil {
		return Reply{}, false, err
	}
	m, elsewhere := streamingElsewhereReply(c, was)
	if !elsewhere {
		return Reply{}, false, nil
	}
	r, err := s.followElsewhere(ctx, owner, m)
	if err != nil || r == nil {
		return Reply{}, false, err
	}
	return Reply{Run: r, Assistant: r.Snapshot()}, true, nil
}

// startRun registers a run for the conversation, lets prepare say how the
// history changes (the user message to store, the reply to drop), stores
// that together with the assistant placeholder under this process's lease
// and starts generation in its own goroutine.
func (s *Service) startRun(ctx context.Context, owner, convID string, opts ReplyOptions, prepare func(c *chat.Conversation) (change, error)) (Reply, error) {
	// The cancel function exists before the run is visible, so Stop,
	// Shutdown and DeleteConversation can end it even while it prepares;
	// the reply then ends at once as stopped.
	// The reply outlives the request but keeps its values (request id).
	runCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	convs := s.store.For(owner)
	r := &Run{ConversationID: convID, owner: owner, convs: convs,
		done: make(chan struct{}), changed: make(chan struct{}), cancel: cancel}
	if err := s.runs.reserve(r); err != nil { // reserve the conversation while preparing
		cancel(nil)
		return Reply{}, err
	}
	freeSlot := func() {}
	fail := func(err error) (Reply, error) {
		r.mu.Lock()
		r.err = err
		r.mu.Unlock()
		cancel(nil)
		freeSlot()
		s.runs.release(r)
		return Reply{}, err
	}
	// One of the owner's running-reply slots, held until the reply has
	// ended, whether or not anyone still follows it. Taken after the
	// conversation, so that a reply already running in it is a conflict
	// whatever the count.
	if s.running != nil {
		free, err := s.running.Acquire(ctx, owner)
		if err != nil {
			return fail(err)
		}
		freeSlot = free
	}
	conv, _, err := s.current(ctx, owner, convID)
	if err != nil {
		return fail(err)
	}
	title := conv.Title
	ch, err := prepare(&conv)
	if err != nil {
		return fail(err)
	}
	model := firstNonEmpty(opts.Model, conv.Model, s.cfg.DefaultModel)
	// Committed before the model is called, so the user's message
	// survives any failure of the model.
	user, asst, err := convs.StartReply(ctx, chat.NewReply{ConversationID: convID, From: ch.from, User: ch.user, Continue: ch.cont,
		Reply: chat.Message{Role: chat.RoleAssistant, Status: chat.StatusStreaming, Model: model}, Lease: s.lease()})
	if err != nil {
		if chat.KindOf(err) == chat.KindInternal && ch.user != nil {
			err = fmt.Errorf("store user message: %w", err)
		}
		return fail(err)
	}
	if user != nil && title == "" {
		s.setTitle(ctx, convs, convID, user.Content)
	}
	r.update(func(m *chat.Message) { *m = asst }) // from now on Join sees the run
	j := job{req: chat.GenerateRequest{Model: model, Params: withSettings(opts.Params, conv.Settings)}, hist: historyOf(conv, ch.cont), base: asst}
	if j.req.Params.MaxTokens <= 0 || (s.cfg.MaxTokens > 0 && j.req.Params.MaxTokens > s.cfg.MaxTokens) {
		j.req.Params.MaxTokens = s.cfg.MaxTokens
	}
	deadline := time.Now().Add(s.cfg.ReplyTimeout)
	runCtx, cancelTimeout := context.WithDeadlineCause(runCtx, deadline, errReplyTimeout)
	if s.cfg.Relay != nil {
		if run, ok := s.openLog(asst); ok {
			s.pubs.Go(func() { s.publish(r, asst, run) })
		}
	}
	go func() {
		defer s.runs.release(r)
		// Freed before the release tells followers the reply ended: a
		// client that starts the next one on "done" is not refused.
		defer freeSlot()
		defer cancelTimeout()
		defer cancel(nil)
		s.generate(runCtx, r, j, deadline)
	}()
	// The assistant message as stored when the reply started, even if it
	// has grown meanwhile, so that the text Follow gives from the end of
	// its content adds up to the whole reply: empty for a new reply, the
	// text so far for one continued.
	return Reply{Run: r, User: user, Assistant: asst}, nil
}

// setTitle names a conversation after its first message.
func (s *Service) setTitle(ctx context.Context, convs chat.Conversations, convID, content string) {
	title := titleFrom(content)
	if _, err := convs.UpdateConversation(ctx, convID, chat.ConversationPatch{Title: &title}); err != nil {
		s.log.Warn("set conversation title", "conversation_id", convID, "err", err)
	}
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func indexOf(ms []chat.Message, id string) int {
	for i := range ms {
		if ms[i].ID == id {
			return i
		}
	}
	return -1
}

// withSettings fills in what a reply request left to the defaults from
// the conversation's settings.
func withSettings(p chat.Params, s chat.Settings) chat.Params {
	if p.Temperature == nil {
		p.Temperature = s.Temperature
	}
	if p.TopP == nil {
		p.TopP = s.TopP
	}
	if p.MaxTokens <= 0 {
		p.MaxTokens = s.MaxTokens
	}
	return p
}
