package openai_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/openai"
	"github.com/parley-chat/parley/internal/testupstream"
)

// A server without /v1/tokenize gets an estimate, from the window it
// lists, and is not asked again for a while.
func TestCountTokensEstimatesWithoutEndpoint(t *testing.T) {
	up := testupstream.New(t, testupstream.Options{ContextLength: 8192, Models: []string{"m1", "m2"}})
	target, _ := url.Parse(up.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/tokenize" {
			asked.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c := openai.NewClient(srv.URL, "", nil)
	req := chat.GenerateRequest{Model: "m2", Messages: userTurns("how long is this prompt?")}
	for range 2 {
		tc, err := c.CountTokens(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if want := chat.EstimateTokens(req); tc != (chat.TokenCount{Model: "m2", Tokens: want, ContextLength: 8192}) {
			t.Errorf("count %+v, want the estimate %d in m2's window", tc, want)
		}
	}
	if n := asked.Load(); n != 1 {
		t.Errorf("/v1/tokenize asked %d times, want once", n)
	}
	// With no model named, the default one's.
	if tc, err := c.CountTokens(t.Context(), chat.GenerateRequest{Prompt: "hi"}); err != nil || tc.Model != "m1" {
		t.Errorf("count %+v (%v)", tc, err)
	}
}

// Servers say "your prompt is too long for the context" in their own
// ways; all become CodeContextLength, so the api sends less and retries.
func TestContextLengthErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       bool
	}{ // parley: another Parley service, which says it with the code
		{"openai", `{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}`, true},
		{"vllm", `{"object":"error","message":"This model's maximum context length is 2048 tokens. However, you requested 2100 tokens","type":"BadRequestError","code":400}`, true},
		{"llama.cpp", `{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error"}}`, true},
		{"parley", `{"error":{"message":"the prompt is 2060 tokens long; the model's context window is 2048","type":"invalid_request_error","code":"context_length_exceeded"}}`, true},
		{"other", `{"error":{"message":"temperature must be between 0 and 2","type":"invalid_request_error"}}`, false},
	} {
		err := openai.StatusError(http.StatusBadRequest, []byte(tc.body), "m", tc.name == "parley")
		if got := chat.CodeOf(err) == chat.CodeContextLength; got != tc.want || chat.KindOf(err) != chat.KindInvalid {
			t.Errorf("%s: %v (code %q)", tc.name, err, chat.CodeOf(err))
		}
	}
}
