package inference

import (
	"encoding/json"
	"net/http"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/openai"
)

// tokenize answers POST /v1/tokenize, Parley's extension: how long the
// prompt of a chat completion's body (or, with "prompt", a completion's)
// is for the model, chat template included, and the model's context
// window. The api asks it to fit a conversation into the window; a
// backend that cannot count answers an estimate ("exact": false).
func (s *server) tokenize(w http.ResponseWriter, r *http.Request) error {
	body, release, err := httpx.ReadBody(r, s.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	defer release()
	var probe struct {
		Prompt json.RawMessage `json:"prompt"`
	}
	_ = json.Unmarshal(body, &probe) // ParseRequest says what is wrong
	req, err := openai.ParseRequest(body, probe.Prompt != nil, true)
	if err != nil {
		return err
	}
	tc, err := chat.CountTokens(r.Context(), s.gen, req.Gen)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, tc)
	return nil
}
