package conversation

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/obs"
)

// Run is one reply being generated. Any number of followers can watch it;
// it does not depend on any of them staying.
type Run struct {
	// ConversationID is the conversation the reply belongs to.
	ConversationID string
	// owner is the user whose conversation it is, and convs their
	// conversations, where the reply is saved.
	owner string
	convs chat.Conversations

	cancel context.CancelCauseFunc
	done   chan struct{}

	mu      sync.Mutex
	msg     chat.Message  // the assistant message as it grows
	err     error         // why it failed, if it did
	pieces  int           // pieces of text received, for the save cadence
	changed chan struct{} // closed and replaced on every change
}

// Snapshot returns the assistant message as it is now.
func (r *Run) Snapshot() chat.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.msg
}

// progress returns the message, the pieces received so far and the
// channel closed at the next change.
func (r *Run) progress() (chat.Message, int, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.msg, r.pieces, r.changed
}

// Done is closed when the reply has ended and its final state is stored.
func (r *Run) Done() <-chan struct{} { return r.done }

// Follow calls onDelta with the reply's text from byte offset from onwards,
// piece by piece as it grows, until the reply ends or ctx is cancelled. It
// returns the final message as stored and, for a reply that did not
// complete, the error that ended it. Cancelling ctx only stops following;
// the reply goes on.
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
			// The final status is published once it is stored, just before
			// the conversation is released; waiting for done means a
			// follower that sees the end can act on it at once (undo).
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

// finish publishes the reply's end: its message as stored and the error
// that ended it, together, so followers see both.
func (r *Run) finish(m chat.Message, err error) {
	r.update(func(msg *chat.Message) {
		*msg = m
		r.err = err
	})
}

// job is one reply to generate: the request but its messages, the
// history to fit into them, and the reply as it was when the run began
// (the text and stats a continued reply adds to).
type job struct {
	req  chat.GenerateRequest
	hist history
	base chat.Message
}

// generate fits the history into the model's context window and runs the
// model while keep saves the reply as it grows, then stores the final
// state and only then tells the followers, so that what they are told is
// what is stored.
func (s *Service) generate(ctx context.Context, r *Run, j job, deadline time.Time) {
	start := time.Now()
	s.metrics.started()
	ctx, span := obs.StartSpan(ctx, "reply", attribute.String("parley.conversation_id", r.ConversationID))
	defer span.End()
	deltas := 0
	stopKeeping := s.keep(r)
	emit := func(d chat.Delta) error {
		if d.Content == "" {
			return nil
		}
		deltas++
		now := time.Now()
		r.mu.Lock()
		if r.msg.Content == "" {
			r.msg.FirstTokenMS = now.Sub(start).Milliseconds()
			s.metrics.firstToken(now.Sub(start))
		}
		r.msg.Content += d.Content
		r.pieces++
		close(r.changed)
		r.changed = make(chan struct{})
		r.mu.Unlock()
		return nil
	}
	gen, err := s.fitAndGenerate(ctx, r, j, emit, &deltas)
	stopKeeping()

	status, errText := chat.StatusComplete, ""
	cause := context.Cause(ctx)
	switch {
	case err == nil:
	case errors.Is(cause, errStopped) || errors.Is(cause, errShuttingDown) || errors.Is(cause, errDeleted):
		status = chat.StatusStopped
		err = nil
	case errors.Is(cause, errLeaseLost):
		err = cause
	case errors.Is(cause, errReplyTimeout):
		status, errText = chat.StatusFailed, "the reply took longer than the configured limit"
		err = chat.E(chat.KindTimeout, errText, err)
	default:
		status, errText = chat.StatusFailed, chat.MessageOf(err)
	}
	final := r.Snapshot()
	final.Status, final.Error = status, errText
	final.FinishReason = string(status)
	if status == chat.StatusComplete {
		final.FinishReason = gen.FinishReason
		if final.FinishReason != chat.FinishLength {
			final.FinishReason = chat.FinishStop
		}
	}
	if gen.Model != "" {
		final.Model = gen.Model
	}
	final.PromptTokens = gen.Usage.PromptTokens
	out := gen.Usage.CompletionTokens
	if out == 0 {
		// A backend reached over HTTP reports usage only at the end, which
		// a stopped or broken reply never gets to; every backend streams
		// about one token per delta, a close enough count.
		out = deltas
	}
	// A continued reply adds to what it had.
	final.OutputTokens = j.base.OutputTokens + out
	final.DurationMS = j.base.DurationMS + time.Since(start).Milliseconds()
	final.UpdatedAt = time.Now().UTC()

	switch {
	case errors.Is(cause, errDeleted):
		// Nothing is left to store it in.
	case errors.Is(cause, errLeaseLost):
		final, err = s.lostReply(r.convs, final)
	default:
		final, err = s.saveFinal(r.convs, final, err, deadline)
	}
	r.finish(final, err)
	s.metrics.finished(final.Status, time.Since(start))
	if span.IsRecording() {
		span.SetAttributes(attribute.String("parley.status", string(final.Status)),
			attribute.String("gen_ai.request.model", final.Model),
			attribute.Int("gen_ai.usage.input_tokens", final.PromptTokens),
			attribute.Int("gen_ai.usage.output_tokens", final.OutputTokens),
			attribute.Float64("parley.time_to_first_token_seconds", float64(final.FirstTokenMS)/1000))
		if final.Status == chat.StatusFailed {
			span.SetStatus(codes.Error, final.Error)
		}
	}

	level := slog.LevelInfo
	if final.Status != chat.StatusComplete && final.Status != chat.StatusStopped {
		level = slog.LevelWarn
	}
	s.log.LogAttrs(ctx, level, "reply finished",
		slog.String("conversation_id", r.ConversationID), slog.String("message_id", final.ID),
		slog.String("status", string(final.Status)), slog.String("model", final.Model),
		slog.Int("completion_tokens", final.OutputTokens), slog.Int64("ttft_ms", final.FirstTokenMS),
		slog.Int64("duration_ms", final.DurationMS), slog.Any("err", err))
}

// fitAndGenerate fits the history into the model's context window, shows
// the reply's followers how much of it the model sees, and generates. A
// backend that refuses the prompt as too long for its window (its count
// was an estimate, or differed) gets one more try with half the tokens,
// when it refused before writing anything.
func (s *Service) fitAndGenerate(ctx context.Context, r *Run, j job, emit func(chat.Delta) error, deltas *int) (chat.Generation, error) {
	limit := 0
	for try := 0; ; try++ {
		f, err := s.fit(ctx, j.req, j.hist, limit)
		if err != nil {
			return chat.Generation{}, err
		}
		r.update(func(m *chat.Message) { m.ContextFrom = f.from })
		before := *deltas
		gen, err := s.gen.Generate(ctx, f.req, emit)
		if err == nil || try > 0 || *deltas > before || chat.CodeOf(err) != chat.CodeContextLength || ctx.Err() != nil {
			return gen, err
		}
		refused := f.tokens
		s.log.Warn("the model refused the prompt as too long for its context; sending less",
			"conversation_id", r.ConversationID, "prompt_tokens", refused, "err", err)
		limit = refused / 2
	}
}
