package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/conversation"
	"github.com/parley-chat/parley/internal/testupstream"
)

const sentence = "the quick brown fox jumps over the lazy dog"

func TestReplyStream(t *testing.T) {
	e := newEnv(t, envOptions{upstream: []testupstream.Option{testupstream.WithTokenDelay(time.Millisecond)}})
	c := e.create(`{}`)
	resp := e.open(t.Context(), "POST", "/api/conversations/"+c.ID+"/messages", `{"content":"`+sentence+`"}`)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	st := readStream(t, resp.Body)
	if got := st.shape(); got != "user assistant delta* done" {
		t.Fatalf("events %q", got)
	}
	if st.user.Role != chat.RoleUser || st.user.Content != sentence || st.user.Status != chat.StatusComplete {
		t.Fatalf("user event %+v", st.user)
	}
	a := st.assistant
	if a.Role != chat.RoleAssistant || a.Status != chat.StatusStreaming || a.Content != "" || a.ConversationID != c.ID {
		t.Fatalf("assistant event %+v", a)
	}
	if strings.Count(strings.Join(st.names, " "), "delta") < 2 {
		t.Fatalf("reply came in %d deltas, want it streamed", len(st.names)-3)
	}
	d := st.done
	if st.text != sentence || d.Content != sentence || d.Status != chat.StatusComplete || d.ID != a.ID ||
		d.Model != testupstream.DefaultModel || d.OutputTokens != 9 || d.Error != "" {
		t.Fatalf("deltas %q, done %+v", st.text, d)
	}
	// Right after done, the reply is stored and the conversation free.
	got := e.get(c.ID)
	if got.Running || len(got.Messages) != 2 || got.Messages[1].Content != sentence || got.Messages[1].Status != chat.StatusComplete {
		t.Fatalf("stored %+v", got)
	}
	if got.Title != sentence {
		t.Fatalf("title %q", got.Title)
	}
}

func TestReplyWithoutStream(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.create(`{}`)
	var res struct {
		User      *chat.Message `json:"user_message"`
		Assistant chat.Message  `json:"assistant_message"`
	}
	e.call("POST", "/api/conversations/"+c.ID+"/messages", `{"content":"hello","stream":false}`, 200, &res)
	if res.User == nil || res.User.Content != "hello" || res.Assistant.Content != "hello" || res.Assistant.Status != chat.StatusComplete {
		t.Fatalf("answer %+v", res)
	}
	// A failed reply is still an answer: the message says what went wrong.
	e.up.SetOptions(func(o *testupstreamOptions) { o.Status, o.StatusMessage = 503, "loading" })
	res.User = nil
	e.call("POST", "/api/conversations/"+c.ID+"/regenerate", `{"stream":false}`, 200, &res)
	if res.User != nil || res.Assistant.Status != chat.StatusFailed || !strings.Contains(res.Assistant.Error, "unavailable") {
		t.Fatalf("failed answer %+v", res)
	}
}

func TestReplyStreamModelFailure(t *testing.T) {
	e := newEnv(t, envOptions{upstream: []testupstream.Option{testupstream.Options{Status: 500, StatusMessage: "boom"}}})
	c := e.create(`{}`)
	resp := e.open(t.Context(), "POST", "/api/conversations/"+c.ID+"/messages", `{"content":"hi"}`)
	defer resp.Body.Close()
	st := readStream(t, resp.Body)
	if st.shape() != "user assistant done" || st.done.Status != chat.StatusFailed || st.done.Error == "" {
		t.Fatalf("events %q, done %+v", st.shape(), st.done)
	}
	got := e.get(c.ID)
	if len(got.Messages) != 2 || got.Messages[0].Content != "hi" || got.Messages[1].Status != chat.StatusFailed {
		t.Fatalf("stored %+v", got.Messages)
	}
}

