package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/sharedtest"
)

// The shell examples of README.md and docs/*.md are run against a real
// `parley serve`, so that they cannot drift from what Parley does. Every
// ```sh block runs unless the line just before it says why not (the test
// logs that reason):
//
//	<!-- not run: starts docker containers -->
//
// A block that needs a server started with other flags says which; the
// blocks naming the same flags share one such server, in document order:
//
//	<!-- run against: parley serve --auth password -->
//
// The blocks run in bash (-e, pipefail) in an empty directory, with the
// parley binary on PATH and a curl that reaches the test server for
// localhost:8080, fails on an HTTP error status, and refuses a body sent
// without Content-Type: application/json. A `# {"key": ...}` comment in a
// block is the shape of a JSON answer: some line of the block's output
// must be an object with exactly those keys.

// docFiles are the documents whose examples are run.
func docFiles(t *testing.T) []string {
	files, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"../README.md"}, files...)
}

// example is a fenced shell block.
type example struct {
	file   string
	line   int // of the opening fence
	script string
	skip   string // the reason it is not run, if any
	// flags are the flags of the server it runs against beyond the
	// default one's ("" for that one).
	flags string
}

func (e example) name() string {
	return fmt.Sprintf("%s:%d", strings.TrimPrefix(e.file, "../"), e.line)
}

var (
	fenceRE  = regexp.MustCompile("^```(sh|bash|shell)\\s*$")
	markerRE = regexp.MustCompile(`^<!--\s*not run:\s*(.*?)\s*-->$`)
	serverRE = regexp.MustCompile(`^<!--\s*run against: parley serve\s*(.*?)\s*-->$`)
)

// parseExamples finds the shell blocks of a markdown file and the markers
// before them. A marker not followed by a shell block is an error: it
// would be a stale note.
func parseExamples(file string) ([]example, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []example
	var cur *example // the shell block being read
	inFence := false // inside any fenced block
	var marker, flags string
	markerLine := 0
	for i, line := range strings.Split(string(data), "\n") {
		n, trimmed := i+1, strings.TrimSpace(line)
		switch {
		case inFence && trimmed == "```":
			if cur != nil {
				out = append(out, *cur)
			}
			inFence, cur = false, nil
		case inFence:
			if cur != nil {
				cur.script += line + "\n"
			}
		case strings.HasPrefix(trimmed, "```"):
			inFence = true
			if fenceRE.MatchString(trimmed) {
				cur = &example{file: file, line: n, skip: marker, flags: flags}
			} else if marker != "" || flags != "" {
				return nil, fmt.Errorf("%s:%d: a marker before a %q block, which is never run anyway", file, markerLine, trimmed)
			}
			marker, flags = "", ""
		case markerRE.MatchString(trimmed):
			marker, markerLine = markerRE.FindStringSubmatch(trimmed)[1], n
			if marker == "" {
				return nil, fmt.Errorf("%s:%d: a not-run marker must say why", file, n)
			}
		case serverRE.MatchString(trimmed):
			flags, markerLine = serverRE.FindStringSubmatch(trimmed)[1], n
			if flags == "" {
				return nil, fmt.Errorf("%s:%d: a run-against marker must name the flags", file, n)
			}
		case trimmed != "" && (marker != "" || flags != ""):
			return nil, fmt.Errorf("%s:%d: the marker is not right before a shell block", file, markerLine)
		}
	}
	if inFence {
		return nil, fmt.Errorf("%s: a code block is not closed", file)
	}
	return out, nil
}

