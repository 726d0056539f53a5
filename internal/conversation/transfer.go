package conversation

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/chat"
)

// ExportFormat is the version of Parley's JSON export, so that a later
// importer can tell what it reads.
const ExportFormat = 1

// Export is a conversation as Parley exports it and imports it again: the
// branch shown (versions not chosen are left out), each message with who
// wrote it and when.
type Export struct {
	Format       int               `json:"parley_export"`
	Title        string            `json:"title"`
	SystemPrompt string            `json:"system_prompt,omitempty"`
	Model        string            `json:"model,omitempty"`
	CreatedAt    time.Time         `json:"created_at"`
	Messages     []ExportedMessage `json:"messages"`
}

// ExportedMessage is one message of an Export; its role and content are
// also OpenAI's.
type ExportedMessage struct {
	Role      chat.Role `json:"role"`
	Content   string    `json:"content"`
	Model     string    `json:"model,omitempty"`
	Status    string    `json:"status,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// Export returns a conversation of owner as an Export.
func (s *Service) Export(ctx context.Context, owner, id string) (Export, error) {
	v, err := s.GetConversation(ctx, owner, id)
	if err != nil {
		return Export{}, err
	}
	e := Export{Format: ExportFormat, Title: v.Title, SystemPrompt: v.SystemPrompt, Model: v.Model, CreatedAt: v.CreatedAt,
		Messages: make([]ExportedMessage, 0, len(v.Messages))}
	for _, m := range v.Messages {
		x := ExportedMessage{Role: m.Role, Content: m.Content, CreatedAt: m.CreatedAt}
		if m.Role == chat.RoleAssistant {
			x.Model = m.Model
			if m.Status != chat.StatusComplete {
				x.Status = string(m.Status)
			}
		}
		e.Messages = append(e.Messages, x)
	}
	return e, nil
}

// Markdown writes e as a Markdown document for people: the title, the
// system prompt, then each message under a heading saying who wrote it.
func (e Export) Markdown() string {
	var b strings.Builder
	title := e.Title
	if title == "" {
		title = "Chat"
	}
	b.WriteString("# " + oneLine(title) + "\n\n")
	if e.SystemPrompt != "" {
		b.WriteString("**System prompt:**\n\n" + quote(e.SystemPrompt) + "\n\n")
	}
	for _, m := range e.Messages {
		switch m.Role {
		case chat.RoleUser:
			b.WriteString("## You\n\n")
		case chat.RoleAssistant:
			h := "## Assistant"
			if m.Model != "" {
				h += " (" + oneLine(m.Model) + ")"
			}
			if m.Status != "" {
				h += " — " + m.Status
			}
			b.WriteString(h + "\n\n")
		default:
			b.WriteString("## System\n\n")
		}
		b.WriteString(strings.TrimRight(m.Content, "\n") + "\n\n")
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func quote(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight("> "+l, " ")
	}
	return strings.Join(lines, "\n")
}

// Import stores e as a new conversation of owner and returns it. Leading
// system messages become the system prompt when e has none; the title is
// e's, or made from the first question. Messages are checked before
// anything is stored; a conversation that could not be stored whole is
// deleted again.
func (s *Service) Import(ctx context.Context, owner string, e Export) (View, error) {
	if len(e.Messages) == 0 {
		return View{}, &chat.Error{Kind: chat.KindInvalid, Code: "nothing_to_import", Message: "there are no messages to import"}
	}
	msgs := e.Messages
	var system []string
	for len(msgs) > 0 && msgs[0].Role == chat.RoleSystem {
		system = append(system, msgs[0].Content)
		msgs = msgs[1:]
	}
	if e.SystemPrompt == "" {
		e.SystemPrompt = strings.Join(system, "\n\n")
	}
	for i, m := range msgs {
		if !m.Role.Valid() {
			return View{}, chat.Errorf(chat.KindInvalid, "message %d: role must be user, assistant or system", i+1)
		}
		if !utf8.ValidString(m.Content) || strings.ContainsRune(m.Content, 0) {
			return View{}, chat.Errorf(chat.KindInvalid, "message %d: content must be valid UTF-8 text", i+1)
		}
	}
	if e.Title == "" {
		for _, m := range msgs {
			if m.Role == chat.RoleUser && strings.TrimSpace(m.Content) != "" {
				e.Title = titleFrom(m.Content)
				break
			}
		}
	}
	if t := []rune(strings.TrimSpace(e.Title)); len(t) > s.cfg.MaxTitleRunes {
		e.Title = string(t[:s.cfg.MaxTitleRunes])
	}
	c, err := s.CreateConversation(ctx, owner, chat.Conversation{Title: e.Title, SystemPrompt: e.SystemPrompt, Model: e.Model})
	if err != nil {
		return View{}, err
	}
	convs := s.store.For(owner)
	for _, m := range msgs {
		st := chat.StatusComplete
		if m.Role == chat.RoleAssistant {
			switch chat.Status(m.Status) {
			case chat.StatusStopped, chat.StatusFailed, chat.StatusInterrupted:
				st = chat.Status(m.Status)
			}
		}
		_, err := convs.AppendMessage(ctx, chat.Message{ConversationID: c.ID, Role: m.Role, Content: m.Content,
			Model: m.Model, Status: st, CreatedAt: m.CreatedAt})
		if err != nil {
			if derr := convs.DeleteConversation(context.WithoutCancel(ctx), c.ID); derr != nil {
				s.log.Warn("remove a half-imported conversation", "conversation_id", c.ID, "err", derr)
			}
			return View{}, err
		}
	}
	return s.GetConversation(ctx, owner, c.ID)
}
