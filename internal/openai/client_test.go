package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/openai"
	"github.com/parley-chat/parley/internal/testupstream"
)

func userTurns(text string) []chat.Turn {
	return []chat.Turn{{Role: chat.RoleSystem, Content: "sys"}, {Role: chat.RoleUser, Content: text}}
}

func generate(ctx context.Context, g chat.Generator, req chat.GenerateRequest) (string, chat.Generation, error) {
	var b strings.Builder
	gen, err := g.Generate(ctx, req, func(d chat.Delta) error {
		if d.Content == "" {
			return errors.New("empty delta emitted")
		}
		b.WriteString(d.Content)
		return nil
	})
	return b.String(), gen, err
}

func TestClientStreams(t *testing.T) {
	const msg = "the quick brown fox jumps"
	tests := []struct {
		name       string
		opts       testupstream.Options
		req        chat.GenerateRequest
		wantText   string
		wantFinish string
		wantUsage  bool
	}{
		{name: "well behaved", wantText: msg, wantFinish: "stop", wantUsage: true},
		{name: "role repeated in every delta", opts: testupstream.Options{RepeatRole: true}, wantText: msg, wantFinish: "stop", wantUsage: true},
		{name: "null content chunks", opts: testupstream.Options{NullContent: true}, wantText: msg, wantFinish: "stop", wantUsage: true},
		{name: "usage in the finish chunk", opts: testupstream.Options{UsageInFinishChunk: true}, wantText: msg, wantFinish: "stop", wantUsage: true},
		{name: "finish chunk but no [DONE]", opts: testupstream.Options{NoDone: true}, wantText: msg, wantFinish: "stop", wantUsage: true},
		{name: "JSON answer to a stream request", opts: testupstream.Options{JSONForStream: true}, wantText: msg, wantFinish: "stop", wantUsage: true},
		{name: "max tokens", req: chat.GenerateRequest{Params: chat.Params{MaxTokens: 2}}, wantText: "the quick", wantFinish: "length", wantUsage: true},
		{name: "legacy prompt", req: chat.GenerateRequest{Prompt: "raw prompt here"}, wantText: "raw prompt here", wantFinish: "stop", wantUsage: true},
		{name: "scripted reply with delay", opts: testupstream.Options{Reply: testupstream.Scripted("a b c"), TokenDelay: time.Millisecond},
			wantText: "a b c", wantFinish: "stop", wantUsage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := testupstream.New(t, tt.opts)
			c := openai.NewClient(up.URL, "", nil)
			req := tt.req
			if req.Prompt == "" {
				req.Messages = userTurns(msg)
			}
			text, gen, err := generate(t.Context(), c, req)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if text != tt.wantText || gen.FinishReason != tt.wantFinish {
				t.Fatalf("got %q finish %q, want %q finish %q", text, gen.FinishReason, tt.wantText, tt.wantFinish)
			}
			if gen.Model != testupstream.DefaultModel {
				t.Errorf("model = %q", gen.Model)
			}
			n := len(testupstream.Tokens(tt.wantText))
			if tt.wantUsage && (gen.Usage.CompletionTokens != n || gen.Usage.PromptTokens == 0) {
				t.Errorf("usage = %+v, want %d completion tokens", gen.Usage, n)
			}
			wantPath := "/v1/chat/completions"
			if req.Prompt != "" {
				wantPath = "/v1/completions"
			}
			if p := up.LastRequest().Path; p != wantPath {
				t.Errorf("path = %s, want %s", p, wantPath)
			}
		})
	}
}

