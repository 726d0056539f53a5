package chat

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// finalSaveTimeout bounds the write of a reply's final state, which must
// happen even when the reply was cancelled.
const finalSaveTimeout = 10 * time.Second

// Run is one reply being generated. Any number of followers can watch it;
// it does not depend on any of them staying.
type Run struct {
	// ConversationID is the conversation the reply belongs to.
	ConversationID string
	// User is the user message this reply answers when the run stored
	// one (Send, Edit), nil for Regenerate.
	User *Message

	cancel context.CancelCauseFunc
	done   chan struct{}

	mu      sync.Mutex
	msg     Message       // the assistant message as it grows
	err     error         // why it failed, if it did
	changed chan struct{} // closed and replaced on every change
}

// Snapshot returns the assistant message as it is now.
func (r *Run) Snapshot() Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.msg
}

// Done is closed when the reply has ended and its final state is stored.
func (r *Run) Done() <-chan struct{} { return r.done }

// Follow calls onDelta with the reply's text from byte offset from onwards,
// piece by piece as it grows, until the reply ends or ctx is cancelled. It
// returns the final message and, for a failed reply, the error that ended
// it. Cancelling ctx only stops following; the reply goes on.
func (r *Run) Follow(ctx context.Context, from int, onDelta func(string) error) (Message, error) {
	offset := from
	for {
		r.mu.Lock()
		content := r.msg.Content
		final := r.msg.Status.Final()
		msg, runErr := r.msg, r.err
		changed := r.changed
		r.mu.Unlock()
		if offset < 0 || offset > len(content) {
			offset = len(content)
		}
		if piece := content[offset:]; piece != "" {
			offset = len(content)
			if err := onDelta(piece); err != nil {
				return msg, err
			}
		}
		if final {
			// The final status is published before it is stored and the
			// conversation released; waiting for done means a follower that
			// sees the end can act on it at once (read it back, undo).
			select {
			case <-r.done:
			case <-ctx.Done():
				return msg, ctx.Err()
			}
			return msg, runErr
		}
		select {
		case <-changed:
		case <-r.done:
			// Ended without a final status: the reply never started.
			r.mu.Lock()
			msg, runErr = r.msg, r.err
			final = r.msg.Status.Final()
			r.mu.Unlock()
			if !final {
				return msg, runErr
			}
		case <-ctx.Done():
			return r.Snapshot(), ctx.Err()
		}
	}
}

// Wait blocks until the reply ends and returns it like Follow.
func (r *Run) Wait(ctx context.Context) (Message, error) {
	select {
	case <-r.done:
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.msg, r.err
	case <-ctx.Done():
		return r.Snapshot(), ctx.Err()
	}
}

