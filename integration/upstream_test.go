package integration

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testupstream"
)

// TestMisbehavingUpstreams runs model services over an Ollama and an
// OpenAI-compatible upstream that misbehave the ways real ones do, behind
// one api, and checks what a user is left with: a reply stored with a
// clear final status (and its error text), never a stream that hangs.
func TestMisbehavingUpstreams(t *testing.T) {
	const ask = "one two three four five six"
	oll := testupstream.New(t, testupstream.WithModels("olla"))
	oai := testupstream.New(t, testupstream.WithModels("oai"))
	ollModel := start(t, "model-ollama", freeAddr(t), true, "model", "--backend", "ollama", "--upstream-url", oll.URL,
		"--upstream-idle-timeout", "500ms")
	oaiModel := start(t, "model-openai", freeAddr(t), true, "model", "--backend", "openai", "--upstream-url", oai.URL+"/v1",
		"--upstream-idle-timeout", "500ms")
	api := start(t, "api", freeAddr(t), true, "api", "--database", filepath.Join(t.TempDir(), "parley.db"),
		"--model-url", ollModel.url(), "--model-url", oaiModel.url())

	tests := []struct {
		name       string
		up         *testupstream.Server
		model      string
		fault      func(o *testupstream.Options)
		wantStatus string
		wantText   string
		wantErr    string // part of the stored error text
		noUsage    bool   // the upstream never says how long the prompt was
	}{
		{name: "ollama stream ends without done", up: oll, model: "olla",
			fault:      func(o *testupstream.Options) { o.EndEarly, o.FaultAfter = true, 3 },
			wantStatus: "complete", wantText: "one two three", noUsage: true},
		{name: "ollama connection closed mid-stream", up: oll, model: "olla",
			fault:      func(o *testupstream.Options) { o.CloseMidStream, o.FaultAfter = true, 2 },
			wantStatus: "failed", wantText: "one two", wantErr: "broke off"},
		{name: "ollama error line", up: oll, model: "olla",
			fault:      func(o *testupstream.Options) { o.StreamError, o.FaultAfter = "runner crashed", 1 },
			wantStatus: "failed", wantText: "one", wantErr: "runner crashed"},
		{name: "ollama stalls mid-stream", up: oll, model: "olla",
			fault:      func(o *testupstream.Options) { o.Hang, o.FaultAfter = true, 2 },
			wantStatus: "failed", wantText: "one two", wantErr: "stalled"},
		{name: "openai stalls mid-stream", up: oai, model: "oai",
			fault:      func(o *testupstream.Options) { o.Hang, o.FaultAfter = true, 2 },
			wantStatus: "failed", wantText: "one two", wantErr: "stalled"},
		{name: "openai role in every delta", up: oai, model: "oai",
			fault:      func(o *testupstream.Options) { o.RepeatRole = true },
			wantStatus: "complete", wantText: ask},
		{name: "openai usage-only final chunk", up: oai, model: "oai",
			fault:      func(o *testupstream.Options) {}, // the fake's default, as OpenAI does it
			wantStatus: "complete", wantText: ask},
		{name: "openai connection closed mid-stream", up: oai, model: "oai",
			fault:      func(o *testupstream.Options) { o.CloseMidStream, o.FaultAfter = true, 2 },
			wantStatus: "failed", wantText: "one two", wantErr: "broke off"},
		{name: "openai clean end without finish or [DONE]", up: oai, model: "oai",
			fault:      func(o *testupstream.Options) { o.EndEarly, o.FaultAfter = true, 4 },
			wantStatus: "failed", wantText: "one two three four", wantErr: "closed the stream"},
		{name: "openai error inside the stream", up: oai, model: "oai",
			fault:      func(o *testupstream.Options) { o.StreamError, o.FaultAfter = "CUDA out of memory", 1 },
			wantStatus: "failed", wantText: "one", wantErr: "CUDA out of memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.up.SetOptions(func(o *testupstream.Options) {
				*o = testupstream.Options{Models: []string{tt.model}}
				tt.fault(o)
			})
			var c conversation
			if code := doJSON(t, "POST", api.url()+"/api/conversations", map[string]string{"model": tt.model}, &c); code != 201 {
				t.Fatalf("create: %d", code)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var streamed strings.Builder
			var final message
			stream(t, ctx, api.url()+"/api/conversations/"+c.ID+"/messages", map[string]string{"content": ask}, func(ev event) bool {
				switch ev.Name {
				case "delta":
					var d struct{ Content string }
					jsonUnmarshal(t, ev.Data, &d)
					streamed.WriteString(d.Content)
				case "done":
					jsonUnmarshal(t, ev.Data, &final)
					return false
				}
				return true
			})
			if ctx.Err() != nil {
				t.Fatal("the reply stream hung")
			}
			if final.Status != tt.wantStatus || streamed.String() != tt.wantText || !strings.Contains(final.Error, tt.wantErr) {
				t.Fatalf("streamed %q, final %+v; want %s %q with error containing %q",
					streamed.String(), final, tt.wantStatus, tt.wantText, tt.wantErr)
			}
			doJSON(t, "GET", api.url()+"/api/conversations/"+c.ID, nil, &c)
			stored := c.Messages[len(c.Messages)-1]
			if len(c.Messages) != 2 || c.Messages[0].Content != ask || stored.Status != final.Status ||
				stored.Content != tt.wantText || stored.Error != final.Error {
				t.Fatalf("stored %+v", c.Messages)
			}
			if n := len(strings.Fields(tt.wantText)); stored.OutputTokens != n || stored.DurationMS <= 0 {
				t.Errorf("stored %d completion tokens in %d ms, want %d tokens and a duration", stored.OutputTokens, stored.DurationMS, n)
			}
			if tt.wantStatus == "complete" && !tt.noUsage && stored.PromptTokens == 0 {
				t.Errorf("complete reply stored without prompt tokens: %+v", stored)
			}
		})
	}
}

func jsonUnmarshal(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
}
