package api_test

import (
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/testupstream"
)

// Retry keeps the earlier reply as version 1; choosing it shows it again,
// and the model is sent the branch shown, not the newest one.
func TestReplyVersions(t *testing.T) {
	var n atomic.Int32
	e := newEnv(t, envOptions{upstream: []testupstream.Option{testupstream.WithReply(func([]chat.Turn) string {
		return fmt.Sprintf("answer %d", n.Add(1))
	})}})
	c := e.create(`{}`)
	base := "/api/conversations/" + c.ID
	e.call("POST", base+"/messages", `{"content":"q1","stream":false}`, 200, nil)
	var regen struct {
		Assistant chat.Message `json:"assistant_message"`
	}
	e.call("POST", base+"/regenerate", `{"stream":false}`, 200, &regen)
	if regen.Assistant.Content != "answer 2" || regen.Assistant.Version != 2 || regen.Assistant.Versions != 2 {
		t.Fatalf("regenerated %+v", regen.Assistant)
	}
	contents := func(ms []chat.Message) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Content)
		}
		return out
	}
	got := e.get(c.ID)
	if !slices.Equal(contents(got.Messages), []string{"q1", "answer 2"}) || got.Messages[1].Version != 2 {
		t.Fatalf("after retry: %+v", got.Messages)
	}
	var shown shown
	e.call("POST", base+"/messages/"+got.Messages[1].ID+"/versions", `{"version":1}`, 200, &shown)
	if !slices.Equal(contents(shown.Messages), []string{"q1", "answer 1"}) || shown.Messages[1].Version != 1 || shown.Messages[1].Versions != 2 {
		t.Fatalf("version 1 shows %+v", shown.Messages)
	}
	// The model sees the chosen branch.
	e.call("POST", base+"/messages", `{"content":"q2","stream":false}`, 200, nil)
	turns := e.up.LastRequest().Messages
	if len(turns) != 3 || turns[1].Content != "answer 1" {
		t.Fatalf("the model was sent %+v, want the chosen version 1", turns)
	}
	// Edit keeps the first question with all that followed it.
	q1 := e.get(c.ID).Messages[0].ID
	e.call("POST", base+"/messages/"+q1+"/edit", `{"content":"q1 again","stream":false}`, 200, nil)
	if got := e.get(c.ID); !slices.Equal(contents(got.Messages), []string{"q1 again", "answer 4"}) || got.Messages[0].Versions != 2 {
		t.Fatalf("after edit: %+v", got.Messages)
	}
	e.call("POST", base+"/messages/"+q1+"/versions", `{"version":1}`, 200, &shown)
	if !slices.Equal(contents(shown.Messages), []string{"q1", "answer 1", "q2", "answer 3"}) {
		t.Fatalf("the first question again shows %+v", contents(shown.Messages))
	}

	resp, b := e.do("POST", base+"/messages/"+q1+"/versions", `{"version":3}`)
	wantError(t, "version 3 of 2", resp, b, 400, "invalid_request_error")
	if errorBody(t, b).Code != chat.CodeNoSuchVersion {
		t.Errorf("version 3 of 2: %s", b)
	}
	resp, b = e.do("POST", base+"/messages/"+chat.NewID()+"/versions", `{"version":1}`)
	if resp.StatusCode != 404 || errorBody(t, b).Code != "message_not_found" {
		t.Errorf("an unknown message: %d %s", resp.StatusCode, b)
	}
}
