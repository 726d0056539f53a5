package inference_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/inference"
	"github.com/parley-chat/parley/internal/testupstream"
)

// A request that fails before its first token is tried on the next model
// service, on both paths; the client sees only the answer that worked.
// The backends here send their headers and the role announcement before
// the first token, as vLLM does, so the /v1 pass-through must hold those
// back until a token shows the stream is good.
func TestPoolRetriesBeforeTheFirstToken(t *testing.T) {
	faults := []struct {
		name  string
		opts  testupstream.Options
		whole bool // the fault strikes a non-streamed answer too
	}{
		{"refused with 500", testupstream.Options{Status: 500}, true},
		{"broken off after the role", testupstream.Options{CloseMidStream: true}, false},
		{"error event before a token", testupstream.Options{StreamError: "out of memory"}, false},
		{"ended before a token", testupstream.Options{EndEarly: true}, false},
	}
	const streamBody = `{"model":"test-model","messages":[{"role":"user","content":"x"}],"stream":true}`
	for _, fault := range faults {
		t.Run(fault.name, func(t *testing.T) {
			// A fresh pool for each request: the first try goes to a.
			setup := func(t *testing.T) (a, b *testupstream.Server, r *inference.Router, v1 string) {
				opts := fault.opts
				opts.Reply = testupstream.Scripted("from a")
				a = testupstream.New(t, opts)
				b = testupstream.New(t, testupstream.WithReply(testupstream.Scripted("from b")))
				r = pool(t, inference.RouterConfig{}, nil, a.URL, b.URL)
				srv := httptest.NewServer(inference.NewServer(r, inference.Config{}, nil))
				t.Cleanup(srv.Close)
				return a, b, r, srv.URL + "/v1/chat/completions"
			}
			tried := func(t *testing.T, a *testupstream.Server) {
				t.Helper()
				if st := a.Stats(); st.Requests+st.Refused != 1 {
					t.Fatalf("the failing service got %+v, want one request", st)
				}
			}
			t.Run("generate", func(t *testing.T) {
				a, _, r, _ := setup(t)
				if text, _, err := ask(t, r, testupstream.DefaultModel, "x"); err != nil || text != "from b" {
					t.Fatalf("got %q %v", text, err)
				}
				tried(t, a)
			})
			t.Run("v1 stream", func(t *testing.T) {
				a, _, _, v1 := setup(t)
				status, got := rawPost(t, v1, streamBody)
				if status != 200 || streamText(t, got) != "from b" || !strings.HasSuffix(got, "data: [DONE]\n\n") {
					t.Fatalf("got %d %s", status, got)
				}
				if strings.Count(got, `"role":"assistant"`) != 1 {
					t.Fatalf("the failed try's role chunk reached the client too: %s", got)
				}
				tried(t, a)
			})
			if fault.whole {
				t.Run("v1 whole", func(t *testing.T) {
					a, _, _, v1 := setup(t)
					status, got := rawPost(t, v1, `{"model":"test-model","messages":[{"role":"user","content":"x"}]}`)
					if status != 200 || !strings.Contains(got, `"content":"from b"`) {
						t.Fatalf("got %d %s", status, got)
					}
					tried(t, a)
				})
			}
		})
	}
}

// After the first token no other service is tried, on the /v1 path too:
// the client has the token, and the failure is told in the stream.
func TestPoolNoRetryAfterTheFirstToken(t *testing.T) {
	a := testupstream.New(t, testupstream.Options{CloseMidStream: true, FaultAfter: 1, Reply: testupstream.Scripted("from a")})
	b := testupstream.New(t)
	r := pool(t, inference.RouterConfig{}, nil, a.URL, b.URL)
	srv := httptest.NewServer(inference.NewServer(r, inference.Config{}, nil))
	t.Cleanup(srv.Close)
	status, got := rawPost(t, srv.URL+"/v1/chat/completions", `{"model":"test-model","messages":[{"role":"user","content":"x"}],"stream":true}`)
	if status != 200 || !strings.Contains(got, `"content":"from"`) || !strings.Contains(got, `"error"`) || strings.Contains(got, "[DONE]") {
		t.Fatalf("got %d %s", status, got)
	}
	if n := b.Stats().Requests; n != 0 {
		t.Fatalf("retried on another service after the first token (%d requests)", n)
	}
}
