package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/conversation"
)

type chatAnswer struct {
	Response       string `json:"response"`
	ConversationID string `json:"conversation_id"`
}

func TestChatSeed(t *testing.T) {
	e := newEnv(t, envOptions{})
	var first chatAnswer
	e.call("POST", "/chat", `{"message":"Tell me a joke"}`, http.StatusOK, &first)
	if first.Response != "Tell me a joke" || !chat.ValidID(first.ConversationID) {
		t.Fatalf("first answer %+v", first)
	}
	var second chatAnswer
	e.call("POST", "/chat", `{"message":"another one","conversation_id":"`+first.ConversationID+`"}`, http.StatusOK, &second)
	if second.ConversationID != first.ConversationID || second.Response != "another one" {
		t.Fatalf("second answer %+v", second)
	}
	// The history went to the model and everything is stored.
	if got := len(e.up.LastRequest().Messages); got != 3 {
		t.Fatalf("model saw %d turns, want 3", got)
	}
	c := e.get(first.ConversationID)
	if len(c.Messages) != 4 || c.Messages[3].Status != chat.StatusComplete || c.Messages[3].Content != "another one" {
		t.Fatalf("stored %+v", c.Messages)
	}
	if c.Title != "Tell me a joke" {
		t.Fatalf("title %q", c.Title)
	}
}

func TestChatSeedRefusesBadInput(t *testing.T) {
	e := newEnv(t, envOptions{
		api: api.Config{MaxBodyBytes: 4096},
		svc: conversation.Config{MaxMessageBytes: 1024},
	})
	tests := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"malformed", `{"message":`, 400, ""},
		{"not json", `hello`, 400, ""},
		{"unknown field", `{"message":"hi","stream":true}`, 400, ""},
		{"wrong type", `{"message":42}`, 400, ""},
		{"empty", `{"message":""}`, 400, "empty_message"},
		{"blank", `{"message":" \n "}`, 400, "empty_message"},
		{"no body", ``, 400, ""},
		{"message too long", `{"message":"` + strings.Repeat("x", 2000) + `"}`, 413, "message_too_long"},
		{"body too large", `{"message":"` + strings.Repeat("x", 5000) + `"}`, 413, ""},
		{"unknown conversation", `{"message":"hi","conversation_id":"` + chat.NewID() + `"}`, 404, "conversation_not_found"},
		{"bad conversation id", `{"message":"hi","conversation_id":"../etc"}`, 404, "conversation_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := e.do("POST", "/chat", tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if got := errorBody(t, b); got.Code != tt.code {
				t.Fatalf("code %q, want %q (%s)", got.Code, tt.code, got.Message)
			}
		})
	}
	// A refused message creates no conversation.
	var page struct {
		Data []chat.Conversation `json:"data"`
	}
	e.call("GET", "/api/conversations", "", 200, &page)
	if len(page.Data) != 0 {
		t.Fatalf("refused requests created %d conversations", len(page.Data))
	}
}

func TestChatSeedModelFailure(t *testing.T) {
	tests := []struct {
		name   string
		fault  func(*env)
		status int
		typ    string
	}{
		{"model answers 500", func(e *env) {
			e.up.SetOptions(func(o *testupstreamOptions) { o.Status, o.StatusMessage = 500, "out of memory" })
		}, 502, "upstream_error"},
		{"model unavailable", func(e *env) {
			e.up.SetOptions(func(o *testupstreamOptions) { o.Status, o.StatusMessage = 503, "loading" })
		}, 503, "service_unavailable"},
		{"model breaks off", func(e *env) {
			e.up.SetOptions(func(o *testupstreamOptions) { o.FaultAfter, o.CloseMidStream = 1, true })
		}, 502, "upstream_error"},
		{"model down", func(e *env) { e.up.Close() }, 503, "service_unavailable"},
		{"message too long for the model's context", func(e *env) {
			e.up.SetOptions(func(o *testupstreamOptions) { o.ContextLength = 8 })
		}, 400, "invalid_request_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			tt.fault(e)
			resp, b := e.do("POST", "/chat", `{"message":"hello there friend"}`)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if got := errorBody(t, b); got.Type != tt.typ {
				t.Fatalf("error %+v, want type %s", got, tt.typ)
			}
			id := resp.Header.Get(api.HeaderConversationID)
			if !chat.ValidID(id) {
				t.Fatalf("no conversation id header on the error: %q", id)
			}
			c := e.get(id)
			if len(c.Messages) != 2 || c.Messages[0].Content != "hello there friend" ||
				c.Messages[1].Status != chat.StatusFailed || c.Messages[1].Error == "" {
				t.Fatalf("stored %+v", c.Messages)
			}
		})
	}
}
