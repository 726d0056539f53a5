package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/httpx"
)

// TokenizeRequest is the body of POST /v1/tokenize, Parley's extension
// (shaped like vLLM's /tokenize): the prompt a chat (Messages) or a text
// (Prompt) makes for Model, as a chat completion's or a completion's body
// would. Its answer is a chat.TokenCount.
type TokenizeRequest struct {
	Model    string    `json:"model,omitempty"`
	Messages []Message `json:"messages,omitempty"`
	Prompt   string    `json:"prompt,omitempty"`
}

// tokenizeRetry is how long a client estimates after its server turned
// out not to answer /v1/tokenize (it is not a Parley model service, or an
// older one) before asking again.
const tokenizeRetry = 5 * time.Minute

var _ chat.TokenCounter = (*Client)(nil)

// CountTokens implements chat.TokenCounter. A Parley model service counts
// exactly (POST /v1/tokenize); for a server without that endpoint (it
// answers 404, 405 or 501) the count is chat.Estimate's, and the endpoint
// is not asked again for tokenizeRetry.
func (c *Client) CountTokens(ctx context.Context, req chat.GenerateRequest) (chat.TokenCount, error) {
	if req.Model == "" {
		m, err := c.defaultModel.Resolve(ctx, c.Models, "model backend lists no models")
		if err != nil {
			return chat.TokenCount{}, err
		}
		req.Model = m
	}
	if time.Now().UnixNano() >= c.tokenizeOff.Load() {
		tc, err := c.tokenize(ctx, req)
		if !errors.Is(err, errNoTokenize) {
			return tc, err
		}
		c.tokenizeOff.Store(time.Now().Add(tokenizeRetry).UnixNano())
	}
	return chat.Estimate(ctx, c, req)
}

// errNoTokenize: the server has no /v1/tokenize.
var errNoTokenize = errors.New("no tokenize endpoint")

func (c *Client) tokenize(ctx context.Context, req chat.GenerateRequest) (chat.TokenCount, error) {
	body := TokenizeRequest{Model: req.Model, Prompt: req.Prompt}
	if req.Prompt == "" {
		body.Messages = TurnsToWire(req.Messages)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return chat.TokenCount{}, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/tokenize", bytes.NewReader(b))
	if err != nil {
		return chat.TokenCount{}, chat.E(chat.KindInternal, "invalid model backend URL", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	if c.apiKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.hc.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return chat.TokenCount{}, context.Cause(ctx)
		}
		return chat.TokenCount{}, unreachable(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		return chat.TokenCount{}, brokeOff(err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound && ParseErrorBody(data).CodeString() != "model_not_found",
		resp.StatusCode == http.StatusMethodNotAllowed, resp.StatusCode == http.StatusNotImplemented:
		return chat.TokenCount{}, errNoTokenize
	case resp.StatusCode/100 != 2:
		return chat.TokenCount{}, StatusError(resp.StatusCode, data, req.Model, resp.Header.Get(httpx.HeaderParleyError) != "")
	}
	var tc chat.TokenCount
	if err := json.Unmarshal(data, &tc); err != nil || tc.Tokens <= 0 {
		return chat.TokenCount{}, chat.E(chat.KindUpstream, "model backend sent a malformed token count", err)
	}
	return tc, nil
}
