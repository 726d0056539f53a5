package modelcli

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
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/sharedtest"
)

func stories(t testing.TB) string {
	return filepath.Join(sharedtest.Dir(t), "models", "stories260K.gguf")
}

// tool runs `parley pull|models|run` with env and stdin, like main does.
func tool(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := map[string]func(context.Context, []string, cmdline.IO) error{"pull": Pull, "models": Models, "run": Run}[args[0]]
	var out, errw bytes.Buffer
	err = cmd(context.Background(), args[1:], cmdline.IO{Out: &out, Err: &errw, In: strings.NewReader(stdin),
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

func TestToolUsageErrors(t *testing.T) {
	tests := [][]string{
		{"run"},
		{"run", "a", "b", "c"},
		{"run", "--no-such-flag", "x"},
		{"models", "extra"},
		{"pull"},
	}
	for _, args := range tests {
		if _, _, err := tool(t, map[string]string{"PARLEY_MODELS_DIR": t.TempDir()}, "", args...); !errors.Is(err, cmdline.ErrUsage) {
			t.Errorf("%q: err = %v, want ErrUsage", args, err)
		}
	}
	if _, _, err := tool(t, map[string]string{"PARLEY_MODELS_DIR": t.TempDir()}, "", "run", "nothing-here"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("unknown model: %v", err)
	}
}

// `parley pull ./file.gguf` imports a model from this machine, after
// checking that it is one; progress off a terminal is plain lines.
func TestToolPullImportsLocalFile(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"PARLEY_MODELS_DIR": dir, "PARLEY_HF_ENDPOINT": "http://127.0.0.1:1"}
	out, stderr, err := tool(t, env, "", "pull", stories(t))
	path := filepath.Join(dir, "stories260K.gguf")
	if err != nil || out != "stories260K\t"+path+"\n" {
		t.Fatalf("pull: %q, %v", out, err)
	}
	if !strings.Contains(stderr, "importing stories260K.gguf: 1.1 MiB in") || strings.Contains(stderr, "\r") {
		t.Errorf("progress %q: want plain lines", stderr)
	}
	if out, _, err := tool(t, env, "", "models"); err != nil || !strings.Contains(out, "270cba1bd510") {
		t.Errorf("models after import: %q, %v", out, err)
	}

	notModel := filepath.Join(t.TempDir(), "notes.gguf")
	os.WriteFile(notModel, []byte("just some text, not a model"), 0o644)
	empty := t.TempDir()
	for _, tt := range []struct{ ref, want string }{
		{notModel, "not a GGUF model file"},
		{"./no-such-file.gguf", "no such file"},
		{empty, "is a directory"},
	} {
		_, _, err := tool(t, map[string]string{"PARLEY_MODELS_DIR": empty}, "", "pull", tt.ref)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("pull %s: %v, want %q", tt.ref, err, tt.want)
		}
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("failed imports left %v", entries)
	}
}

// `parley run nope hi` says what exists and how to get a model, and does
// not suggest `parley pull nope`, which cannot work.
func TestToolRunUnknownModel(t *testing.T) {
	_, _, err := tool(t, map[string]string{"PARLEY_MODELS_DIR": t.TempDir()}, "", "run", "nope", "hi")
	if err == nil || strings.Contains(err.Error(), "pull nope") || !strings.Contains(err.Error(), "parley pull ./file.gguf") {
		t.Fatalf("err = %v", err)
	}
}

// Offline, pull says how to get the file onto this machine instead.
func TestToolPullOfflineSaysHowToImport(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	dir := t.TempDir()
	_, _, err = tool(t, map[string]string{"PARLEY_MODELS_DIR": dir, "PARLEY_HF_ENDPOINT": "http://" + ln.Addr().String()}, "", "pull", "smollm2-135m")
	if err == nil || !strings.Contains(err.Error(), "parley pull ./smollm2-135m-instruct-q8_0.gguf") {
		t.Fatalf("err = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("offline pull left %v", entries)
	}
}