func TestDocsExamples(t *testing.T) {
	var examples []example
	for _, f := range docFiles(t) {
		ex, err := parseExamples(f)
		if err != nil {
			t.Fatal(err)
		}
		examples = append(examples, ex...)
	}

	// A server as the README starts it, with stories260K saved under the
	// default model's file name, so that the examples naming that model
	// work; --max-tokens keeps its stories short.
	modelsDir := t.TempDir()
	model, err := os.ReadFile(sharedtest.Stories260K(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(modelsDir, "qwen2.5-0.5b-instruct-q4_k_m.gguf"), model, 0o644); err != nil {
		t.Fatal(err)
	}
	serve := func(flags ...string) []string {
		srv := start(t, "serve", freeAddr(t), true, append([]string{"serve", "--models-dir", modelsDir,
			"--database", filepath.Join(t.TempDir(), "parley.db"), "--max-tokens", "64"}, flags...)...)
		return exampleEnv(t, srv.addr, modelsDir)
	}
	envs := map[string][]string{"": serve()}

	ran := 0
	for _, ex := range examples {
		if ex.skip != "" {
			// Not a subtest that skips: nothing is missing, the block is
			// not meant to run here.
			t.Logf("%s: not run: %s", ex.name(), ex.skip)
			continue
		}
		ran++
		env, ok := envs[ex.flags]
		if !ok {
			env = serve(strings.Fields(ex.flags)...)
			envs[ex.flags] = env
		}
		t.Run(ex.name(), func(t *testing.T) {
			for _, tool := range []string{"curl", "jq"} {
				if regexp.MustCompile(`\b` + tool + `\b`).MatchString(ex.script) {
					if _, err := exec.LookPath(tool); err != nil {
						sharedtest.Missing(t, "the example needs %s, which is not installed (.ci/run installs it)", tool)
					}
				}
			}
			runExample(t, ex, env)
		})
	}
	if ran == 0 {
		t.Fatal("no example ran: the docs have no runnable shell block, or the parser missed them")
	}
}

// exampleEnv is the environment of the examples: parley and the curl
// wrapper on PATH, and nothing that reaches the internet or the user's
// own models.
func exampleEnv(t *testing.T, addr, modelsDir string) []string {
	bin := t.TempDir()
	realCurl, err := exec.LookPath("curl")
	if err == nil {
		wrapper := `#!/bin/sh
body=; json=
for a in "$@"; do
	case "$a" in
	-d|-d?*|--data|--data-raw|--data-binary|--data-ascii|--data-urlencode) body=1 ;;
	--json) body=1; json=1 ;;
	[Cc]ontent-[Tt]ype:*application/json*) json=1 ;;
	esac
done
if [ -n "$body" ] && [ -z "$json" ]; then
	echo "docs example: curl sends a body without -H 'Content-Type: application/json'" >&2
	exit 97
fi
exec ` + realCurl + ` --fail-with-body --show-error --max-time 60 \
	--connect-to localhost:8080:` + addr + ` --connect-to 127.0.0.1:8080:` + addr + ` "$@"
`
		if err := os.WriteFile(filepath.Join(bin, "curl"), []byte(wrapper), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(binary, filepath.Join(bin, "parley")); err != nil {
		t.Fatal(err)
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "PARLEY_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "PATH=")
	})
	return append(env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+t.TempDir(),
		"PARLEY_MODELS_DIR="+modelsDir, "PARLEY_HF_ENDPOINT=http://127.0.0.1:1")
}

func runExample(t *testing.T, ex example, env []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", ex.script)
	cmd.Dir, cmd.Env = t.TempDir(), env
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n--- example ---\n%s--- stdout ---\n%s\n--- stderr ---\n%s", ex.name(), err, ex.script, stdout.String(), stderr.String())
	}
	for _, shape := range answerShapes(t, ex) {
		if !hasObjectWithKeys(stdout.String(), shape) {
			t.Errorf("%s: no answer of the documented shape %v in the output:\n%s", ex.name(), shape, stdout.String())
		}
	}
}

// answerShapes are the key sets of the `# {...}` comments in a block.
func answerShapes(t *testing.T, ex example) [][]string {
	var shapes [][]string
	for _, line := range strings.Split(ex.script, "\n") {
		doc, ok := strings.CutPrefix(strings.TrimSpace(line), "# {")
		if !ok {
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte("{"+doc), &obj); err != nil {
			t.Fatalf("%s: the documented answer %q is not JSON: %v", ex.name(), line, err)
		}
		shapes = append(shapes, slices.Sorted(maps.Keys(obj)))
	}
	return shapes
}

// hasObjectWithKeys reports whether some JSON object in out (answers of
// several commands may run together on one line) has exactly keys.
func hasObjectWithKeys(out string, keys []string) bool {
	for i := range len(out) {
		if out[i] != '{' {
			continue
		}
		var obj map[string]any
		if json.NewDecoder(strings.NewReader(out[i:])).Decode(&obj) == nil && slices.Equal(slices.Sorted(maps.Keys(obj)), keys) {
			return true
		}
	}
	return false
}

// The parser finds the shell blocks and their markers and refuses markers
// that would be silently ignored.
func TestParseExamples(t *testing.T) {
	write := func(text string) string {
		p := filepath.Join(t.TempDir(), "doc.md")
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	ex, err := parseExamples(write("# Doc\n\n```sh\ncurl a\n```\n```json\n<!-- not run: inside a block, just text -->\n```\n" +
		"<!-- not run: needs docker -->\n```bash\ndocker ps\n```\n\n```\nplain\n```\n" +
		"<!-- run against: parley serve --auth password -->\n```sh\ncurl b\n```\n"))
	if err != nil || len(ex) != 3 || ex[0].script != "curl a\n" || ex[0].skip != "" || ex[1].skip != "needs docker" || ex[1].line != 10 ||
		ex[0].flags != "" || ex[2].flags != "--auth password" || ex[2].skip != "" {
		t.Fatalf("examples %+v, %v", ex, err)
	}
	for _, bad := range []string{
		"<!-- not run: why -->\nsome text\n```sh\nx\n```\n",
		"<!-- not run: why -->\n```json\n{}\n```\n",
		"<!-- not run: -->\n```sh\nx\n```\n",
		"<!-- run against: parley serve -->\n```sh\nx\n```\n",
		"<!-- run against: parley serve --auth password -->\ntext\n```sh\nx\n```\n",
		"```sh\nx\n",
	} {
		if _, err := parseExamples(write(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
