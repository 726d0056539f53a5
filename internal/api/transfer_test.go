package api_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// A conversation exported as JSON imports again as an equal new one; as
// Markdown it reads as the chat; an OpenAI messages array imports too.
func TestExportImport(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.create(`{"title":"Trip","system_prompt":"Answer in French."}`)
	base := "/api/conversations/" + c.ID
	e.call("POST", base+"/messages", `{"content":"Bonjour","stream":false}`, 200, nil)
	e.call("POST", base+"/messages", `{"content":"Paris & Lyon?","stream":false}`, 200, nil)

	resp, b := e.do("GET", base+"/export?format=json", "")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), `filename="trip.json"`) {
		t.Fatalf("export json: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	var exp struct {
		Format       int    `json:"parley_export"`
		Title        string `json:"title"`
		SystemPrompt string `json:"system_prompt"`
		Messages     []struct{ Role, Content, Model string }
	}
	if err := json.Unmarshal(b, &exp); err != nil || exp.Format != 1 || exp.Title != "Trip" || exp.SystemPrompt != "Answer in French." ||
		len(exp.Messages) != 4 || exp.Messages[3].Content != "Paris & Lyon?" || exp.Messages[3].Model != "test-model" {
		t.Fatalf("export json: %s (%v)", b, err)
	}
	resp, md := e.do("GET", base+"/export?format=md", "")
	want := "# Trip\n\n**System prompt:**\n\n> Answer in French.\n\n## You\n\nBonjour\n\n## Assistant (test-model)\n\nBonjour\n\n## You\n\nParis & Lyon?\n\n## Assistant (test-model)\n\nParis & Lyon?\n"
	if resp.StatusCode != 200 || string(md) != want || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/markdown") {
		t.Fatalf("export md: %d %q\nwant %q", resp.StatusCode, md, want)
	}

	var got shown
	e.call("POST", "/api/conversations/import", string(b), 201, &got)
	if got.ID == c.ID || got.Title != "Trip" || got.SystemPrompt != "Answer in French." || len(got.Messages) != 4 ||
		got.Messages[1].Content != "Bonjour" || got.Messages[1].Model != "test-model" || got.Messages[1].Status != "complete" {
		t.Fatalf("imported %+v", got)
	}
	// An OpenAI messages array: leading system messages are the system
	// prompt, text parts are joined, the title comes from the question.
	e.call("POST", "/api/conversations/import", `[{"role":"developer","content":"Be brief."},
		{"role":"user","content":[{"type":"text","text":"What is "},{"type":"text","text":"Go?"}]},
		{"role":"assistant","content":"A language."}]`, 201, &got)
	if got.Title != "What is Go?" || got.SystemPrompt != "Be brief." || len(got.Messages) != 2 || got.Messages[0].Content != "What is Go?" {
		t.Fatalf("imported an OpenAI array as %+v", got)
	}
	// The model sees the imported history.
	e.call("POST", "/api/conversations/"+got.ID+"/messages", `{"content":"And Rust?","stream":false}`, 200, nil)
	if turns := e.up.LastRequest().Messages; len(turns) != 4 || turns[0].Content != "Be brief." || turns[2].Content != "A language." {
		t.Fatalf("the model saw %+v", turns)
	}
	e.call("POST", "/api/conversations/import", `{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.2}`, 201, &got)

	for _, bad := range []string{`[]`, `{"messages":[]}`, `"text"`, `[{"role":"tool","content":"x"}]`,
		`[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]`, `[{"role":"user","content":5}]`} {
		resp, b := e.do("POST", "/api/conversations/import", bad)
		if resp.StatusCode != 400 {
			t.Errorf("import %s: %d %s, want 400", bad, resp.StatusCode, b)
		}
	}
	resp, b = e.do("GET", base+"/export?format=pdf", "")
	if resp.StatusCode != 400 || errorBody(t, b).Code != "invalid_format" {
		t.Errorf("format=pdf: %d %s", resp.StatusCode, b)
	}
}

// Bob can neither export Alice's conversation nor import into her list.
func TestExportImportIsolation(t *testing.T) {
	_, alice, bob := twoUsers(t, envOptions{})
	c := alice.create(`{"title":"alice's secret"}`)
	alice.call("POST", "/api/conversations/"+c.ID+"/messages", `{"content":"confidential","stream":false}`, 200, nil)
	for _, f := range []string{"json", "md"} {
		resp, b := bob.do("GET", "/api/conversations/"+c.ID+"/export?format="+f, "")
		if resp.StatusCode != 404 || errorBody(t, b).Code != "conversation_not_found" || strings.Contains(string(b), "confidential") {
			t.Errorf("bob exports alice's as %s: %d %s", f, resp.StatusCode, b)
		}
	}
	var imported shown
	bob.call("POST", "/api/conversations/import", `[{"role":"user","content":"bob's own"}]`, 201, &imported)
	var p page
	alice.call("GET", "/api/conversations", "", 200, &p)
	if len(p.Data) != 1 || p.Data[0].ID != c.ID {
		t.Errorf("alice lists %+v after bob's import", p.Data)
	}
	resp, _ := alice.do("GET", "/api/conversations/"+imported.ID, "")
	if resp.StatusCode != 404 {
		t.Errorf("alice opens bob's import: %d", resp.StatusCode)
	}
	bob.call("GET", "/api/conversations", "", 200, &p)
	if len(p.Data) != 1 || p.Data[0].ID != imported.ID {
		t.Errorf("bob lists %+v", p.Data)
	}
}