func (r *Run) update(f func(m *Message)) {
	r.mu.Lock()
	f(&r.msg)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// startRun registers a run for the conversation, lets prepare change the
// history (store the user message, drop the last reply), stores the
// assistant placeholder and starts generation in its own goroutine.
func (s *Service) startRun(ctx context.Context, convID string, opts ReplyOptions, prepare func(c *Conversation) (*Message, error)) (*Run, error) {
	// The cancel function exists before the run is visible, so Stop,
	// Shutdown and DeleteConversation can end it even while it prepares;
	// the reply then ends at once as stopped.
	// The reply outlives the request but keeps its values (request id).
	runCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	r := &Run{ConversationID: convID, done: make(chan struct{}), changed: make(chan struct{}), cancel: cancel}
	s.mu.Lock()
	switch {
	case s.closing:
		s.mu.Unlock()
		cancel(nil)
		return nil, Errorf(KindUnavailable, "the server is shutting down; try again in a moment")
	case s.runs[convID] != nil:
		s.mu.Unlock()
		cancel(nil)
		return nil, errRunning()
	}
	s.runs[convID] = r // reserve the conversation while preparing
	s.wg.Add(1)
	s.mu.Unlock()

	release := func() {
		s.mu.Lock()
		delete(s.runs, convID)
		s.mu.Unlock()
		close(r.done)
		s.wg.Done()
	}
	fail := func(err error) (*Run, error) {
		r.mu.Lock()
		r.err = err
		r.mu.Unlock()
		cancel(nil)
		release()
		return nil, err
	}

	conv, err := s.store.GetConversation(ctx, convID)
	if err != nil {
		return fail(conversationErr(err))
	}
	user, err := prepare(&conv)
	if err != nil {
		return fail(err)
	}
	r.User = user
	model := firstNonEmpty(opts.Model, conv.Model, s.cfg.DefaultModel)
	asst, err := s.store.AppendMessage(ctx, Message{ConversationID: convID, Role: RoleAssistant,
		Status: StatusStreaming, Model: model})
	if err != nil {
		return fail(err)
	}
	r.update(func(m *Message) { *m = asst }) // from now on Attach sees the run

	req := GenerateRequest{Model: model, Messages: promptOf(conv), Params: opts.Params}
	if req.Params.MaxTokens <= 0 || (s.cfg.MaxTokens > 0 && req.Params.MaxTokens > s.cfg.MaxTokens) {
		req.Params.MaxTokens = s.cfg.MaxTokens
	}
	runCtx, cancelTimeout := context.WithTimeoutCause(runCtx, s.cfg.ReplyTimeout, errReplyTimeout)
	go func() {
		defer release()
		defer cancelTimeout()
		defer cancel(nil)
		s.generate(runCtx, r, req)
	}()
	return r, nil
}

// promptOf turns a stored conversation into the model's input: the system
// prompt, then the turns, leaving out replies that failed or never started.
func promptOf(c Conversation) []Turn {
	turns := make([]Turn, 0, len(c.Messages)+1)
	if c.SystemPrompt != "" {
		turns = append(turns, Turn{Role: RoleSystem, Content: c.SystemPrompt})
	}
	for _, m := range c.Messages {
		if m.Role == RoleAssistant && (m.Status == StatusFailed || m.Status == StatusStreaming || m.Content == "") {
			continue
		}
		turns = append(turns, Turn{Role: m.Role, Content: m.Content})
	}
	return turns
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// generate runs the model and keeps the stored reply up to date: every
// SaveInterval while streaming, and once more with its final status.
func (s *Service) generate(ctx context.Context, r *Run, req GenerateRequest) {
	start := time.Now()
	lastSave := start
	var firstToken time.Duration
	deltas := 0
	gen, err := s.gen.Generate(ctx, req, func(d Delta) error {
		if d.Content == "" {
			return nil
		}
		deltas++
		now := time.Now()
		r.update(func(m *Message) {
			if m.Content == "" {
				firstToken = now.Sub(start)
				m.FirstTokenMS = firstToken.Milliseconds()
			}
			m.Content += d.Content
		})
		if now.Sub(lastSave) >= s.cfg.SaveInterval {
			lastSave = now
			if err := s.store.UpdateMessage(ctx, r.Snapshot()); err != nil {
				s.log.Warn("save streaming reply", "conversation_id", r.ConversationID, "err", err)
			}
		}
		return nil
	})

	status, errText := StatusComplete, ""
	cause := context.Cause(ctx)
	switch {
	case err == nil:
	case errors.Is(cause, errStopped) || errors.Is(cause, errShuttingDown) || errors.Is(cause, errDeleted):
		status = StatusStopped
		err = nil
	case errors.Is(cause, errReplyTimeout):
		status, errText = StatusFailed, "the reply took longer than the configured limit"
		err = E(KindTimeout, errText, err)
	default:
		status, errText = StatusFailed, MessageOf(err)
	}
	r.update(func(m *Message) {
		m.Status, m.Error = status, errText
		if gen.Model != "" {
			m.Model = gen.Model
		}
		m.PromptTokens, m.OutputTokens = gen.Usage.PromptTokens, gen.Usage.CompletionTokens
		if m.OutputTokens == 0 {
			// A backend reached over HTTP reports usage only at the end,
			// which a stopped or broken reply never gets to; every backend
			// streams about one token per delta, a close enough count.
			m.OutputTokens = deltas
		}
		m.DurationMS = time.Since(start).Milliseconds()
		m.UpdatedAt = time.Now().UTC()
		r.err = err // under r.mu with the status, so followers see both
	})
	if errors.Is(cause, errDeleted) {
		return
	}
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalSaveTimeout)
	defer cancel()
	final := r.Snapshot()
	if serr := s.store.UpdateMessage(saveCtx, final); serr != nil {
		s.log.Error("save final reply", "message_id", final.ID, "status", final.Status, "err", serr)
	}
	level := slog.LevelInfo
	if status == StatusFailed {
		level = slog.LevelWarn
	}
	s.log.LogAttrs(ctx, level, "reply finished",
		slog.String("conversation_id", r.ConversationID), slog.String("message_id", final.ID),
		slog.String("status", string(status)), slog.String("model", final.Model),
		slog.Int("completion_tokens", final.OutputTokens), slog.Int64("ttft_ms", final.FirstTokenMS),
		slog.Int64("duration_ms", final.DurationMS), slog.Any("err", err))
}
