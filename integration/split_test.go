package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/parley-chat/parley/internal/testupstream"
)

// words returns a message of n words, which the echoing upstream streams
// back as n tokens.
func words(n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = "word"
	}
	return strings.Join(w, " ")
}

// TestSplitServices runs model, api and web as separate processes wired by
// URL, exactly as containers are, and drives a whole chat through the web
// service.
func TestSplitServices(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(15*time.Millisecond))
	model := start(t, "model", freeAddr(t), true, "model", "--backend", "openai", "--upstream-url", up.URL)
	db := filepath.Join(t.TempDir(), "parley.db")
	api := start(t, "api", freeAddr(t), true, "api", "--model-url", model.url(), "--database", db, "--shutdown-timeout", "1s")
	web := start(t, "web", freeAddr(t), true, "web", "--api-url", api.url())
	base := web.url()

	var convID string
	t.Run("seed /chat contract", func(t *testing.T) {
		var out struct {
			Response       string `json:"response"`
			ConversationID string `json:"conversation_id"`
		}
		if code := doJSON(t, "POST", base+"/chat", map[string]string{"message": "Tell me a joke"}, &out); code != 200 {
			t.Fatalf("POST /chat: %d", code)
		}
		if out.Response != "Tell me a joke" || out.ConversationID == "" {
			t.Fatalf("POST /chat = %+v", out)
		}
		var again struct{ Response, ConversationID string }
		doJSON(t, "POST", base+"/chat", map[string]string{"message": "And another", "conversation_id": out.ConversationID}, &again)
		var c conversation
		doJSON(t, "GET", base+"/api/conversations/"+out.ConversationID, nil, &c)
		if len(c.Messages) != 4 || c.Title != "Tell me a joke" {
			t.Fatalf("conversation after two /chat calls: title %q, %d messages", c.Title, len(c.Messages))
		}
	})

	t.Run("stream a reply", func(t *testing.T) {
		var c conversation
		if code := doJSON(t, "POST", base+"/api/conversations", map[string]string{}, &c); code != 201 {
			t.Fatalf("create: %d", code)
		}
		convID = c.ID
		text, final := collect(t, base+"/api/conversations/"+convID+"/messages", map[string]string{"content": "hello streaming world"})
		if text != "hello streaming world" || final.Status != "complete" || final.Content != text {
			t.Fatalf("streamed %q, final %+v", text, final)
		}
	})

	t.Run("request id passed web to api to model and echoed", func(t *testing.T) {
		req, _ := http.NewRequest("POST", base+"/chat", strings.NewReader(`{"message":"trace me"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Request-Id", "e2e-trace-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Values("X-Request-Id"); resp.StatusCode != 200 || len(got) != 1 || got[0] != "e2e-trace-1" {
			t.Fatalf("POST /chat: %d, X-Request-Id %q, want once e2e-trace-1", resp.StatusCode, got)
		}
		// Each service logs its access line when its handler returns,
		// which may be just after the client has read the answer.
		for _, p := range []*proc{model, api, web} {
			if !p.waitLog(`"request_id":"e2e-trace-1"`, 5*time.Second) {
				t.Errorf("the %s service logged no request with id e2e-trace-1", p.name)
			}
		}
	})

	t.Run("stop", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var final message
		deltas := 0
		stream(t, ctx, base+"/api/conversations/"+convID+"/messages", map[string]string{"content": words(200)}, func(ev event) bool {
			switch ev.Name {
			case "delta":
				deltas++
				if deltas == 3 {
					var out struct{ Stopped bool }
					doJSON(t, "POST", base+"/api/conversations/"+convID+"/stop", nil, &out)
					if !out.Stopped {
						t.Errorf("stop said nothing was running")
					}
				}
			case "done":
				json.Unmarshal(ev.Data, &final)
				return false
			}
			return true
		})
		if final.Status != "stopped" || final.Content == "" || len(final.Content) >= len(words(200)) {
			t.Fatalf("after stop: status %q, %d bytes", final.Status, len(final.Content))
		}
	})

	t.Run("retry undo clear", func(t *testing.T) {
		text, final := collect(t, base+"/api/conversations/"+convID+"/regenerate", map[string]any{})
		if final.Status != "complete" || text != words(200) {
			t.Fatalf("regenerate: status %q, %d bytes", final.Status, len(text))
		}
		var c conversation
		doJSON(t, "GET", base+"/api/conversations/"+convID, nil, &c)
		if len(c.Messages) != 4 {
			t.Fatalf("after regenerate: %d messages, want 4", len(c.Messages))
		}
		if code := doJSON(t, "POST", base+"/api/conversations/"+convID+"/undo", nil, &c); code != 200 || len(c.Messages) != 2 {
			t.Fatalf("undo: %d, %d messages", code, len(c.Messages))
		}
		if code := doJSON(t, "POST", base+"/api/conversations/"+convID+"/clear", nil, &c); code != 200 || len(c.Messages) != 0 {
			t.Fatalf("clear: %d, %d messages", code, len(c.Messages))
		}
		collect(t, base+"/api/conversations/"+convID+"/messages", map[string]string{"content": "kept across restarts"})
	})

	t.Run("api restart keeps history", func(t *testing.T) {
		api.terminate()
		api.restart(true)
		var c conversation
		doJSON(t, "GET", base+"/api/conversations/"+convID, nil, &c)
		if len(c.Messages) != 2 || c.Messages[1].Content != "kept across restarts" {
			t.Fatalf("after restart: %+v", c.Messages)
		}
	})

	t.Run("shutdown saves running reply as stopped", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		stream(t, ctx, base+"/api/conversations/"+convID+"/messages", map[string]string{"content": words(400)}, func(ev event) bool {
			return ev.Name != "delta"
		})
		cancel()
		api.terminate() // --shutdown-timeout 1s, the reply needs 6s
		api.restart(true)
		var c conversation
		doJSON(t, "GET", base+"/api/conversations/"+convID, nil, &c)
		last := c.Messages[len(c.Messages)-1]
		if last.Role != "assistant" || last.Status != "stopped" || last.Content == "" {
			t.Fatalf("reply after shutdown: %+v", last)
		}
		doJSON(t, "POST", base+"/api/conversations/"+convID+"/undo", nil, nil)
	})

	t.Run("model killed mid-stream", func(t *testing.T) {
		var final message
		deltas := 0
		stream(t, context.Background(), base+"/api/conversations/"+convID+"/messages", map[string]string{"content": words(200)}, func(ev event) bool {
			switch ev.Name {
			case "delta":
				deltas++
				if deltas == 3 {
					model.kill()
				}
			case "done":
				json.Unmarshal(ev.Data, &final)
				return false
			}
			return true
		})
		if final.Status != "failed" || final.Error == "" {
			t.Fatalf("reply after model crash: %+v", final)
		}
		var c conversation
		doJSON(t, "GET", base+"/api/conversations/"+convID, nil, &c)
		n := len(c.Messages)
		if n < 2 || c.Messages[n-2].Role != "user" || c.Messages[n-2].Content != words(200) || c.Messages[n-1].Status != "failed" {
			t.Fatalf("stored after crash: %+v", c.Messages[max(0, n-2):])
		}

		// While the model is down: history reads, new messages get a clear
		// error and are stored.
		var e apiError
		code := doJSON(t, "POST", base+"/chat", map[string]string{"message": "anyone there?", "conversation_id": convID}, &e)
		if code != 502 && code != 503 || e.Error.Message == "" {
			t.Fatalf("/chat with model down: %d %+v", code, e)
		}
		doJSON(t, "GET", base+"/api/conversations/"+convID, nil, &c)
		if got := c.Messages[len(c.Messages)-2]; got.Content != "anyone there?" {
			t.Fatalf("user message not stored while model down: %+v", got)
		}
		resp, _ := http.Get(api.url() + "/readyz")
		resp.Body.Close()
		if resp.StatusCode != 503 {
			t.Fatalf("api /readyz with model down = %d, want 503", resp.StatusCode)
		}

		model.restart(true)
		_, final = collect(t, base+"/api/conversations/"+convID+"/messages", map[string]string{"content": "back again"})
		if final.Status != "complete" || final.Content != "back again" {
			t.Fatalf("after model restart: %+v", final)
		}
	})

	t.Run("openai-go client", func(t *testing.T) {
		client := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("unused"))
		ctx := context.Background()
		res, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    testupstream.DefaultModel,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("ping pong")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Choices[0].Message.Content; got != "ping pong" {
			t.Fatalf("completion = %q", got)
		}
		s := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model:         testupstream.DefaultModel,
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("one two three")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		})
		var acc openai.ChatCompletionAccumulator
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		if got := acc.Choices[0].Message.Content; got != "one two three" || acc.Usage.CompletionTokens == 0 {
			t.Fatalf("stream = %q, usage %+v", got, acc.Usage)
		}

		// The sampling and stopping controls travel web → api → model →
		// upstream unchanged.
		res, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:               testupstream.DefaultModel,
			Messages:            []openai.ChatCompletionMessageParamUnion{openai.UserMessage("a b c d e f")},
			Temperature:         openai.Float(0.25),
			TopP:                openai.Float(0.5),
			Seed:                openai.Int(1234),
			MaxCompletionTokens: openai.Int(4),
			Stop:                openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"zz", "yy"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Choices[0]; got.Message.Content != "a b c d" || got.FinishReason != "length" {
			t.Fatalf("max_completion_tokens 4: %q, finish %q", got.Message.Content, got.FinishReason)
		}
		var sent struct {
			Temperature float64  `json:"temperature"`
			TopP        float64  `json:"top_p"`
			Seed        int64    `json:"seed"`
			MaxTokens   int      `json:"max_tokens"`
			Stop        []string `json:"stop"`
		}
		if err := json.Unmarshal(up.LastRequest().Body, &sent); err != nil {
			t.Fatal(err)
		}
		if sent.Temperature != 0.25 || sent.TopP != 0.5 || sent.Seed != 1234 || sent.MaxTokens != 4 ||
			strings.Join(sent.Stop, ",") != "zz,yy" {
			t.Fatalf("upstream received %s", up.LastRequest().Body)
		}
	})
}
