package api

import (
	"net/http"

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
	ans, err := s.svc.Ask(r.Context(), owner(r), req.ConversationID, req.Message)
	if ans.ConversationID != "" {
		w.Header().Set(HeaderConversationID, ans.ConversationID)
	}
	if err != nil {
		if r.Context().Err() != nil {
			return nil // the client went away; the reply goes on and is stored
		}
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, chatResponse{Response: ans.Reply.Content, ConversationID: ans.ConversationID})
	return nil
}
