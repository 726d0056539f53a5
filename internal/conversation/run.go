package conversation

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// finalSaveTimeout bounds the write of a reply's final state, which must
// happen even when the reply was cancelled.
const finalSaveTimeout = 10 * time.Second

// Run is one reply being generated. Any number of followers can watch it;
// it does not depend on any of them staying.
type Run struct {
	// ConversationID is the conversation the reply belongs to.
	ConversationID string

	cancel context.CancelCauseFunc
	done   chan struct{}

	mu      sync.Mutex
	msg     chat.Message  // the assistant message as it grows
	err     error         // why it failed, if it did
	changed chan struct{} // closed and replaced on every change
}

// Snapshot returns the assistant message as it is now.
func (r *Run) Snapshot() chat.Message {
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
func (r *Run) Follow(ctx context.Context, from int, onDelta func(string) error) (chat.Message, error) {
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
func (r *Run) Wait(ctx context.Context) (chat.Message, error) {
	select {
	case <-r.done:
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.msg, r.err
	case <-ctx.Done():
		return r.Snapshot(), ctx.Err()
	}
}

func (r *Run) update(f func(m *chat.Message)) {
	r.mu.Lock()
	f(&r.msg)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// generate runs the model and keeps the stored reply up to date: every
// SaveInterval while streaming, and once more with its final status.
func (s *Service) generate(ctx context.Context, r *Run, req chat.GenerateRequest) {
	start := time.Now()
	lastSave := start
	var firstToken time.Duration
	deltas := 0
	gen, err := s.gen.Generate(ctx, req, func(d chat.Delta) error {
		if d.Content == "" {
			return nil
		}
		deltas++
		now := time.Now()
		r.update(func(m *chat.Message) {
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

	status, errText := chat.StatusComplete, ""
	cause := context.Cause(ctx)
	switch {
	case err == nil:
	case errors.Is(cause, errStopped) || errors.Is(cause, errShuttingDown) || errors.Is(cause, errDeleted):
		status = chat.StatusStopped
		err = nil
	case errors.Is(cause, errReplyTimeout):
		status, errText = chat.StatusFailed, "the reply took longer than the configured limit"
		err = chat.E(chat.KindTimeout, errText, err)
	default:
		status, errText = chat.StatusFailed, chat.MessageOf(err)
	}
	r.update(func(m *chat.Message) {
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
	if status == chat.StatusFailed {
		level = slog.LevelWarn
	}
	s.log.LogAttrs(ctx, level, "reply finished",
		slog.String("conversation_id", r.ConversationID), slog.String("message_id", final.ID),
		slog.String("status", string(status)), slog.String("model", final.Model),
		slog.Int("completion_tokens", final.OutputTokens), slog.Int64("ttft_ms", final.FirstTokenMS),
		slog.Int64("duration_ms", final.DurationMS), slog.Any("err", err))
}
