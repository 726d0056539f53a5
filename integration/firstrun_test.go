package integration

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/sharedtest"
)

// TestFirstStartOffline is a newcomer's first start without internet:
// `parley serve` with no flags fails, naming the file to put where and
// leaving nothing behind; one `parley pull ./model.gguf` later the same
// command starts with that model and chats.
func TestFirstStartOffline(t *testing.T) {
	home := t.TempDir()
	modelsDir := filepath.Join(home, ".parley", "models") // the default, under HOME
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // nothing answers there: offline
	env := []string{"HOME=" + home, "PARLEY_HF_ENDPOINT=http://" + ln.Addr().String(), "PARLEY_MODELS_DIR=", "PARLEY_MODEL="}
	db := filepath.Join(t.TempDir(), "parley.db")

	first := &proc{t: t, name: "serve", addr: freeAddr(t), logs: &lockedBuffer{}, env: env, args: []string{"serve", "--database", db}}
	first.run()
	<-first.done
	logs := first.logs.String()
	for _, want := range []string{
		"save it as " + filepath.Join(modelsDir, "qwen2.5-0.5b-instruct-q4_k_m.gguf"),
		"/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q4_k_m.gguf",
		"parley pull ./path/to/model.gguf",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the offline start's output lacks %q", want)
		}
	}
	if first.cmd.ProcessState.ExitCode() == 0 || t.Failed() {
		t.Fatalf("exit %d, output:\n%s", first.cmd.ProcessState.ExitCode(), logs)
	}
	if entries, _ := os.ReadDir(modelsDir); len(entries) != 0 {
		t.Fatalf("the failed start left %v in the models directory", entries)
	}

	// The one extra command, run where the file is.
	work := t.TempDir()
	model, err := os.ReadFile(sharedtest.Stories260K(t))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(work, "stories260K.gguf"), model, 0o644)
	pull := exec.Command(binary, "pull", "./stories260K.gguf")
	pull.Dir, pull.Env = work, append(os.Environ(), env...)
	if out, err := pull.CombinedOutput(); err != nil {
		t.Fatalf("parley pull ./stories260K.gguf: %v\n%s", err, out)
	}

	srv := &proc{t: t, name: "serve", addr: freeAddr(t), logs: &lockedBuffer{}, env: env, args: first.args}
	srv.run()
	t.Cleanup(func() {
		srv.kill()
		if t.Failed() {
			t.Logf("--- serve logs ---\n%s", srv.logs.String())
		}
	})
	srv.waitHealthy(true)
	if !strings.Contains(srv.logs.String(), "using the only model in the models directory") {
		t.Error("serve did not log that it uses the only model there")
	}
	var reply struct {
		Response       string `json:"response"`
		ConversationID string `json:"conversation_id"`
	}
	if code := doJSON(t, "POST", srv.url()+"/chat", map[string]string{"message": "Once upon a time"}, &reply); code != 200 ||
		reply.Response == "" || reply.ConversationID == "" {
		t.Fatalf("POST /chat = %d %+v", code, reply)
	}
}
