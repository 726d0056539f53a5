package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/modelcli"
	"github.com/parley-chat/parley/internal/sharedtest"
)

func stories(t testing.TB) string { return sharedtest.Stories260K(t) }

// tool runs `parley bench` (or, to try a written model, `parley run`)
// with env, like main does.
func tool(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := map[string]func(context.Context, []string, cmdline.IO) error{"bench": Run, "run": modelcli.Run}[args[0]]
	var out, errw bytes.Buffer
	err = cmd(context.Background(), args[1:], cmdline.IO{Out: &out, Err: &errw, In: strings.NewReader(stdin),
		Env: func(k string) string { return env[k] }})
	return out.String(), errw.String(), err
}

func TestUsageErrors(t *testing.T) {
	if _, _, err := tool(t, map[string]string{"PARLEY_MODELS_DIR": t.TempDir()}, "", "bench"); !errors.Is(err, cmdline.ErrUsage) {
		t.Errorf("bench without a model: err = %v, want ErrUsage", err)
	}
}

var benchRowRE = regexp.MustCompile(`^\| stories260K\.gguf +\| llama (\S+) +\| +([\d.]+) MiB \| +([\d.]+) M \| Go CPU +\| +(\d) \| +(pp16|tg8) \| +([\d.]+) ± ([\d.]+) \| +[\d.]+ MiB \|$`)

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
			if err != nil || !strings.Contains(out, "| "+tt.file+" ") || !strings.Contains(out, "| "+tt.desc+" ") {
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
			r["avg_ts"].(float64) <= 0 || r["model_n_params"] != float64(292800) || r["n_threads"] != float64(1) ||
			r["use_mmap"] != false {
			t.Errorf("line %d: %v", i, r)
		}
	}
	if _, _, err := tool(t, nil, "", "bench", "-o", "csv", stories(t)); err == nil {
		t.Error("unknown output format accepted")
	}
	for _, kv := range []string{"f32", "q8_0"} {
		if out, _, err := tool(t, nil, "", "bench", "-o", "jsonl", "-p", "8", "-n", "4", "-r", "1", "-t", "1", "--kv-type", kv, stories(t)); err != nil || !strings.Contains(out, "avg_ts") {
			t.Errorf("--kv-type %s: %v\n%s", kv, err, out)
		}
	}
	if out, _, err := tool(t, nil, "", "bench", "-o", "jsonl", "-p", "0", "-n", "4", "-r", "1", "-t", "1", "--mmap", stories(t)); err != nil || !strings.Contains(out, `"use_mmap":true`) {
		t.Errorf("--mmap: %v\n%s", err, out)
	}
	if _, _, err := tool(t, nil, "", "bench", "--kv-type", "q4_0", stories(t)); err == nil || !strings.Contains(err.Error(), "--kv-type") {
		t.Errorf("--kv-type q4_0: %v", err)
	}
}

// TestToolBenchParallel: the concurrency mode reports one row per stream
// count, with aggregate and per-stream speeds and times to first token.
func TestToolBenchParallel(t *testing.T) {
	out, _, err := tool(t, nil, "", "bench", stories(t), "-p", "8", "-n", "8", "-r", "1", "-t", "2", "--parallel", "1,4")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	rowRE := regexp.MustCompile(`^\| stories260K\.gguf +\| llama F32 +\| +2 \| +(\d) \| +pp8\+tg8 \| +([\d.]+) \| +([\d.]+) \| +([\d.]+) \| +([\d.]+) \|$`)
	if len(lines) != 4 {
		t.Fatalf("table:\n%s", out)
	}
	for i, p := range []string{"1", "4"} {
		m := rowRE.FindStringSubmatch(lines[2+i])
		if m == nil || m[1] != p || m[2] == "0.00" || m[3] == "0.00" {
			t.Errorf("row %q (want %s streams)", lines[2+i], p)
		}
	}
	out, _, err = tool(t, nil, "", "bench", stories(t), "-p", "8", "-n", "4", "-r", "1", "-t", "1", "--parallel", "2", "-o", "jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Parallel  int     `json:"n_parallel"`
		Aggregate float64 `json:"aggregate_ts"`
		TTFT      float64 `json:"ttft_mean_ms"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Parallel != 2 || r.Aggregate <= 0 || r.TTFT <= 0 {
		t.Errorf("jsonl %q: %+v %v", out, r, err)
	}
	if _, _, err := tool(t, nil, "", "bench", stories(t), "--parallel", "0"); err == nil {
		t.Error("--parallel 0 accepted")
	}
}
