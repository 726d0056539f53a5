package inference_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/engine"
	"github.com/parley-chat/parley/internal/inference/builtin"
	"github.com/parley-chat/parley/internal/openai"
	"github.com/parley-chat/parley/internal/sharedtest"
)

// TestCachedTokensOnTheWire: over HTTP, the built-in engine's prefix cache
// shows as usage.prompt_tokens_details.cached_tokens, in a whole answer
// and in a stream's usage chunk, and the warm answer is the cold one.
func TestCachedTokensOnTheWire(t *testing.T) {
	g, err := builtin.Open(builtin.Config{ModelPath: sharedtest.Stories260K(t), Engine: engine.Options{Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	url := serviceOver(t, g)
	post := func(body string) *http.Response {
		t.Helper()
		resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return resp
	}
	const req = `{"prompt": "Once upon a time", "max_tokens": 12, "temperature": 0`
	var cold, warm openai.Completion
	for _, out := range []*openai.Completion{&cold, &warm} {
		if err := json.NewDecoder(post(req + `}`).Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	if cold.Usage == nil || cold.Usage.PromptTokensDetails != nil {
		t.Errorf("cold usage %+v", cold.Usage)
	}
	// Five prompt tokens; one must run again to give the next logits.
	if warm.Usage == nil || warm.Usage.PromptTokensDetails == nil || warm.Usage.PromptTokensDetails.CachedTokens != 4 {
		t.Errorf("warm usage %+v", warm.Usage)
	}
	if len(warm.Choices) != 1 || len(cold.Choices) != 1 || warm.Choices[0].Text != cold.Choices[0].Text {
		t.Errorf("warm %+v, cold %+v", warm.Choices, cold.Choices)
	}
	sc := bufio.NewScanner(post(req + `, "stream": true, "stream_options": {"include_usage": true}}`).Body)
	found := false
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok && strings.Contains(data, `"usage"`) {
			found = strings.Contains(data, `"prompt_tokens_details":{"cached_tokens":4}`)
		}
	}
	if !found {
		t.Error("the stream's usage chunk does not report 4 cached tokens")
	}
}
