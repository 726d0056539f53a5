package openai

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/httpx"
)

// Ready asks the server whether it takes requests now: GET /readyz at the
// root of the base URL, which a Parley model service answers 503 while its
// backend is down or it drains. A server without that endpoint (404 or
// 405: vLLM, llama.cpp, a hosted API) is asked for its models instead. A
// server that answered is named in the error with its status
// (AnswerStatus).
func (c *Client) Ready(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.base, "/v1")+httpx.ReadyPath, nil)
	if err != nil {
		return chat.E(chat.KindInternal, "invalid model server URL", err)
	}
	req.Header.Set("Accept", "application/json")
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return unreachable(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		return nil
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
		_, err := c.Models(ctx)
		return err
	}
	return withAnswer(notReady(resp.StatusCode, body), resp.StatusCode, resp.Header)
}

// notReady words a readiness answer other than 2xx. A Parley service says
// why in {"status": ..., "checks": {name: "failing: ..."}}; the words are
// clipped and masked all the same, since the server may be another one.
func notReady(status int, body []byte) *chat.Error {
	msg := fmt.Sprintf("%s is not ready (HTTP %d)", serverName, status)
	var st struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if json.Unmarshal(body, &st) == nil {
		var why []string
		for _, name := range slices.Sorted(maps.Keys(st.Checks)) {
			if v := st.Checks[name]; v != "ok" {
				why = append(why, name+" "+v)
			}
		}
		if len(why) == 0 && st.Status != "" {
			why = append(why, st.Status)
		}
		if len(why) > 0 {
			msg += ": " + httpx.ClipUpstreamText(strings.Join(why, "; "))
		}
	}
	return chat.E(chat.KindUnavailable, msg, fmt.Errorf("readiness check answered HTTP %d", status))
}
