package modelcli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/engine"
	"github.com/parley-chat/parley/internal/engine/synth"
	"github.com/parley-chat/parley/internal/engine/tensor"
	"github.com/parley-chat/parley/internal/inference/builtin"
)

func TestToolRunGolden(t *testing.T) {
	path := stories(t)
	for _, g := range goldenRuns(t) {
		if g.NPredict != 16 || g.Prompt == "" {
			continue
		}
		t.Run(g.Prompt, func(t *testing.T) {
			out, _, err := tool(t, nil, "", "run", "--temperature", "0", path, g.Prompt, "--max-tokens", "16", "--threads", "1")
			if err != nil {
				t.Fatal(err)
			}
			if out != g.GeneratedText+"\n" {
				t.Errorf("got %q, want %q", out, g.GeneratedText+"\n")
			}
		})
	}
}

func TestToolRunREPL(t *testing.T) {
	path := stories(t)
	flags := []string{"--temperature", "0", "--max-tokens", "8", "--threads", "1"}
	out, _, err := tool(t, nil, "Once upon a time\n\n there was\n/bye\nnot read\n", append([]string{"run", path}, flags...)...)
	if err != nil {
		t.Fatal(err)
	}
	// Prompts: first line, the empty line (ignored), second line, /bye.
	replies := strings.Split(out, ">>> ")
	if len(replies) != 5 || replies[0] != "" || replies[2] != "" || replies[4] != "" {
		t.Fatalf("transcript %q", out)
	}
	replies = []string{"", replies[1], replies[3]}
	first := strings.TrimSuffix(replies[1], "\n")
	if first != ", there was a little girl" {
		t.Errorf("first reply %q", first)
	}
	// The second line continues the conversation: the same as asking
	// for the whole text at once.
	whole, _, err := tool(t, nil, "", append([]string{"run", path, "Once upon a time" + first + " there was"}, flags...)...)
	if err != nil {
		t.Fatal(err)
	}
	if replies[2] != whole {
		t.Errorf("second reply %q, one-shot of the whole text %q", replies[2], whole)
	}
	// End of input exits too.
	if _, _, err := tool(t, nil, "Lily wanted to", append([]string{"run", path}, flags...)...); err != nil {
		t.Errorf("EOF: %v", err)
	}
}

// interrupter presses Ctrl-C once the reply has begun streaming.
type interrupter struct {
	bytes.Buffer
	sigs chan os.Signal
	sent bool
}

func (w *interrupter) Write(p []byte) (int, error) {
	n, err := w.Buffer.Write(p)
	if !w.sent && w.Len() > len(">>> ")+20 {
		w.sent = true
		w.sigs <- os.Interrupt
	}
	return n, err
}

// WriteString hides bytes.Buffer's, which io.WriteString would call.
func (w *interrupter) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

func TestToolRunREPLInterrupt(t *testing.T) {
	path := stories(t)
	out := &interrupter{sigs: make(chan os.Signal, 1)}
	var stderr bytes.Buffer
	// Without a token cap the reply would run until the 512-token window
	// is full; Ctrl-C must cut it short and return to the prompt.
	err := Run(context.Background(), []string{path, "--temperature", "0", "--ctx-size", "512", "--threads", "1"},
		cmdline.IO{Out: out, Err: &stderr, In: strings.NewReader("Once upon a time\n/bye\n"), Interrupt: out.sigs})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "(stopped)") {
		t.Errorf("stderr %q lacks (stopped)", stderr.String())
	}
	replies := strings.Split(out.String(), ">>> ")
	if len(replies) != 3 || !strings.HasPrefix(replies[1], ", there was a little") || len(replies[1]) > 400 {
		t.Errorf("transcript %q", out.String())
	}
}

func TestToolRunREPLContextFull(t *testing.T) {
	// A 24-token window: the first line fits and fills it, the second does
	// not fit; /clear makes room again.
	in := "Once upon a time\nLily wanted to\n/clear\nThe little dog\n/bye\n"
	out, stderr, err := tool(t, nil, in, "run", stories(t), "--temperature", "0", "--ctx-size", "24", "--threads", "1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "no longer fits the context window of 24 tokens") || !strings.Contains(stderr, "conversation cleared") {
		t.Errorf("stderr %q", stderr)
	}
	replies := strings.Split(out, ">>> ")
	if len(replies) != 6 || !strings.HasPrefix(replies[4], " was a little girl named Lily") {
		t.Errorf("transcript %q", out)
	}
}

// TestRunIsTheServicePath: `parley run` answers exactly what the model
// service's generator answers for the same conversation and sampling, in
// chat mode (system prompt, template, a second turn) and raw mode, on a
// random-weight chat model where any difference in the prompt or the
// sampler would change the text.
func TestRunIsTheServicePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.gguf")
	shape, err := synth.LookupShape("stories260k")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := synth.Write(out, synth.Options{Shape: shape, Type: tensor.F32, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	out.Close()
	// The service as `parley model` configures it by default.
	g, err := builtin.Open(builtin.Config{ModelPath: path, Engine: engine.Options{Threads: 1}, KVType: builtin.DefaultKVType})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if !g.Chats() {
		t.Fatal("the synthetic model does not chat")
	}
	params := chat.Params{Temperature: ptr(0.8), TopK: ptr(40), TopP: ptr(0.95), MinP: ptr(0.0), Seed: ptr(int64(7)), MaxTokens: 12}
	service := func(req chat.GenerateRequest) string {
		t.Helper()
		req.Params = params
		var b strings.Builder
		if _, err := g.Generate(context.Background(), req, func(d chat.Delta) error { b.WriteString(d.Content); return nil }); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	flags := []string{"--seed", "7", "--max-tokens", "12", "--threads", "1"}
	run := func(stdin string, args ...string) string {
		t.Helper()
		var o, e bytes.Buffer
		if err := Run(context.Background(), append(append([]string{path}, args...), flags...), cmdline.IO{Out: &o, Err: &e, In: strings.NewReader(stdin)}); err != nil {
			t.Fatalf("%v (stderr %q)", err, e.String())
		}
		return o.String()
	}

	sys := chat.Turn{Role: chat.RoleSystem, Content: "Be brief."}
	user := func(s string) chat.Turn { return chat.Turn{Role: chat.RoleUser, Content: s} }
	first := service(chat.GenerateRequest{Messages: []chat.Turn{sys, user("hello")}})
	if first == "" {
		t.Fatal("the service's reply is empty; pick another seed")
	}
	if got := run("", "hello", "--system", "Be brief."); got != first+"\n" {
		t.Errorf("chat: run %q, service %q", got, first)
	}
	second := service(chat.GenerateRequest{Messages: []chat.Turn{sys, user("hello"), {Role: chat.RoleAssistant, Content: first}, user("more")}})
	if got := run("hello\nmore\n", "--system", "Be brief."); got != ">>> "+first+"\n>>> "+second+"\n>>> \n" {
		t.Errorf("second turn: run %q, service %q then %q", got, first, second)
	}
	raw := service(chat.GenerateRequest{Prompt: "hello"})
	if got := run("", "hello", "--raw"); got != raw+"\n" {
		t.Errorf("raw: run %q, service %q", got, raw)
	}
}

func ptr[T any](v T) *T { return &v }