func TestClientFaults(t *testing.T) {
	const msg = "one two three four five"
	tests := []struct {
		name     string
		opts     testupstream.Options
		key      string
		model    string
		wantKind chat.Kind
		wantText string
		wantMsg  string
		notMsg   string
	}{
		{name: "connection closed mid-stream", opts: testupstream.Options{CloseMidStream: true, FaultAfter: 2},
			wantKind: chat.KindUpstream, wantText: "one two"},
		{name: "clean end without finish or [DONE]", opts: testupstream.Options{EndEarly: true, FaultAfter: 3},
			wantKind: chat.KindUpstream, wantText: "one two three"},
		{name: "error object inside the stream", opts: testupstream.Options{StreamError: "CUDA out of memory", FaultAfter: 1},
			wantKind: chat.KindUpstream, wantText: "one", wantMsg: "CUDA out of memory"},
		{name: "wrong API key", opts: testupstream.Options{APIKey: "sk-right", EchoAuthorization: true}, key: "sk-wrong-0123456789",
			wantKind: chat.KindUpstream, wantMsg: "rejected the API key (HTTP 401)"},
		{name: "unknown model", model: "nope", wantKind: chat.KindNotFound, wantMsg: "nope"},
		// An upstream's text may quote the request, key and all: Parley
		// says what the status means, with the upstream's type and code.
		{name: "400 gets Parley's message", key: "sk-live-0123456789abcdef",
			opts:     testupstream.Options{Status: 400, StatusMessage: "context too long", EchoAuthorization: true},
			wantKind: chat.KindInvalid, wantMsg: `refused the request (HTTP 400): the request is invalid for this model (upstream error type "server_error")`,
			notMsg: "context too long"},
		{name: "429", opts: testupstream.Options{Status: 429, StatusMessage: "slow down"}, wantKind: chat.KindRateLimited,
			wantMsg: "rate limit", notMsg: "slow down"},
		{name: "500 is a failure, not unavailability", opts: testupstream.Options{Status: 500}, wantKind: chat.KindUpstream,
			wantMsg: "the model server failed (HTTP 500)"},
		{name: "503", opts: testupstream.Options{Status: 503, StatusMessage: "loading"}, wantKind: chat.KindUnavailable,
			wantMsg: "unavailable (HTTP 503)", notMsg: "loading"},
		{name: "secrets masked inside the stream", key: "sk-live-0123456789abcdef",
			opts:     testupstream.Options{StreamError: "CUDA out of memory", FaultAfter: 1, EchoAuthorization: true},
			wantKind: chat.KindUpstream, wantText: "one", wantMsg: "CUDA out of memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := testupstream.New(t, tt.opts)
			c := openai.NewClient(up.URL+"/v1", tt.key, nil)
			model := tt.model
			if model == "" {
				model = testupstream.DefaultModel
			}
			text, _, err := generate(t.Context(), c, chat.GenerateRequest{Model: model, Messages: userTurns(msg)})
			if err == nil {
				t.Fatalf("Generate succeeded with %q", text)
			}
			if chat.KindOf(err) != tt.wantKind {
				t.Fatalf("kind = %v (%v), want %v", chat.KindOf(err), err, tt.wantKind)
			}
			if text != tt.wantText {
				t.Errorf("text emitted before the fault = %q, want %q", text, tt.wantText)
			}
			if !strings.Contains(chat.MessageOf(err), tt.wantMsg) {
				t.Errorf("message %q does not contain %q", chat.MessageOf(err), tt.wantMsg)
			}
			if tt.notMsg != "" && strings.Contains(chat.MessageOf(err), tt.notMsg) {
				t.Errorf("message %q passes on the upstream's text %q", chat.MessageOf(err), tt.notMsg)
			}
			if tt.key != "" && (strings.Contains(chat.MessageOf(err), "sk-") || strings.Contains(err.Error(), tt.key)) {
				t.Errorf("error leaks key material: %q", err)
			}
		})
	}
}

func TestClientUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more: connection refused
	c := openai.NewClient("http://"+addr, "", nil, openai.WithConnectTimeout(time.Second))
	_, _, err = generate(t.Context(), c, chat.GenerateRequest{Model: "m", Messages: userTurns("x")})
	if chat.KindOf(err) != chat.KindUnavailable {
		t.Fatalf("err = %v, want KindUnavailable", err)
	}
	if _, err := c.Models(t.Context()); chat.KindOf(err) != chat.KindUnavailable {
		t.Fatalf("Models err = %v, want KindUnavailable", err)
	}
}

