package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/conversation"
	"github.com/parley-chat/parley/internal/testupstream"
)

type page struct {
	Data       []chat.Conversation `json:"data"`
	NextCursor string              `json:"next_cursor"`
}

func TestConversationLifecycle(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.create(`{"title":"  Trip  ","system_prompt":"Answer in French.","model":"test-model"}`)
	if !chat.ValidID(c.ID) || c.Title != "Trip" || c.SystemPrompt != "Answer in French." || c.Model != "test-model" {
		t.Fatalf("created %+v", c)
	}
	empty := e.create("") // the body is optional
	if empty.Title != "" {
		t.Fatalf("created %+v", empty)
	}

	resp, b := e.do("GET", "/api/conversations/"+c.ID, "")
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"messages":[]`) || !strings.Contains(string(b), `"running":false`) {
		t.Fatalf("GET: %d %s", resp.StatusCode, b)
	}

	var renamed chat.Conversation
	e.call("PATCH", "/api/conversations/"+c.ID, `{"title":"Paris"}`, 200, &renamed)
	if renamed.Title != "Paris" || renamed.SystemPrompt != "Answer in French." {
		t.Fatalf("renamed %+v", renamed)
	}
	var prompted chat.Conversation
	e.call("PATCH", "/api/conversations/"+c.ID, `{"system_prompt":"Be terse."}`, 200, &prompted)
	if prompted.Title != "Paris" || prompted.SystemPrompt != "Be terse." {
		t.Fatalf("patched %+v", prompted)
	}

	// The system prompt reaches the model.
	e.call("POST", "/api/conversations/"+c.ID+"/messages", `{"content":"Bonjour","stream":false}`, 200, nil)
	turns := e.up.LastRequest().Messages
	if len(turns) != 2 || turns[0].Role != chat.RoleSystem || turns[0].Content != "Be terse." {
		t.Fatalf("model saw %+v", turns)
	}
	if got := e.get(c.ID); got.Title != "Paris" || len(got.Messages) != 2 {
		t.Fatalf("a preset title changed or messages missing: %+v", got)
	}

	resp, _ = e.do("DELETE", "/api/conversations/"+c.ID, "")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	resp, b = e.do("GET", "/api/conversations/"+c.ID, "")
	if resp.StatusCode != 404 || errorBody(t, b).Code != "conversation_not_found" {
		t.Fatalf("GET deleted: %d %s", resp.StatusCode, b)
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t, envOptions{api: api.Config{MaxBodyBytes: 2048}, svc: conversation.Config{MaxMessageBytes: 1024}})
	c := e.create(`{}`)
	base := "/api/conversations/" + c.ID
	unknown := "/api/conversations/" + chat.NewID()
	tests := []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/api/conversations", `{"title":`, 400},
		{"POST", "/api/conversations", `{"name":"x"}`, 400},
		{"POST", "/api/conversations", `{"title":"` + strings.Repeat("t", 201) + `"}`, 400},
		{"POST", "/api/conversations", `{"system_prompt":"` + strings.Repeat("s", 1025) + `"}`, 413},
		{"POST", "/api/conversations", `{"title":"` + strings.Repeat("t", 3000) + `"}`, 413},
		{"GET", "/api/conversations?limit=0", "", 400},
		{"GET", "/api/conversations?limit=201", "", 400},
		{"GET", "/api/conversations?limit=ten", "", 400},
		{"GET", "/api/conversations?limit=-1", "", 400},
		{"GET", "/api/conversations?cursor=garbage", "", 400},
		{"GET", "/api/conversations?cursor=" + strings.Repeat("A", 600), "", 400},
		{"GET", "/api/conversations?q=" + strings.Repeat("q", 1001), "", 400},
		{"GET", unknown, "", 404},
		{"GET", "/api/conversations/not-an-id", "", 404},
		{"PATCH", unknown, `{"title":"x"}`, 404},
		{"PATCH", base, `{"title":5}`, 400},
		{"PATCH", base, `{"colour":"red"}`, 400},
		{"DELETE", unknown, "", 404},
		{"DELETE", "/api/conversations/NOT-AN-ID", "", 404},
		{"POST", base + "/messages", `{"content":""}`, 400},
		{"POST", base + "/messages", `{"content":"hi","temperature":1}`, 400},
		{"POST", base + "/messages", `{"content":"hi"`, 400},
		{"POST", base + "/messages", `{"content":"` + strings.Repeat("x", 1500) + `"}`, 413},
		{"POST", base + "/messages", `{"content":"` + strings.Repeat("x", 3000) + `"}`, 413},
		{"POST", unknown + "/messages", `{"content":"hi"}`, 404},
		{"POST", "/api/conversations/x/messages", `{"content":"hi"}`, 404},
		{"POST", base + "/messages/" + chat.NewID() + "/edit", `{"content":"hi"}`, 404},
		{"POST", base + "/messages/bad/edit", `{"content":"hi"}`, 404},
		{"POST", base + "/regenerate", ``, 400}, // nothing to answer yet
		{"POST", base + "/regenerate", `{"stream":"yes"}`, 400},
		{"POST", unknown + "/regenerate", ``, 404},
		{"POST", base + "/continue", ``, 400}, // no reply to continue
		{"POST", base + "/continue", `{"stream":"yes"}`, 400},
		{"POST", unknown + "/continue", ``, 404},
		{"POST", unknown + "/undo", ``, 404},
		{"POST", unknown + "/clear", ``, 404},
		{"POST", unknown + "/stop", ``, 404},
		{"POST", "/api/conversations/bad/stop", ``, 404},
		{"GET", unknown + "/stream", ``, 404},
		{"GET", "/api/nothing", "", 404},
		{"PUT", base, `{}`, 405},
		{"GET", "/chat", "", 405},
		{"GET", "/v1/models", "", 404}, // no v1 handler given
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path[:min(len(tt.path), 60)], func(t *testing.T) {
			resp, b := e.do(tt.method, tt.path, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			errorBody(t, b)
		})
	}
}

func TestEditAssistantMessageRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.create(`{}`)
	e.call("POST", "/api/conversations/"+c.ID+"/messages", `{"content":"hi","stream":false}`, 200, nil)
	got := e.get(c.ID)
	resp, b := e.do("POST", "/api/conversations/"+c.ID+"/messages/"+got.Messages[1].ID+"/edit", `{"content":"x"}`)
	if resp.StatusCode != 400 {
		t.Fatalf("edit of an assistant message: %d %s", resp.StatusCode, b)
	}
	if after := e.get(c.ID); len(after.Messages) != 2 {
		t.Fatalf("refused edit changed history: %+v", after.Messages)
	}
}

func TestListPagination(t *testing.T) {
	e := newEnv(t, envOptions{})
	var ids []string
	for i := range 5 {
		ids = append(ids, e.create(fmt.Sprintf(`{"title":"c%d"}`, i)).ID)
	}
	// Activity moves a conversation to the front. Times are kept to the
	// millisecond, so let one pass: activity in the same millisecond as the
	// last creation would tie, and ties are broken by id.
	time.Sleep(2 * time.Millisecond)
	e.call("POST", "/api/conversations/"+ids[1]+"/messages", `{"content":"bump","stream":false}`, 200, nil)
	want := []string{ids[1], ids[4], ids[3], ids[2], ids[0]}

	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		var p page
		e.call("GET", "/api/conversations?limit=2&cursor="+url.QueryEscape(cursor), "", 200, &p)
		if len(p.Data) > 2 {
			t.Fatalf("page of %d with limit 2", len(p.Data))
		}
		for _, c := range p.Data {
			if c.Messages != nil {
				t.Fatalf("listing carries messages: %+v", c)
			}
			got = append(got, c.ID)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("listed\n%v\nwant\n%v", got, want)
	}
	resp, b := e.do("GET", "/api/conversations", "")
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"next_cursor":""`) {
		t.Fatalf("default page: %d %s", resp.StatusCode, b)
	}
}

func TestListSearch(t *testing.T) {
	e := newEnv(t, envOptions{})
	byTitle := e.create(`{"title":"Holiday in Lisbon"}`)
	byText := e.create(`{"title":"misc"}`)
	e.call("POST", "/api/conversations/"+byText.ID+"/messages", `{"content":"What about LISBON trams?","stream":false}`, 200, nil)
	other := e.create(`{"title":"Groceries"}`)
	percent := e.create(`{"title":"100% sure"}`)
	tests := []struct {
		q    string
		want []string
	}{
		{"lisbon", []string{byText.ID, byTitle.ID}},
		{"TRAMS", []string{byText.ID}},
		{"grocer", []string{other.ID}},
		{"%", []string{percent.ID}},
		{"nothing like this", nil},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			var p page
			e.call("GET", "/api/conversations?q="+url.QueryEscape(tt.q), "", 200, &p)
			var got []string
			for _, c := range p.Data {
				got = append(got, c.ID)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("q=%q found %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func TestV1IsMounted(t *testing.T) {
	v1 := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	})
	e := newEnv(t, envOptions{v1: v1})
	for _, path := range []string{"/v1/models", "/v1/chat/completions"} {
		var got struct{ Path string }
		e.call("GET", path, "", 200, &got)
		if got.Path != path {
			t.Fatalf("v1 handler saw %q, want %q", got.Path, path)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp, b := e.do("DELETE", "/api/conversations", "")
	if resp.StatusCode != 405 || !strings.Contains(resp.Header.Get("Allow"), "POST") {
		t.Fatalf("DELETE list: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if got := errorBody(t, b); got.Code != "method_not_allowed" {
		t.Fatalf("error %+v", got)
	}
}

func TestModels(t *testing.T) {
	e := newEnv(t, envOptions{upstream: []testupstream.Option{testupstream.WithModels("small", "large")}})
	var got struct{ Data []chat.ModelInfo }
	e.call("GET", "/api/models", "", 200, &got)
	if len(got.Data) != 2 || got.Data[0].ID != "small" || got.Data[1].ID != "large" {
		t.Fatalf("models %+v", got.Data)
	}
	e.up.Close()
	resp, b := e.do("GET", "/api/models", "")
	if resp.StatusCode != 503 || errorBody(t, b).Type != "service_unavailable" {
		t.Fatalf("models with the backend down: %d %s", resp.StatusCode, b)
	}
}
