package api

import (
	"net/http"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/httpx"
)

// HeaderConversationID names the conversation a POST /chat used, on every
// answer including errors: a client that sent no id can still find the
// conversation its stored message went to when the model failed.
const HeaderConversationID = "X-Conversation-Id"

// chatRequest is the seed's request body.
type chatRequest struct {
	Message        string `json:"message"`
	ConversationID string `json:"conversation_id"`
}

// chatResponse is the seed's answer.
type chatResponse struct {
	Response       string `json:"response"`
	ConversationID string `json:"conversation_id"`
}

// chat is the seed's POST /chat: one message in, the whole reply out,
// stored like any conversation turn.
func (s *server) chat(w http.ResponseWriter, r *http.Request) error {
	var req chatRequest
	if err := httpx.DecodeJSON(r, &req, s.cfg.MaxBodyBytes); err != nil {
		return err
	}
	// Refuse a bad message before creating a conversation for it.
	if err := s.svc.ValidateMessage(req.Message); err != nil {
		return err
	}
	id := req.ConversationID
	if id == "" {
		c, err := s.svc.CreateConversation(r.Context(), chat.Conversation{})
		if err != nil {
			return err
		}
		id = c.ID
	}
	run, err := s.svc.Send(r.Context(), id, req.Message, chat.ReplyOptions{})
	if err != nil {
		return err
	}
	w.Header().Set(HeaderConversationID, id)
	msg, err := run.Wait(r.Context())
	switch {
	case err != nil && !msg.Status.Final():
		return nil // the client went away; the reply goes on and is stored
	case err != nil:
		if chat.KindOf(err) == chat.KindInternal {
			// Whatever broke, it broke on the model's side of the call.
			err = chat.E(chat.KindUpstream, "the model failed to answer", err)
		}
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, chatResponse{Response: msg.Content, ConversationID: id})
	return nil
}