func TestClientCancelReachesUpstream(t *testing.T) {
	up := testupstream.New(t, testupstream.Options{Hang: true, FaultAfter: 1})
	c := openai.NewClient(up.URL, "", nil)
	ctx, cancel := context.WithCancel(t.Context())
	var got string
	_, err := c.Generate(ctx, chat.GenerateRequest{Model: testupstream.DefaultModel, Messages: userTurns("first second")},
		func(d chat.Delta) error {
			got += d.Content
			cancel() // the user pressed stop after the first token
			return nil
		})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got != "first" {
		t.Fatalf("text = %q", got)
	}
	wait, done := context.WithTimeout(t.Context(), 10*time.Second)
	defer done()
	if err := up.Await(wait, func(s testupstream.Stats) bool { return s.Canceled == 1 }); err != nil {
		t.Fatalf("upstream never saw the cancel: %v (stats %+v)", err, up.Stats())
	}
}

func TestClientTimeouts(t *testing.T) {
	tests := []struct {
		name string
		opts testupstream.Options
		opt  openai.Option
	}{
		{"first byte", testupstream.Options{HangBeforeHeaders: true}, openai.WithFirstByteTimeout(50 * time.Millisecond)},
		{"idle mid-stream", testupstream.Options{Hang: true, FaultAfter: 1}, openai.WithIdleTimeout(50 * time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := testupstream.New(t, tt.opts)
			c := openai.NewClient(up.URL, "", nil, tt.opt)
			_, _, err := generate(t.Context(), c, chat.GenerateRequest{Model: testupstream.DefaultModel, Messages: userTurns("a b")})
			if chat.KindOf(err) != chat.KindTimeout {
				t.Fatalf("err = %v, want KindTimeout", err)
			}
			wait, done := context.WithTimeout(t.Context(), 10*time.Second)
			defer done()
			if err := up.Await(wait, func(s testupstream.Stats) bool { return s.Canceled == 1 }); err != nil {
				t.Fatalf("upstream never saw the cancel: %v", err)
			}
		})
	}
}

func TestClientEmitErrorStops(t *testing.T) {
	up := testupstream.New(t)
	c := openai.NewClient(up.URL, "", nil)
	stop := errors.New("store full")
	calls := 0
	_, err := c.Generate(t.Context(), chat.GenerateRequest{Model: testupstream.DefaultModel, Messages: userTurns("a b c d")},
		func(chat.Delta) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("err = %v after %d calls, want the emit error after 1", err, calls)
	}
}

func TestClientSendsRequest(t *testing.T) {
	up := testupstream.New(t, testupstream.Options{APIKey: "sk-1", Models: []string{"first", "second"}})
	c := openai.NewClient(up.URL+"/", "sk-1", &http.Client{})
	req := chat.GenerateRequest{Messages: userTurns("hello"), Params: chat.Params{
		Temperature: openai.Ptr(0.3), TopK: openai.Ptr(20), MaxTokens: 9, Stop: []string{"x"}, Seed: openai.Ptr(int64(1)),
	}}
	_, gen, err := generate(t.Context(), c, req)
	if err != nil {
		t.Fatal(err)
	}
	if gen.Model != "first" {
		t.Errorf("default model = %q, want the first listed", gen.Model)
	}
	last := up.LastRequest()
	var body map[string]any
	if err := json.Unmarshal(last.Body, &body); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"model": "first", "stream": true, "temperature": 0.3, "top_k": 20.0, "max_tokens": 9.0, "seed": 1.0,
	} {
		if body[k] != want {
			t.Errorf("%s = %v, want %v", k, body[k], want)
		}
	}
	if so, _ := body["stream_options"].(map[string]any); so["include_usage"] != true {
		t.Errorf("stream_options = %v", body["stream_options"])
	}
	if _, ok := body["top_p"]; ok {
		t.Errorf("unset top_p was sent")
	}
	if got := last.Header.Get("Authorization"); got != "Bearer sk-1" {
		t.Errorf("Authorization = %q", got)
	}

	models, err := c.Models(t.Context())
	if err != nil || len(models) != 2 || models[1].ID != "second" || models[0].OwnedBy != "testupstream" {
		t.Fatalf("Models = %+v, %v", models, err)
	}
	up.SetOptions(func(o *testupstream.Options) { o.ModelsStatus = 503 })
	if _, err := c.Models(t.Context()); chat.KindOf(err) != chat.KindUnavailable {
		t.Fatalf("Models with 503 = %v", err)
	}
}
