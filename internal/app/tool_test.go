package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/sharedtest"
)

func stories(t testing.TB) string {
	return filepath.Join(sharedtest.Dir(t), "models", "stories260K.gguf")
}

// tool runs an engine command with env and stdin, like main does.
func tool(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errw bytes.Buffer
	err = Tool(context.Background(), args[0], args[1:], ToolIO{Out: &out, Err: &errw, In: strings.NewReader(stdin),
		Env: func(k string) string { return env[k] }})
	return out.String(), errw.String(), err
}

type goldenRun struct {
	Prompt        string `json:"prompt"`
	NPredict      int    `json:"n_predict"`
	GeneratedText string `json:"generated_text"`
}

func goldenRuns(t *testing.T) []goldenRun {
	data, err := os.ReadFile(filepath.Join(sharedtest.Dir(t), "golden", "stories260K.greedy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct{ Results []goldenRun }
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	return g.Results
}

// hfHub serves files like Hugging Face: /org/repo/resolve/main/FILE with
// the digest in X-Linked-Etag and Range support.
func hfHub(t *testing.T, files map[string][]byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		content, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		sum := sha256.Sum256(content)
		w.Header().Set("X-Linked-Etag", `"`+hex.EncodeToString(sum[:])+`"`)
		http.ServeContent(w, r, filepath.Base(r.URL.Path), time.Time{}, bytes.NewReader(content))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestToolPullModelsRun(t *testing.T) {
	model, err := os.ReadFile(stories(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := hfHub(t, map[string][]byte{"/tiny/stories/resolve/main/stories260K.gguf": model})
	dir := t.TempDir()
	env := map[string]string{"PARLEY_HF_ENDPOINT": srv.URL, "PARLEY_MODELS_DIR": dir}

	out, _, err := tool(t, env, "", "pull", "tiny/stories/stories260K.gguf")
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	path := filepath.Join(dir, "stories260K.gguf")
	if !strings.Contains(out, path) {
		t.Errorf("pull printed %q, want the path %s", out, path)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, model) {
		t.Fatal("pulled file differs from the served one")
	}

	tests := []struct {
		name string
		args []string
		want []string // substrings of stdout
	}{
		{"models", []string{"models"}, []string{"stories260K", "llama F32", "1.1 MiB", "270cba1bd510", path}},
		{"catalogue", []string{"models", "--catalogue"}, []string{"stories260K", "qwen2.5-0.5b", "smollm2-135m"}},
		{"run by model id", []string{"run", "stories260K", "Once upon a time", "--temperature", "0", "--max-tokens", "16"},
			[]string{", there was a little girl named Lily. She loved to play\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, err := tool(t, env, "", tt.args...)
			if err != nil {
				t.Fatalf("%v (stderr %q)", err, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output %q lacks %q", out, w)
				}
			}
		})
	}
}

func TestToolRunPullsMissingModel(t *testing.T) {
	model, err := os.ReadFile(stories(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := hfHub(t, map[string][]byte{"/tiny/stories/resolve/main/stories260K.gguf": model})
	env := map[string]string{"PARLEY_HF_ENDPOINT": srv.URL, "PARLEY_MODELS_DIR": t.TempDir()}
	out, stderr, err := tool(t, env, "", "run", "tiny/stories/stories260K.gguf", "Once upon a time", "--temperature", "0", "--max-tokens", "16")
	if err != nil || out != ", there was a little girl named Lily. She loved to play\n" || !strings.Contains(stderr, "pulling stories260K.gguf") {
		t.Fatalf("out %q, stderr %q, err %v", out, stderr, err)
	}
}

func TestToolPullErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	srv := hfHub(t, nil)
	tests := []struct {
		name, endpoint, ref, want string
	}{
		{"offline", closed, "org/repo/m.gguf", "cannot reach"},
		{"missing", srv.URL, "org/repo/m.gguf", "not found"},
		{"bad ref", srv.URL, "not-a-model", "neither a catalogue alias"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"PARLEY_MODELS_DIR": t.TempDir()}
			_, _, err := tool(t, env, "", "pull", "--hf-endpoint", tt.endpoint, tt.ref)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

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

func TestToolUsageErrors(t *testing.T) {
	tests := [][]string{
		{"run"},
		{"run", "a", "b", "c"},
		{"run", "--no-such-flag", "x"},
		{"bench"},
		{"models", "extra"},
		{"pull"},
	}
	for _, args := range tests {
		if _, _, err := tool(t, map[string]string{"PARLEY_MODELS_DIR": t.TempDir()}, "", args...); !errors.Is(err, ErrUsage) {
			t.Errorf("%q: err = %v, want ErrUsage", args, err)
		}
	}
	if _, _, err := tool(t, map[string]string{"PARLEY_MODELS_DIR": t.TempDir()}, "", "run", "nothing-here"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("unknown model: %v", err)
	}
}

var benchRowRE = regexp.MustCompile(`^\| llama (\S+) +\| +([\d.]+) MiB \| +([\d.]+) M \| Go CPU +\| +(\d) \| +(pp16|tg8) \| +([\d.]+) ± ([\d.]+) \| +[\d.]+ MiB \|$`)

func TestToolBench(t *testing.T) {
	path := stories(t)
	out, _, err := tool(t, nil, "", "bench", path, "-p", "16", "-n", "8", "-r", "2", "-t", "1,2")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "| model") || !strings.HasPrefix(lines[1], "| ---") {
		t.Fatalf("table:\n%s", out)
	}
	want := []struct{ threads, test string }{{"1", "pp16"}, {"1", "tg8"}, {"2", "pp16"}, {"2", "tg8"}}
	for i, w := range want {
		m := benchRowRE.FindStringSubmatch(lines[2+i])
		if m == nil {
			t.Fatalf("row %q does not match", lines[2+i])
		}
		if m[1] != "F32" || m[2] != "1.12" || m[3] != "0.29" || m[4] != w.threads || m[5] != w.test || m[6] == "0.00" {
			t.Errorf("row %q: %q", lines[2+i], m[1:])
		}
	}
}

// TestToolSynth writes a random-weight model with bench --write and with
// bench synth, then runs and benchmarks it.
func TestToolSynth(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		file string
		desc string
	}{
		{"bench --write", []string{"bench", "--write", filepath.Join(dir, "q8.gguf"), "--shape", "stories260k", "--type", "q8_0"}, "q8.gguf", "llama Q8_0"},
		{"bench synth", []string{"bench", "synth", "--shape", "stories260k", "--type", "Q4_K", "--seed", "3", filepath.Join(dir, "q4k.gguf")}, "q4k.gguf", "llama Q4_K_M"},
		{"f16", []string{"bench", "synth", "--type", "f16", "--shape", "stories260k", "--write", filepath.Join(dir, "f16.gguf")}, "f16.gguf", "llama F16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, stderr, err := tool(t, nil, "", tt.args...); err != nil || !strings.Contains(stderr, "wrote") {
				t.Fatalf("%v, stderr %q", err, stderr)
			}
			p := filepath.Join(dir, tt.file)
			// The vocabulary has ChatML's tokens, so run chats unless --raw.
			var promptTokens [2]int
			for i, mode := range []string{"--raw", "--raw=false"} {
				out, stderr, err := tool(t, nil, "", "run", p, "hello", mode, "--max-tokens", "4", "--seed", "1", "--verbose")
				m := regexp.MustCompile(`prompt: (\d+) tokens`).FindStringSubmatch(stderr)
				if err != nil || out == "" || m == nil {
					t.Fatalf("run %s: %q, %q, %v", mode, out, stderr, err)
				}
				promptTokens[i], _ = strconv.Atoi(m[1])
			}
			if promptTokens[0] >= promptTokens[1] {
				t.Errorf("prompt tokens raw %d, chat %d: no chat template applied", promptTokens[0], promptTokens[1])
			}
			out, _, err := tool(t, nil, "", "bench", p, "-p", "8", "-n", "4", "-r", "1", "-t", "1")
			if err != nil || !strings.Contains(out, "| "+tt.desc+" ") {
				t.Fatalf("bench: %v\n%s", err, out)
			}
		})
	}
	if _, _, err := tool(t, nil, "", "bench", "--write", filepath.Join(dir, "x.gguf"), "--shape", "nope"); err == nil {
		t.Error("unknown shape accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "x.gguf")); err == nil {
		t.Error("a failed write left a file")
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
	err := Tool(context.Background(), "run", []string{path, "--temperature", "0", "--ctx-size", "512", "--threads", "1"},
		ToolIO{Out: out, Err: &stderr, In: strings.NewReader("Once upon a time\n/bye\n"), Interrupt: out.sigs})
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

func TestToolBenchJSONL(t *testing.T) {
	out, _, err := tool(t, nil, "", "bench", "-o", "jsonl", stories(t), "-p", "8", "-n", "4", "-r", "3", "-t", "1")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", out)
	}
	for i, want := range []struct {
		test          string
		nPrompt, nGen float64
	}{{"pp8", 8, 0}, {"tg4", 0, 4}} {
		var r map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &r); err != nil {
			t.Fatal(err)
		}
		samples, _ := r["samples_ts"].([]any)
		if r["test"] != want.test || r["n_prompt"] != want.nPrompt || r["n_gen"] != want.nGen || len(samples) != 3 ||
			r["avg_ts"].(float64) <= 0 || r["model_n_params"] != float64(292800) || r["n_threads"] != float64(1) {
			t.Errorf("line %d: %v", i, r)
		}
	}
	if _, _, err := tool(t, nil, "", "bench", "-o", "csv", stories(t)); err == nil {
		t.Error("unknown output format accepted")
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
