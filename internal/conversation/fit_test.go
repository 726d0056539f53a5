package conversation_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/conversation"
	"github.com/parley-chat/parley/internal/engine"
	"github.com/parley-chat/parley/internal/inference/builtin"
	"github.com/parley-chat/parley/internal/openai"
	"github.com/parley-chat/parley/internal/sharedtest"
	"github.com/parley-chat/parley/internal/testupstream"
)

// stories opens the real stories260K model with a context window of ctx
// tokens: small windows keep the tests fast and still overflow them.
func stories(t *testing.T, ctx int) *builtin.Generator {
	t.Helper()
	g, err := builtin.Open(builtin.Config{ModelPath: filepath.Join(sharedtest.Dir(t), "models", "stories260K.gguf"),
		Engine: engine.Options{ContextLength: ctx, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func ptr[T any](v T) *T { return &v }

// reply sends content and waits for the stored reply.
func reply(t *testing.T, svc *conversation.Service, convID, content string, opts conversation.ReplyOptions) chat.Message {
	t.Helper()
	rp, err := svc.Send(t.Context(), owner, convID, content, opts)
	if err != nil {
		t.Fatalf("send %q: %v", content, err)
	}
	msg, err := rp.Wait(t.Context())
	if err != nil {
		t.Fatalf("reply to %q: %v (%+v)", content, err, msg)
	}
	return msg
}

// promptOf is what the model sees of c from message index from on, as
// the service sends it: the system prompt, then the messages.
func promptOf(c chat.Conversation, from int) []chat.Turn {
	turns := []chat.Turn{{Role: chat.RoleSystem, Content: c.SystemPrompt}}
	for _, m := range c.Messages[from:] {
		turns = append(turns, chat.Turn{Role: m.Role, Content: m.Content})
	}
	return turns
}

// TestConversationPastTheContextWindow: every turn of a conversation far
// longer than the model's window is answered, each from the newest turns
// that fit beside the room kept for the reply, and the reply says which.
func TestConversationPastTheContextWindow(t *testing.T) {
	const window, maxTokens = 256, 24
	g := stories(t, window)
	db := openStore(t)
	svc := newService(t, db, g, conversation.Config{})
	c := newConversation(t, svc, chat.Conversation{SystemPrompt: "A story."})
	opts := conversation.ReplyOptions{Params: chat.Params{MaxTokens: maxTokens, Temperature: ptr(0.0)}}
	budget := window - maxTokens
	cut := 0
	for turn := range 12 {
		msg := reply(t, svc, c.ID, "Lily and Ben went to the park to play with the ball", opts)
		if msg.Status != chat.StatusComplete || msg.Content == "" || msg.FinishReason == "" {
			t.Fatalf("turn %d: reply %+v", turn, msg)
		}
		if msg.PromptTokens > budget {
			t.Errorf("turn %d: the prompt took %d tokens, more than the %d left beside the reply", turn, msg.PromptTokens, budget)
		}
		conv, err := db.For(owner).GetConversation(t.Context(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		from := -1
		for i, m := range conv.Messages {
			if m.ID == msg.ContextFrom {
				from = i
			}
		}
		if from < 0 || conv.Messages[from].Role != chat.RoleUser {
			t.Fatalf("turn %d: context_from %q is not a user message of the conversation", turn, msg.ContextFrom)
		}
		// What was seen is the newest that fits: one more turn would not.
		if from > 0 {
			cut++
			more, err := g.CountTokens(t.Context(), chat.GenerateRequest{Messages: promptOf(conv, from-2)[:len(conv.Messages)-from+2]})
			if err != nil {
				t.Fatal(err)
			}
			if more.Tokens <= budget {
				t.Errorf("turn %d: the model saw from message %d; from %d the prompt is %d tokens, within %d", turn, from, from-2, more.Tokens, budget)
			}
		}
	}
	if cut == 0 {
		t.Fatal("the conversation never outgrew the window: the test proves nothing")
	}
}

// TestRepliesFillingTheWindow: on a base model every reply runs to the end
// of the context window (no max tokens), the failure: each next
// message must still be answered, seeing only itself, and the replies say
// they were cut by the length limit.
func TestRepliesFillingTheWindow(t *testing.T) {
	g := stories(t, 128)
	db := openStore(t)
	svc := newService(t, db, g, conversation.Config{})
	c := newConversation(t, svc, chat.Conversation{})
	var user []string
	for _, text := range []string{"Once upon a time", "Lily went to the park", "Ben had a red ball", "The sun was hot"} {
		msg := reply(t, svc, c.ID, text, conversation.ReplyOptions{})
		if msg.Status != chat.StatusComplete || msg.FinishReason != chat.FinishLength || msg.Content == "" {
			t.Fatalf("reply to %q: %+v", text, msg)
		}
		conv, _ := db.For(owner).GetConversation(t.Context(), c.ID)
		user = append(user, conv.Messages[len(conv.Messages)-2].ID)
		if msg.ContextFrom != user[len(user)-1] {
			t.Errorf("reply to %q saw from %q, want only its own message %q", text, msg.ContextFrom, user[len(user)-1])
		}
	}
}

// TestMessageTooLongForTheWindow: a message that alone does not fit is
// kept, and its reply fails saying so, as a request the model cannot
// take.
func TestMessageTooLongForTheWindow(t *testing.T) {
	svc := newService(t, openStore(t), stories(t, 64), conversation.Config{})
	c := newConversation(t, svc, chat.Conversation{})
	rp, err := svc.Send(t.Context(), owner, c.ID, strings.Repeat("Lily went to the park. ", 20), conversation.ReplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := rp.Wait(t.Context())
	if chat.KindOf(err) != chat.KindInvalid || chat.CodeOf(err) != chat.CodeContextLength {
		t.Errorf("error %v (kind %v, code %q)", err, chat.KindOf(err), chat.CodeOf(err))
	}
	if msg.Status != chat.StatusFailed || msg.FinishReason != "failed" || !strings.Contains(msg.Error, "too long for this model's context window") {
		t.Errorf("reply %+v", msg)
	}
	if rp.User == nil || rp.User.ID == "" {
		t.Error("the user's message was not stored")
	}
}

// TestContinueInPlace: a reply cut by max tokens is continued in the same
// message; greedily, the two parts are the reply written in one go.
func TestContinueInPlace(t *testing.T) {
	g := stories(t, 256)
	db := openStore(t)
	svc := newService(t, db, g, conversation.Config{})
	c := newConversation(t, svc, chat.Conversation{})
	short := conversation.ReplyOptions{Params: chat.Params{MaxTokens: 8, Temperature: ptr(0.0)}}
	first := reply(t, svc, c.ID, "Once upon a time", short)
	if first.FinishReason != chat.FinishLength || first.OutputTokens != 8 {
		t.Fatalf("first part %+v", first)
	}
	rp, err := svc.Continue(t.Context(), owner, c.ID, short)
	if err != nil {
		t.Fatal(err)
	}
	if rp.User != nil || rp.Assistant.ID != first.ID || rp.Assistant.Content != first.Content || rp.Assistant.Status != chat.StatusStreaming {
		t.Fatalf("continued reply starts as %+v (user %+v), want %+v streaming", rp.Assistant, rp.User, first)
	}
	var added strings.Builder
	whole, err := rp.Follow(t.Context(), len(rp.Assistant.Content), func(s string) error { added.WriteString(s); return nil })
	if err != nil {
		t.Fatal(err)
	}
	var oneGo strings.Builder
	if _, err := g.Generate(t.Context(), chat.GenerateRequest{Messages: []chat.Turn{{Role: chat.RoleUser, Content: "Once upon a time"}},
		Params: chat.Params{MaxTokens: 16, Temperature: ptr(0.0)}}, func(d chat.Delta) error { oneGo.WriteString(d.Content); return nil }); err != nil {
		t.Fatal(err)
	}
	if whole.Content != first.Content+added.String() || whole.Content != oneGo.String() {
		t.Errorf("continued reply %q (added %q), want %q as in one go", whole.Content, added.String(), oneGo.String())
	}
	if whole.ID != first.ID || whole.Status != chat.StatusComplete || whole.FinishReason != chat.FinishLength || whole.OutputTokens != 16 ||
		whole.DurationMS < first.DurationMS || whole.FirstTokenMS != first.FirstTokenMS {
		t.Errorf("continued reply %+v, first part %+v", whole, first)
	}
	conv, _ := db.For(owner).GetConversation(t.Context(), c.ID)
	if len(conv.Messages) != 2 || conv.Messages[1].Content != whole.Content {
		t.Errorf("stored %+v", conv.Messages)
	}
}

// TestContinueRefused: there must be a reply that has ended, with text.
func TestContinueRefused(t *testing.T) {
	db := openStore(t)
	gen := &scripted{fail: chat.Errorf(chat.KindUnavailable, "model backend unreachable")}
	svc := newService(t, db, gen, conversation.Config{})
	c := newConversation(t, svc, chat.Conversation{})
	for _, what := range []string{"an empty conversation", "a reply that failed without text"} {
		_, err := svc.Continue(t.Context(), owner, c.ID, conversation.ReplyOptions{})
		if chat.KindOf(err) != chat.KindInvalid || chat.CodeOf(err) != chat.CodeNotContinuable {
			t.Errorf("continuing %s: %v", what, err)
		}
		if _, err := send(t, svc, c.ID, "hello").Wait(t.Context()); err == nil {
			t.Fatal("the scripted model did not fail")
		}
	}
	if _, err := svc.Continue(t.Context(), owner, chat.NewID(), conversation.ReplyOptions{}); chat.KindOf(err) != chat.KindNotFound {
		t.Errorf("continuing in an unknown conversation: %v", err)
	}
}

// TestContinueReplyThatFilledTheWindow: a reply cut by the context window
// itself is continued from the end the model can still see beside its
// question.
func TestContinueReplyThatFilledTheWindow(t *testing.T) {
	db := openStore(t)
	svc := newService(t, db, stories(t, 128), conversation.Config{})
	c := newConversation(t, svc, chat.Conversation{})
	first := reply(t, svc, c.ID, "Once upon a time", conversation.ReplyOptions{})
	if first.FinishReason != chat.FinishLength {
		t.Fatalf("first part %+v", first)
	}
	rp, err := svc.Continue(t.Context(), owner, c.ID, conversation.ReplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	whole, err := rp.Wait(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if whole.Status != chat.StatusComplete || !strings.HasPrefix(whole.Content, first.Content) || len(whole.Content) <= len(first.Content) ||
		whole.OutputTokens <= first.OutputTokens || whole.PromptTokens > 128-32 {
		t.Errorf("continued %+v\nfrom %+v", whole, first)
	}
}

// TestRefusedPromptIsRetriedWithLess: a backend that cannot count, whose
// model refuses prompts longer than the estimate allowed for, gets one
// more try with less history, and the reply is written.
func TestRefusedPromptIsRetriedWithLess(t *testing.T) {
	// A window of 400 bytes of text: one token a byte to the server, a
	// third of that to the estimate.
	up := testupstream.New(t, testupstream.Options{ContextLength: 400})
	db := openStore(t)
	svc := newService(t, db, openai.NewClient(up.URL, "", nil), conversation.Config{})
	c := newConversation(t, svc, chat.Conversation{})
	text := "Lily and Ben went to the park to play with the ball"
	for turn := range 8 {
		msg := reply(t, svc, c.ID, text, conversation.ReplyOptions{})
		if msg.Status != chat.StatusComplete || msg.Content != text {
			t.Fatalf("turn %d: %+v", turn, msg)
		}
	}
	last := up.LastRequest()
	if n := len(last.Messages); n < 2 || n >= 16 || last.Messages[n-1].Content != text {
		t.Errorf("the last prompt sent held %d messages", n)
	}
}