// startHanging sends a message whose reply stops after n tokens until it
// is stopped, and returns the stream positioned after n tokens of text.
func startHanging(t *testing.T, e *env, convID string, n int) (*http.Response, *sseReader, string) {
	t.Helper()
	e.up.SetOptions(func(o *testupstreamOptions) { o.Hang, o.FaultAfter = true, n })
	resp := e.open(t.Context(), "POST", "/api/conversations/"+convID+"/messages", `{"content":"`+sentence+`"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	want := strings.Join(testupstream.Tokens(sentence)[:n], "")
	sr := newSSEReader(t, resp.Body)
	var text string
	for text != want {
		ev, ok := sr.nextEvent()
		if !ok {
			t.Fatalf("stream ended after %q", text)
		}
		if ev.Name == "delta" {
			text += decode[delta](t, ev.Data).Content
		}
	}
	return resp, sr, text
}

func TestStopMidStream(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.create(`{}`)
	resp, sr, text := startHanging(t, e, c.ID, 3)
	defer resp.Body.Close()

	got := e.get(c.ID)
	if !got.Running || got.Messages[1].Content != text || got.Messages[1].Status != chat.StatusStreaming {
		t.Fatalf("while running GET says %+v", got)
	}
	for _, op := range []string{"/undo", "/clear", "/messages"} {
		resp, b := e.do("POST", "/api/conversations/"+c.ID+op, `{"content":"x"}`)
		if resp.StatusCode != http.StatusConflict || errorBody(t, b).Type != "conflict_error" {
			t.Fatalf("%s while running: %d %s", op, resp.StatusCode, b)
		}
	}
	resp2, b := e.do("POST", "/api/conversations/"+c.ID+"/messages/"+got.Messages[0].ID+"/edit", `{"content":"x"}`)
	if resp2.StatusCode != http.StatusConflict {
		t.Fatalf("edit while running: %d %s", resp2.StatusCode, b)
	}

	var stopped struct{ Stopped bool }
	e.call("POST", "/api/conversations/"+c.ID+"/stop", "", 200, &stopped)
	if !stopped.Stopped {
		t.Fatal("stop reported nothing running")
	}
	ev, ok := sr.nextEvent()
	if !ok || ev.Name != "done" {
		t.Fatalf("after stop got %+v", ev)
	}
	done := decode[chat.Message](t, ev.Data)
	if done.Status != chat.StatusStopped || done.Content != text {
		t.Fatalf("done %+v", done)
	}
	if _, more := sr.next(); more {
		t.Fatal("stream goes on after done")
	}
	if got := e.get(c.ID); got.Running || got.Messages[1].Status != chat.StatusStopped || got.Messages[1].Content != text {
		t.Fatalf("stored after stop %+v", got)
	}
	e.call("POST", "/api/conversations/"+c.ID+"/stop", "", 200, &stopped)
	if stopped.Stopped {
		t.Fatal("second stop reported a running reply")
	}
}

func TestClientDisconnectKeepsReplyRunning(t *testing.T) {
	e := newEnv(t, envOptions{upstream: []testupstream.Option{testupstream.WithTokenDelay(5 * time.Millisecond)}})
	c := e.create(`{}`)
	ctx, cancel := context.WithCancel(t.Context())
	resp := e.open(ctx, "POST", "/api/conversations/"+c.ID+"/messages", `{"content":"`+sentence+`"}`)
	sr := newSSEReader(t, resp.Body)
	for {
		ev, ok := sr.nextEvent()
		if !ok {
			t.Fatal("stream ended before the first delta")
		}
		if ev.Name == "delta" {
			break
		}
	}
	cancel() // the browser tab closes
	resp.Body.Close()
	e.waitIdle(c.ID)
	got := e.get(c.ID)
	if len(got.Messages) != 2 || got.Messages[1].Status != chat.StatusComplete || got.Messages[1].Content != sentence {
		t.Fatalf("reply after disconnect: %+v", got.Messages)
	}
	// The upstream counts a response as completed once its handler returns,
	// which may be just after the api has stored the reply.
	wctx, wcancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer wcancel()
	if err := e.up.Await(wctx, func(s testupstream.Stats) bool { return s.Completed == 1 }); err != nil || e.up.Stats().Canceled != 0 {
		t.Fatalf("upstream stats %+v: the disconnect reached the model", e.up.Stats())
	}
}

func TestAttachAfterReload(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.create(`{}`)
	resp := e.open(t.Context(), "GET", "/api/conversations/"+c.ID+"/stream", "")
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("stream with nothing running: %d", resp.StatusCode)
	}

	first, _, sofar := startHanging(t, e, c.ID, 4)
	first.Body.Close() // reload

	attached := e.open(t.Context(), "GET", "/api/conversations/"+c.ID+"/stream", "")
	defer attached.Body.Close()
	sr := newSSEReader(t, attached.Body)
	ev, ok := sr.nextEvent()
	if !ok || ev.Name != "assistant" {
		t.Fatalf("first event %+v", ev)
	}
	a := decode[chat.Message](t, ev.Data)
	if a.Content != sofar || a.Status != chat.StatusStreaming {
		t.Fatalf("attached at %+v, want content %q", a, sofar)
	}
	e.svc.Stop(t.Context(), account.LocalID, c.ID) // the hanging upstream call only ends when cancelled
	ev, ok = sr.nextEvent()
	if !ok || ev.Name != "done" {
		t.Fatalf("after stop: %+v", ev)
	}
	if d := decode[chat.Message](t, ev.Data); d.Status != chat.StatusStopped || d.Content != sofar {
		t.Fatalf("done %+v", d)
	}

	// Attach to a reply that is still producing text: content so far plus
	// deltas add up to the whole reply.
	e.up.SetOptions(func(o *testupstreamOptions) { o.Hang, o.TokenDelay = false, 20*time.Millisecond })
	e.call("POST", "/api/conversations/"+c.ID+"/clear", "", 200, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sending := e.open(ctx, "POST", "/api/conversations/"+c.ID+"/messages", `{"content":"`+sentence+`"}`)
	sendReader := newSSEReader(t, sending.Body)
	for {
		ev, ok := sendReader.nextEvent()
		if !ok {
			t.Fatal("stream ended early")
		}
		if ev.Name == "delta" {
			break
		}
	}
	cancel()
	sending.Body.Close()
	again := e.open(t.Context(), "GET", "/api/conversations/"+c.ID+"/stream", "")
	defer again.Body.Close()
	if again.StatusCode == http.StatusNoContent {
		t.Skip("the reply ended before the reload; nothing to attach to")
	}
	st := readStream(t, again.Body)
	if st.shape() != "assistant delta* done" && st.shape() != "assistant done" {
		t.Fatalf("attach events %q", st.shape())
	}
	if st.user != nil || st.assistant.Content == "" || st.assistant.Content+st.text != sentence || st.done.Content != sentence {
		t.Fatalf("attached %q + %q, done %+v", st.assistant.Content, st.text, st.done)
	}
}

func TestRegenerateReplacesLastReply(t *testing.T) {
	n := 0
	reply := func([]chat.Turn) string { n++; return strings.Repeat("again ", n) }
	e := newEnv(t, envOptions{upstream: []testupstream.Option{testupstream.WithReply(reply)}})
	c := e.create(`{}`)
	e.call("POST", "/api/conversations/"+c.ID+"/messages", `{"content":"hi","stream":false}`, 200, nil)
	before := e.get(c.ID)

	resp := e.open(t.Context(), "POST", "/api/conversations/"+c.ID+"/regenerate", "")
	defer resp.Body.Close()
	st := readStream(t, resp.Body)
	if st.shape() != "assistant delta* done" || st.done.Content != "again again " || st.text != st.done.Content {
		t.Fatalf("regenerate stream %q: %q %+v", st.shape(), st.text, st.done)
	}
	after := e.get(c.ID)
	if len(after.Messages) != 2 || after.Messages[0].ID != before.Messages[0].ID ||
		after.Messages[1].ID == before.Messages[1].ID || after.Messages[1].Content != "again again " {
		t.Fatalf("before %+v\nafter %+v", before.Messages, after.Messages)
	}
	// The dropped reply is not in the prompt.
	if turns := e.up.LastRequest().Messages; len(turns) != 1 || turns[0].Content != "hi" {
		t.Fatalf("model saw %+v", turns)
	}
}

// TestContinueExtendsLastReply: a reply cut by the length limit goes on in
// the same message; the model is sent the reply so far as the last,
// assistant, message.
func TestContinueExtendsLastReply(t *testing.T) {
	reply := func(turns []chat.Turn) string {
		if turns[len(turns)-1].Role == chat.RoleAssistant {
			return " over the lazy dog"
		}
		return sentence
	}
	e := newEnv(t, envOptions{svc: conversation.Config{MaxTokens: 4}, upstream: []testupstream.Option{testupstream.WithReply(reply)}})
	c := e.create(`{}`)
	var first struct {
		Assistant chat.Message `json:"assistant_message"`
	}
	e.call("POST", "/api/conversations/"+c.ID+"/messages", `{"content":"hi","stream":false}`, 200, &first)
	if a := first.Assistant; a.Content != "the quick brown fox" || a.FinishReason != chat.FinishLength || a.Status != chat.StatusComplete {
		t.Fatalf("first part %+v", a)
	}
	resp := e.open(t.Context(), "POST", "/api/conversations/"+c.ID+"/continue", "")
	defer resp.Body.Close()
	st := readStream(t, resp.Body)
	if st.shape() != "assistant delta* done" || st.assistant.ID != first.Assistant.ID || st.assistant.Content != "the quick brown fox" ||
		st.assistant.Status != chat.StatusStreaming || st.text != " over the lazy dog" {
		t.Fatalf("continue stream %q: assistant %+v, deltas %q", st.shape(), st.assistant, st.text)
	}
	if d := st.done; d.ID != first.Assistant.ID || d.Content != "the quick brown fox over the lazy dog" || d.FinishReason != chat.FinishStop ||
		d.OutputTokens != 8 || d.ContextFrom == "" {
		t.Fatalf("done %+v", d)
	}
	if turns := e.up.LastRequest().Messages; len(turns) != 2 || turns[1].Role != chat.RoleAssistant || turns[1].Content != "the quick brown fox" {
		t.Fatalf("model saw %+v", turns)
	}
	got := e.get(c.ID)
	if len(got.Messages) != 2 || got.Messages[1].Content != st.done.Content {
		t.Fatalf("stored %+v", got.Messages)
	}
	// Without a stream, the answer is the reply once done.
	var res struct {
		Assistant chat.Message `json:"assistant_message"`
	}
	e.call("POST", "/api/conversations/"+c.ID+"/continue", `{"stream":false}`, 200, &res)
	if res.Assistant.Content != "the quick brown fox over the lazy dog over the lazy dog" {
		t.Fatalf("continued again: %+v", res.Assistant)
	}
}

func TestEditUndoClear(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.create(`{}`)
	for _, m := range []string{"one", "two", "three"} {
		e.call("POST", "/api/conversations/"+c.ID+"/messages", `{"content":"`+m+`","stream":false}`, 200, nil)
	}
	got := e.get(c.ID)
	if len(got.Messages) != 6 {
		t.Fatalf("%d messages", len(got.Messages))
	}

	resp := e.open(t.Context(), "POST", "/api/conversations/"+c.ID+"/messages/"+got.Messages[2].ID+"/edit", `{"content":"TWO"}`)
	st := readStream(t, resp.Body)
	resp.Body.Close()
	if st.shape() != "user assistant delta* done" || st.user.Content != "TWO" || st.done.Content != "TWO" {
		t.Fatalf("edit stream %q %+v", st.shape(), st.done)
	}
	got = e.get(c.ID)
	var contents []string
	for _, m := range got.Messages {
		contents = append(contents, string(m.Role[0])+":"+m.Content)
	}
	if strings.Join(contents, " ") != "u:one a:one u:TWO a:TWO" {
		t.Fatalf("after edit: %v", contents)
	}

	var undone shown
	e.call("POST", "/api/conversations/"+c.ID+"/undo", "", 200, &undone)
	if len(undone.Messages) != 2 || undone.Messages[1].Content != "one" {
		t.Fatalf("after undo %+v", undone.Messages)
	}
	var cleared shown
	resp2, b := e.do("POST", "/api/conversations/"+c.ID+"/clear", "")
	if resp2.StatusCode != 200 || !strings.Contains(string(b), `"messages":[]`) {
		t.Fatalf("clear: %d %s", resp2.StatusCode, b)
	}
	e.call("POST", "/api/conversations/"+c.ID+"/undo", "", 200, &cleared)
	if len(cleared.Messages) != 0 || cleared.Title != "one" {
		t.Fatalf("after clear and undo %+v", cleared)
	}
}

func TestKeepAliveWhileModelIsSilent(t *testing.T) {
	e := newEnv(t, envOptions{api: api.Config{KeepAlive: 5 * time.Millisecond}})
	c := e.create(`{}`)
	resp, sr, _ := startHanging(t, e, c.ID, 1)
	defer resp.Body.Close()
	for comments := 0; comments < 3; {
		ev, ok := sr.next()
		if !ok {
			t.Fatal("stream ended")
		}
		if ev.Name != ":" {
			t.Fatalf("got event %+v while the model is silent", ev)
		}
		comments++
	}
	e.svc.Stop(t.Context(), account.LocalID, c.ID)
	if ev, ok := sr.nextEvent(); !ok || ev.Name != "done" {
		t.Fatalf("after stop: %+v", ev)
	}
}
