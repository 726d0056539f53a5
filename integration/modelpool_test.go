package integration

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testupstream"
)

// TestModelPool runs two model processes behind one api. While one is
// killed (kill -9) every message still gets its reply, from the other: a
// request that fails before its first token is tried there. The api's
// /readyz shows the dead one down and the api stays ready; started again,
// it is back in rotation and gets requests. Each change is logged once.
func TestModelPool(t *testing.T) {
	upA := testupstream.New(t, testupstream.WithReply(testupstream.Scripted("from a")))
	upB := testupstream.New(t, testupstream.WithReply(testupstream.Scripted("from b")))
	a := start(t, "model-a", freeAddr(t), true, "model", "--backend", "openai", "--upstream-url", upA.URL)
	b := start(t, "model-b", freeAddr(t), true, "model", "--backend", "openai", "--upstream-url", upB.URL)
	api := start(t, "api", freeAddr(t), true, "api", "--model-url", a.url()+","+b.url(),
		"--database", filepath.Join(t.TempDir(), "parley.db"),
		"--model-health-interval", "100ms", "--model-backoff", "100ms", "--model-max-backoff", "400ms")

	replies := func(n int) map[string]int {
		t.Helper()
		got := map[string]int{}
		for range n {
			var out struct{ Response string }
			if code := doJSON(t, "POST", api.url()+"/chat", map[string]string{"message": "hi"}, &out); code != 200 {
				t.Fatalf("POST /chat: %d %+v", code, out)
			}
			got[out.Response]++
		}
		return got
	}
	type service struct{ URL, State string }
	pool := func() (int, []service) {
		t.Helper()
		resp, err := http.Get(api.url() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			ModelServices []service `json:"model_services"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.ModelServices) != 2 {
			t.Fatalf("/readyz: %+v %v", out, err)
		}
		return resp.StatusCode, out.ModelServices
	}
	await := func(what string, cond func([]service) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, svcs := pool(); cond(svcs) {
				return
			}
			if time.Now().After(deadline) {
				_, svcs := pool()
				t.Fatalf("%s: never happened; pool %+v", what, svcs)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	if got := replies(4); got["from a"] != 2 || got["from b"] != 2 {
		t.Fatalf("both up: %v", got)
	}
	a.kill()
	if got := replies(6); got["from b"] != 6 {
		t.Fatalf("with a killed: %v", got)
	}
	await("a shown down", func(s []service) bool { return s[0].State == "down" && s[1].State == "up" })
	if code, _ := pool(); code != 200 {
		t.Fatalf("api /readyz %d with one of two model services down", code)
	}
	a.restart(true)
	await("a back up", func(s []service) bool { return s[0].State == "up" })
	if got := replies(4); got["from a"] == 0 {
		t.Fatalf("a back in rotation got nothing: %v", got)
	}
	logs := api.logs.String()
	if down, back := strings.Count(logs, "model service is down"), strings.Count(logs, "model service is back"); down != 1 || back != 1 {
		t.Fatalf("api logged down %d, back %d times; want once each", down, back)
	}
}
