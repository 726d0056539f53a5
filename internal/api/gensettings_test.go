package api_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// A conversation's settings are sent with each of its replies; replaced
// by defaults, they are sent no more.
func TestConversationSettings(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.create(`{"settings":{"temperature":0.25,"top_p":0.5,"max_tokens":77}}`)
	base := "/api/conversations/" + c.ID
	sent := func() map[string]any {
		t.Helper()
		var body map[string]any
		if err := json.Unmarshal(e.up.LastRequest().Body, &body); err != nil {
			t.Fatal(err)
		}
		return body
	}
	e.call("POST", base+"/messages", `{"content":"hi","stream":false}`, 200, nil)
	if b := sent(); b["temperature"] != 0.25 || b["top_p"] != 0.5 || b["max_tokens"] != 77.0 {
		t.Fatalf("the model was sent %v", b)
	}
	resp, got := e.do("PATCH", base, `{"settings":{"temperature":1.5}}`)
	if resp.StatusCode != 200 || !strings.Contains(string(got), `"settings":{"temperature":1.5}`) {
		t.Fatalf("PATCH settings: %d %s", resp.StatusCode, got)
	}
	e.call("POST", base+"/regenerate", `{"stream":false}`, 200, nil)
	if b := sent(); b["temperature"] != 1.5 || b["top_p"] != nil || b["max_tokens"] != nil {
		t.Fatalf("after the change the model was sent %v", b)
	}
	e.call("PATCH", base, `{"title":"kept"}`, 200, nil)
	if s := e.get(c.ID).Settings; s.Temperature == nil || *s.Temperature != 1.5 {
		t.Fatalf("a rename changed the settings: %+v", s)
	}
	for _, bad := range []string{`{"settings":{"temperature":3}}`, `{"settings":{"top_p":0}}`, `{"settings":{"max_tokens":-5}}`, `{"settings":{"seed":1}}`} {
		resp, b := e.do("PATCH", base, bad)
		if resp.StatusCode != 400 {
			t.Errorf("PATCH %s: %d %s, want 400", bad, resp.StatusCode, b)
		}
	}
}
