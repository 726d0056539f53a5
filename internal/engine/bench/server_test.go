package bench

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/parley-chat/parley/internal/engine"
	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/inference"
	"github.com/parley-chat/parley/internal/inference/builtin"
)

// TestToolBenchURL: --url sends the concurrency mode's streams to a
// running model service (here the real one, on 127.0.0.1, over
// stories260K) as streamed completions that ignore the end of text, and
// reports them as the in-process mode does; a refusal is an error that
// says what the server answered.
func TestToolBenchURL(t *testing.T) {
	g, err := builtin.Open(builtin.Config{ModelPath: stories(t), Engine: engine.Options{ContextLength: 256, Threads: 1, Parallel: 2}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	log := slog.New(slog.DiscardHandler)
	service := httpx.Middleware(log, inference.NewServer(g, inference.Config{}, log))
	var requests, ignoringEOS atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			IgnoreEOS bool `json:"ignore_eos"`
			Stream    bool `json:"stream"`
		}
		json.Unmarshal(body, &req)
		requests.Add(1)
		if req.IgnoreEOS && req.Stream {
			ignoringEOS.Add(1)
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		service.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	out, _, err := tool(t, nil, "", "bench", "--url", srv.URL, "stories260K", "-p", "6", "-n", "5", "-r", "1", "--parallel", "1,2", "-o", "jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a line per stream count:\n%s", out)
	}
	for i, line := range lines {
		var r struct {
			Parallel  int     `json:"n_parallel"`
			Aggregate float64 `json:"aggregate_ts"`
			Tokens    int     `json:"n_tokens"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Parallel != i+1 || r.Aggregate <= 0 || r.Tokens != 5*(i+1) {
			t.Errorf("line %q: %+v %v (want %d streams of 5 tokens)", line, r, err, i+1)
		}
	}
	if n, ig := requests.Load(), ignoringEOS.Load(); n != 4 || ig != n { // warm-up, 1, 2
		t.Errorf("%d requests, %d streamed with ignore_eos; want 4 and 4", n, ig)
	}

	_, _, err = tool(t, nil, "", "bench", "--url", srv.URL, "no-such-model", "-n", "2", "-r", "1", "--parallel", "1")
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("an unknown model: %v, want the server's 404", err)
	}
	if _, _, err := tool(t, nil, "", "bench", "--url", srv.URL, "stories260K"); err == nil {
		t.Error("--url without --parallel accepted")
	}

	// The second turn of a chat starts after the first's cached prompt.
	out, _, err = tool(t, nil, "", "bench", "--url", srv.URL, "--second-turn", "stories260K", "-p", "40", "-n", "6", "-r", "2")
	if err != nil {
		t.Fatal(err)
	}
	rowRE := regexp.MustCompile(`^\| http://127\.0\.0\.1:\d+ \| stories260K \| (\d+) \| [\d.]+ \| [\d.]+ \| [\d.]+ \| (\d+) \|$`)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a row per repetition:\n%s", out)
	}
	for _, line := range lines[2:] {
		m := rowRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("row %q", line)
		}
		if prompt, _ := strconv.Atoi(m[1]); prompt < 40 || m[2] != m[1] {
			t.Errorf("row %q: want the first turn's %s prompt tokens cached in the second", line, m[1])
		}
	}
	if _, _, err := tool(t, nil, "", "bench", "--second-turn", "stories260K"); err == nil {
		t.Error("--second-turn without --url accepted")
	}
}
