package api

import (
	"net/http"
	"strconv"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/httpx"
)

// maxCursorBytes bounds a list cursor; real ones are far shorter.
const maxCursorBytes = 512

// conversationView is a conversation as GET answers it: always with its
// messages (an empty list rather than none) and whether a reply runs.
type conversationView struct {
	chat.Conversation
	Messages []chat.Message `json:"messages"`
	Running  bool           `json:"running"`
}

func viewOf(c chat.Conversation, run *chat.Run) conversationView {
	v := conversationView{Conversation: c, Messages: c.Messages, Running: run != nil}
	if v.Messages == nil {
		v.Messages = []chat.Message{}
	}
	v.Conversation.Messages = nil
	if run != nil {
		// The store holds the reply as of its last periodic save; the
		// running reply is ahead of it.
		live := run.Snapshot()
		for i := range v.Messages {
			if v.Messages[i].ID == live.ID {
				v.Messages[i] = live
			}
		}
	}
	return v
}

// conversationBody is the body of POST and PATCH /api/conversations.
type conversationBody struct {
	Title        *string `json:"title"`
	SystemPrompt *string `json:"system_prompt"`
	Model        *string `json:"model"`
}

func (s *server) createConversation(w http.ResponseWriter, r *http.Request) error {
	var b conversationBody
	if err := s.decodeOptional(r, &b); err != nil {
		return err
	}
	var c chat.Conversation
	if b.Title != nil {
		c.Title = *b.Title
	}
	if b.SystemPrompt != nil {
		c.SystemPrompt = *b.SystemPrompt
	}
	if b.Model != nil {
		c.Model = *b.Model
	}
	c, err := s.svc.CreateConversation(r.Context(), c)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, c)
	return nil
}

func (s *server) listConversations(w http.ResponseWriter, r *http.Request) error {
	opts, err := listOptions(r)
	if err != nil {
		return err
	}
	page, err := s.svc.ListConversations(r.Context(), opts)
	if err != nil {
		return err
	}
	if page.Conversations == nil {
		page.Conversations = []chat.Conversation{}
	}
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}

// listOptions parses ?limit=&cursor=&q=. An absent or empty limit means the
// default page size; anything but an integer in [1, 200] is refused rather
// than clamped, since it can only be a client's mistake.
func listOptions(r *http.Request) (chat.ListOptions, error) {
	q := r.URL.Query()
	var opts chat.ListOptions
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return opts, &chat.Error{Kind: chat.KindInvalid, Code: "invalid_limit",
				Message: "limit must be an integer from 1 to 200"}
		}
		opts.Limit = n
	}
	opts.Cursor = q.Get("cursor")
	if len(opts.Cursor) > maxCursorBytes {
		return opts, &chat.Error{Kind: chat.KindInvalid, Code: "invalid_cursor", Message: "invalid cursor"}
	}
	opts.Query = q.Get("q")
	return opts, nil
}

func (s *server) getConversation(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	c, running, err := s.svc.GetConversation(r.Context(), id)
	if err != nil {
		return err
	}
	var run *chat.Run
	if running {
		run, _ = s.svc.Attach(id) // nil if it ended meanwhile: the store is then current
	}
	httpx.WriteJSON(w, http.StatusOK, viewOf(c, run))
	return nil
}

func (s *server) updateConversation(w http.ResponseWriter, r *http.Request) error {
	var b conversationBody
	if err := httpx.DecodeJSON(r, &b, s.cfg.MaxBodyBytes); err != nil {
		return err
	}
	c, err := s.svc.UpdateConversation(r.Context(), r.PathValue("id"),
		chat.ConversationPatch{Title: b.Title, SystemPrompt: b.SystemPrompt, Model: b.Model})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

func (s *server) deleteConversation(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeleteConversation(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) undo(w http.ResponseWriter, r *http.Request) error {
	c, err := s.svc.Undo(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, viewOf(c, nil))
	return nil
}

func (s *server) clear(w http.ResponseWriter, r *http.Request) error {
	c, err := s.svc.Clear(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, viewOf(c, nil))
	return nil
}

// stop ends the running reply and answers once it is stored as stopped, so
// a client that reloads right after sees the final state.
func (s *server) stop(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !chat.ValidID(id) {
		return errNotFound()
	}
	run, running := s.svc.Attach(id)
	stopped := s.svc.Stop(id)
	if !stopped {
		// Nothing runs; still tell an unknown conversation from an idle one.
		if _, _, err := s.svc.GetConversation(r.Context(), id); err != nil {
			return err
		}
	}
	if running {
		select {
		case <-run.Done():
		case <-r.Context().Done():
			return r.Context().Err()
		}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]bool{"stopped": stopped})
	return nil
}

func errNotFound() error {
	return &chat.Error{Kind: chat.KindNotFound, Code: "conversation_not_found", Message: "conversation not found"}
}

// decodeOptional decodes a JSON body that may be left out entirely.
func (s *server) decodeOptional(r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return httpx.DecodeJSON(r, v, s.cfg.MaxBodyBytes)
}
