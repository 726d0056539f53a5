package api

import (
	"context"
	"net/http"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/conversation"
	"github.com/parley-chat/parley/internal/httpx"
)

// messageBody is the body of POST .../messages and .../edit.
type messageBody struct {
	Content string  `json:"content"`
	Model   *string `json:"model"`
	Stream  *bool   `json:"stream"`
}

// regenerateBody is the (optional) body of POST .../regenerate and
// .../continue.
type regenerateBody struct {
	Model  *string `json:"model"`
	Stream *bool   `json:"stream"`
}

// replyResult is the answer of a reply request with "stream": false.
type replyResult struct {
	UserMessage      *chat.Message `json:"user_message,omitempty"`
	AssistantMessage chat.Message  `json:"assistant_message"`
}

// deltaEvent is the data of an SSE "delta" event.
type deltaEvent struct {
	MessageID string `json:"message_id"`
	Content   string `json:"content"`
}

func replyOptions(model *string) conversation.ReplyOptions {
	var o conversation.ReplyOptions
	if model != nil {
		o.Model = *model
	}
	return o
}

func streaming(flag *bool) bool { return flag == nil || *flag }

func (s *server) sendMessage(w http.ResponseWriter, r *http.Request) error {
	var b messageBody
	if err := httpx.DecodeJSON(r, &b, s.cfg.MaxBodyBytes); err != nil {
		return err
	}
	rp, err := s.svc.Send(r.Context(), owner(r), r.PathValue("id"), b.Content, replyOptions(b.Model))
	if err != nil {
		return err
	}
	return s.reply(w, r, rp, streaming(b.Stream))
}

func (s *server) editMessage(w http.ResponseWriter, r *http.Request) error {
	var b messageBody
	if err := httpx.DecodeJSON(r, &b, s.cfg.MaxBodyBytes); err != nil {
		return err
	}
	rp, err := s.svc.Edit(r.Context(), owner(r), r.PathValue("id"), r.PathValue("message_id"), b.Content, replyOptions(b.Model))
	if err != nil {
		return err
	}
	return s.reply(w, r, rp, streaming(b.Stream))
}

func (s *server) regenerate(w http.ResponseWriter, r *http.Request) error {
	var b regenerateBody
	if err := s.decodeOptional(r, &b); err != nil {
		return err
	}
	rp, err := s.svc.Regenerate(r.Context(), owner(r), r.PathValue("id"), replyOptions(b.Model))
	if err != nil {
		return err
	}
	return s.reply(w, r, rp, streaming(b.Stream))
}

// continueReply resumes the last reply in place: its stream's assistant
// event carries the text so far, the deltas what is added.
func (s *server) continueReply(w http.ResponseWriter, r *http.Request) error {
	var b regenerateBody
	if err := s.decodeOptional(r, &b); err != nil {
		return err
	}
	rp, err := s.svc.Continue(r.Context(), owner(r), r.PathValue("id"), replyOptions(b.Model))
	if err != nil {
		return err
	}
	return s.reply(w, r, rp, streaming(b.Stream))
}

// attach streams the running reply of a conversation from the text so far.
func (s *server) attach(w http.ResponseWriter, r *http.Request) error {
	rp, running, err := s.svc.Join(r.Context(), owner(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !running {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return s.stream(w, r, rp)
}

// reply answers a request that started a reply: as an SSE stream, or as
// one JSON object once the reply has ended. A failed reply is still a 200:
// its message (status "failed", error) is what the client shows.
func (s *server) reply(w http.ResponseWriter, r *http.Request, rp conversation.Reply, stream bool) error {
	if stream {
		return s.stream(w, r, rp)
	}
	msg, err := rp.Wait(r.Context())
	if err != nil && !msg.Status.Final() {
		return nil // the client went away; the reply goes on
	}
	httpx.WriteJSON(w, http.StatusOK, replyResult{UserMessage: rp.User, AssistantMessage: msg})
	return nil
}

// stream writes rp as server-sent events: the user message the request
// stored (if any), the assistant message as the client first sees it, then
// what follows of the reply.
func (s *server) stream(w http.ResponseWriter, r *http.Request, rp conversation.Reply) error {
	sse, err := httpx.NewSSE(w)
	if err != nil {
		return err
	}
	if rp.User != nil {
		if err := sse.Event("user", rp.User); err != nil {
			return nil // the client went away; the reply goes on
		}
	}
	if err := sse.Event("assistant", rp.Assistant); err != nil {
		return nil
	}
	s.follow(r.Context(), sse, rp.Run, len(rp.Assistant.Content))
	return nil
}

// follow writes run's text from byte offset from as delta events, then the
// final message as a done event, with keep-alive comments while the model
// is silent. It returns when the reply ends or the client goes away; the
// reply itself is never ended here.
func (s *server) follow(ctx context.Context, sse *httpx.SSE, run *conversation.Run, from int) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		msg chat.Message
		err error
	}
	// Follow runs in its own goroutine so that this one, the only writer
	// to the stream, can also send keep-alives. deltas is unbuffered: by
	// the time the result arrives every piece has been taken.
	deltas := make(chan string)
	done := make(chan result, 1)
	go func() {
		msg, err := run.Follow(ctx, from, func(piece string) error {
			select {
			case deltas <- piece:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		done <- result{msg, err}
	}()
	defer func() { cancel(); <-done }()

	id := run.Snapshot().ID
	tick := time.NewTicker(s.cfg.KeepAlive)
	defer tick.Stop()
	for {
		select {
		case piece := <-deltas:
			if err := sse.Event("delta", deltaEvent{MessageID: id, Content: piece}); err != nil {
				return
			}
			tick.Reset(s.cfg.KeepAlive)
		case <-tick.C:
			if err := sse.Comment("keep-alive"); err != nil {
				return
			}
		case res := <-done:
			done <- res // for the deferred wait
			if ctx.Err() != nil || !res.msg.Status.Final() {
				return
			}
			_ = sse.Event("done", res.msg)
			return
		}
	}
}
