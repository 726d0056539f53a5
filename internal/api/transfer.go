package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/conversation"
	"github.com/parley-chat/parley/internal/httpx"
)

// exportConversation answers a conversation as a download: Parley's JSON
// (format=json, the default) or Markdown (format=md).
func (s *server) exportConversation(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "md" {
		return &chat.Error{Kind: chat.KindInvalid, Code: "invalid_format", Message: "format must be json or md"}
	}
	e, err := s.svc.Export(r.Context(), owner(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	name := fileName(e.Title)
	if format == "md" {
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.md"`)
		w.Header().Set("Cache-Control", "no-store")
		_, err := w.Write([]byte(e.Markdown()))
		return err
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.json"`)
	httpx.WriteJSON(w, http.StatusOK, e)
	return nil
}

// fileName makes a download's name from a title: letters, digits and
// dashes only, so it needs no quoting in a header.
func fileName(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 60 {
			break
		}
	}
	name := strings.Trim(b.String(), "-")
	if name == "" {
		return "chat"
	}
	return name
}

// importedMessage is a message of an import: Parley's export, or
// OpenAI's chat message, whose content may be a string or text parts.
type importedMessage struct {
	Role      string           `json:"role"`
	Content   json.RawMessage  `json:"content"`
	Model     string           `json:"model"`
	Status    string           `json:"status"`
	CreatedAt *json.RawMessage `json:"created_at"`
}

// importBody is an import given as an object: Parley's export, or
// anything with OpenAI's "messages" (a chat completion request).
type importBody struct {
	Title        string            `json:"title"`
	SystemPrompt string            `json:"system_prompt"`
	Model        string            `json:"model"`
	Messages     []json.RawMessage `json:"messages"`
}

// importConversation stores Parley's JSON export, or an OpenAI messages
// array (bare, or as the "messages" of an object), as a new conversation.
func (s *server) importConversation(w http.ResponseWriter, r *http.Request) error {
	var raw json.RawMessage
	if err := httpx.DecodeJSON(r, &raw, s.cfg.MaxBodyBytes); err != nil {
		return err
	}
	e, err := parseImport(raw)
	if err != nil {
		return err
	}
	v, err := s.svc.Import(r.Context(), owner(r), e)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, v)
	return nil
}

func parseImport(raw json.RawMessage) (conversation.Export, error) {
	var e conversation.Export
	var msgs []json.RawMessage
	switch t := bytes.TrimSpace(raw); {
	case len(t) > 0 && t[0] == '[':
		if err := json.Unmarshal(t, &msgs); err != nil {
			return e, invalidImport("a messages array must hold message objects")
		}
	case len(t) > 0 && t[0] == '{':
		var b importBody
		if err := json.Unmarshal(t, &b); err != nil {
			return e, invalidImport("the conversation's title, system_prompt and model must be strings and messages an array")
		}
		e.Title, e.SystemPrompt, e.Model, msgs = b.Title, b.SystemPrompt, b.Model, b.Messages
	default:
		return e, invalidImport("expected Parley's export (an object with messages) or an OpenAI messages array")
	}
	for i, rm := range msgs {
		var m importedMessage
		if err := json.Unmarshal(rm, &m); err != nil {
			return e, invalidImport(fmt.Sprintf("message %d must be an object with a role and a content", i+1))
		}
		role := chat.Role(m.Role)
		if m.Role == "developer" {
			role = chat.RoleSystem
		}
		if !role.Valid() {
			return e, invalidImport(fmt.Sprintf("message %d: role must be user, assistant, system or developer", i+1))
		}
		text, err := contentText(m.Content)
		if err != nil {
			return e, invalidImport(fmt.Sprintf("message %d: %s", i+1, err.Error()))
		}
		x := conversation.ExportedMessage{Role: role, Content: text, Model: m.Model, Status: m.Status}
		if m.CreatedAt != nil {
			_ = json.Unmarshal(*m.CreatedAt, &x.CreatedAt) // a time that does not parse is left out
		}
		e.Messages = append(e.Messages, x)
	}
	return e, nil
}

// contentText is a message's content as text: a string, null, or OpenAI's
// content parts, of which only text parts can be imported.
func contentText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", fmt.Errorf("content must be a string or an array of text parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			return "", fmt.Errorf("content parts of type %q cannot be imported, only text", p.Type)
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

func invalidImport(msg string) error {
	return &chat.Error{Kind: chat.KindInvalid, Code: "invalid_import", Message: "cannot import: " + msg}
}
