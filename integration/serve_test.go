package integration

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/sharedtest"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestServeBuiltin runs the one-process target with the built-in engine on
// the real stories260K model, and checks the whole path from HTTP to the
// engine against llama.cpp's greedy output.
func TestServeBuiltin(t *testing.T) {
	model := sharedtest.Stories260K(t)
	srv := start(t, "serve", freeAddr(t), true, "serve", "--model", model,
		"--database", filepath.Join(t.TempDir(), "parley.db"), "--models-dir", t.TempDir())
	base := srv.url()

	client := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("unused"))
	res, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:       "stories260K",
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Once upon a time")},
		Temperature: openai.Float(0),
		MaxTokens:   openai.Int(16),
	})
	if err != nil {
		t.Fatal(err)
	}
	const golden = ", there was a little girl named Lily. She loved to play"
	if got := res.Choices[0].Message.Content; got != golden {
		t.Fatalf("greedy completion = %q, want llama.cpp's %q", got, golden)
	}
	if res.Usage.CompletionTokens != 16 || res.Choices[0].FinishReason != "length" {
		t.Fatalf("usage %+v, finish %q", res.Usage, res.Choices[0].FinishReason)
	}

	// A stored conversation through the same engine, streamed.
	var c conversation
	doJSON(t, "POST", base+"/api/conversations", map[string]string{}, &c)
	text, final := collect(t, base+"/api/conversations/"+c.ID+"/messages", map[string]string{"content": "Lily wanted to"})
	if final.Status != "complete" || text == "" || final.Content != text || final.Model != "stories260K" || final.OutputTokens == 0 {
		t.Fatalf("stored reply %+v (streamed %d bytes)", final, len(text))
	}

	// The page is served by the same process.
	var page strings.Builder
	if code := getText(t, base+"/", &page); code != 200 || !strings.Contains(page.String(), "<html") {
		t.Fatalf("GET / = %d", code)
	}
}

// TestServeBuiltinWithoutModelFailsClearly checks that a missing model
// file is a clear start-up error naming the way out, not a hang.
func TestServeBuiltinWithoutModelFailsClearly(t *testing.T) {
	p := &proc{t: t, name: "serve", addr: freeAddr(t), logs: &lockedBuffer{},
		args: []string{"serve", "--model", filepath.Join(t.TempDir(), "missing.gguf"), "--models-dir", t.TempDir(),
			"--database", filepath.Join(t.TempDir(), "parley.db")}}
	p.run()
	<-p.done
	logs := p.logs.String()
	if p.cmd.ProcessState.ExitCode() == 0 || !strings.Contains(logs, "not found") || !strings.Contains(logs, "--backend") {
		t.Fatalf("exit %d, output:\n%s", p.cmd.ProcessState.ExitCode(), logs)
	}
}
