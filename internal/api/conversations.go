package api

import (
	"net/http"
	"strconv"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/httpx"
)

// maxCursorBytes bounds a list cursor; real ones are far shorter.
const maxCursorBytes = 512

// conversationBody is the body of POST and PATCH /api/conversations.
type conversationBody struct {
	Title        *string `json:"title"`
	SystemPrompt *string `json:"system_prompt"`
	Model        *string `json:"model"`
	// Settings replace all the generation settings (null fields: the
	// defaults).
	Settings *chat.Settings `json:"settings"`
	Pinned   *bool          `json:"pinned"`
	Archived *bool          `json:"archived"`
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
	if b.Settings != nil {
		c.Settings = *b.Settings
	}
	c, err := s.svc.CreateConversation(r.Context(), owner(r), c)
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
	page, err := s.svc.ListConversations(r.Context(), owner(r), opts)
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
	for _, f := range []struct {
		name string
		to   *chat.Filter
	}{{"pinned", &opts.Pinned}, {"archived", &opts.Archived}} {
		switch q.Get(f.name) {
		case "":
		case "true":
			*f.to = chat.FilterOnly
		case "false":
			*f.to = chat.FilterNone
		case "any":
			*f.to = chat.FilterAny
		default:
			return opts, &chat.Error{Kind: chat.KindInvalid, Code: "invalid_" + f.name, Message: f.name + " must be true, false or any"}
		}
	}
	switch v := q.Get("skip_empty"); v {
	case "", "false":
	case "true":
		opts.SkipEmpty = true
	default:
		return opts, &chat.Error{Kind: chat.KindInvalid, Code: "invalid_skip_empty", Message: "skip_empty must be true or false"}
	}
	return opts, nil
}

func (s *server) getConversation(w http.ResponseWriter, r *http.Request) error {
	v, err := s.svc.GetConversation(r.Context(), owner(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (s *server) updateConversation(w http.ResponseWriter, r *http.Request) error {
	var b conversationBody
	if err := httpx.DecodeJSON(r, &b, s.cfg.MaxBodyBytes); err != nil {
		return err
	}
	c, err := s.svc.UpdateConversation(r.Context(), owner(r), r.PathValue("id"),
		chat.ConversationPatch{Title: b.Title, SystemPrompt: b.SystemPrompt, Model: b.Model, Settings: b.Settings,
			Pinned: b.Pinned, Archived: b.Archived})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

func (s *server) deleteConversation(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeleteConversation(r.Context(), owner(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) undo(w http.ResponseWriter, r *http.Request) error {
	v, err := s.svc.Undo(r.Context(), owner(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

// versionBody is the body of POST .../messages/{message_id}/versions.
type versionBody struct {
	Version int `json:"version"`
}

func (s *server) selectVersion(w http.ResponseWriter, r *http.Request) error {
	var b versionBody
	if err := httpx.DecodeJSON(r, &b, s.cfg.MaxBodyBytes); err != nil {
		return err
	}
	v, err := s.svc.SelectVersion(r.Context(), owner(r), r.PathValue("id"), r.PathValue("message_id"), b.Version)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (s *server) clear(w http.ResponseWriter, r *http.Request) error {
	v, err := s.svc.Clear(r.Context(), owner(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

// stop ends the running reply and answers once it is stored as stopped, so
// a client that reloads right after sees the final state.
func (s *server) stop(w http.ResponseWriter, r *http.Request) error {
	stopped, err := s.svc.Stop(r.Context(), owner(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]bool{"stopped": stopped})
	return nil
}

// decodeOptional decodes a JSON body that may be left out entirely.
func (s *server) decodeOptional(r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return httpx.DecodeJSON(r, v, s.cfg.MaxBodyBytes)
}
