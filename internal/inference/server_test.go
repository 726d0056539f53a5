package inference_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/inference"
	"github.com/parley-chat/parley/internal/openai"
	"github.com/parley-chat/parley/internal/testupstream"
)

type fixture struct {
	up  *testupstream.Server
	url string // the model service under test
	sdk sdk.Client
}

// path is one of the two ways the server answers: passing requests
// through to an OpenAI-compatible backend, or decoding them for a plain
// chat.Generator. Every guarantee must hold on both.
type path struct {
	name   string
	decode bool
}

func eachPath(t *testing.T, run func(t *testing.T, p path)) {
	for _, p := range []path{{"passthrough", false}, {"decoding", true}} {
		t.Run(p.name, func(t *testing.T) { run(t, p) })
	}
}

// decoded hides that a backend can forward (its Forward, of another
// signature, shadows the client's), so the server decodes.
type decoded struct{ *openai.Client }

func (decoded) Forward() {}

// fixture runs NewServer over an openai.Client that proxies to a fake
// upstream: the same chain as a model service in front of vLLM, or the api
// in front of a model service.
func (p path) fixture(t *testing.T, opts testupstream.Options, cfg inference.Config) *fixture {
	t.Helper()
	up := testupstream.New(t, opts)
	log := slog.New(slog.DiscardHandler)
	// The api reaches a model service like this: request ids travel along.
	client := openai.NewClient(up.URL, "", &http.Client{Transport: httpx.Transport(openai.NewTransport(time.Second))})
	var backend chat.Generator = client
	if p.decode {
		backend = decoded{client}
	}
	srv := httptest.NewServer(httpx.Middleware(log, inference.NewServer(backend, cfg, log)))
	t.Cleanup(srv.Close)
	sdkClient := sdk.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	return &fixture{up: up, url: srv.URL, sdk: sdkClient}
}

func chatParams(text string) sdk.ChatCompletionNewParams {
	return sdk.ChatCompletionNewParams{
		Model:    testupstream.DefaultModel,
		Messages: []sdk.ChatCompletionMessageParamUnion{sdk.SystemMessage("be brief"), sdk.UserMessage(text)},
	}
}

func TestChatCompletionNonStreaming(t *testing.T) {
	eachPath(t, func(t *testing.T, via path) {
		f := via.fixture(t, testupstream.Options{}, inference.Config{})
		res, err := f.sdk.Chat.Completions.New(t.Context(), chatParams("hello there world"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(res.ID, "chatcmpl-") || res.Object != "chat.completion" || res.Created == 0 {
			t.Errorf("envelope = %s %s %d", res.ID, res.Object, res.Created)
		}
		if len(res.Choices) != 1 || res.Choices[0].Message.Content != "hello there world" || res.Choices[0].FinishReason != "stop" {
			t.Fatalf("choices = %+v", res.Choices)
		}
		if res.Model != testupstream.DefaultModel || res.Usage.CompletionTokens != 3 || res.Usage.TotalTokens != res.Usage.PromptTokens+3 {
			t.Errorf("model %q usage %+v", res.Model, res.Usage)
		}
	})
}

func TestChatCompletionStreaming(t *testing.T) {
	eachPath(t, func(t *testing.T, via path) {
		f := via.fixture(t, testupstream.Options{TokenDelay: time.Millisecond}, inference.Config{})
		p := chatParams("one two three four")
		p.StreamOptions = sdk.ChatCompletionStreamOptionsParam{IncludeUsage: sdk.Bool(true)}
		stream := f.sdk.Chat.Completions.NewStreaming(t.Context(), p)
		var (
			text    strings.Builder
			finish  string
			usage   *sdk.CompletionUsage
			ids     = map[string]bool{}
			nChunks int
		)
		for stream.Next() {
			c := stream.Current()
			nChunks++
			ids[c.ID] = true
			if len(c.Choices) == 0 {
				if c.Usage.TotalTokens == 0 {
					t.Errorf("chunk without choices and without usage")
				}
				u := c.Usage
				usage = &u
				continue
			}
			text.WriteString(c.Choices[0].Delta.Content)
			if c.Choices[0].FinishReason != "" {
				finish = c.Choices[0].FinishReason
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if text.String() != "one two three four" || finish != "stop" {
			t.Fatalf("text %q finish %q", text.String(), finish)
		}
		if usage == nil || usage.CompletionTokens != 4 {
			t.Fatalf("usage = %+v", usage)
		}
		if len(ids) != 1 || nChunks < 6 {
			t.Errorf("ids %v over %d chunks", ids, nChunks)
		}
	})
}

// rawPost sends body and returns the status and the body text.
func rawPost(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestStreamWireFormat(t *testing.T) {
	eachPath(t, func(t *testing.T, via path) {
		f := via.fixture(t, testupstream.Options{}, inference.Config{})
		tests := []struct {
			name, path, body string
			want             []string // substrings in order
			notWant          string
		}{
			{"chat with usage", "/v1/chat/completions",
				`{"model":"test-model","messages":[{"role":"user","content":"hi you"}],"stream":true,"stream_options":{"include_usage":true}}`,
				[]string{`"delta":{"role":"assistant","content":""}`, `"content":"hi"`, `"content":" you"`, `"finish_reason":"stop"`,
					`"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":2,"total_tokens":4}`, "data: [DONE]\n\n"}, ""},
			{"chat without usage", "/v1/chat/completions",
				`{"model":"test-model","messages":[{"role":"user","content":"hi"}],"stream":true}`,
				[]string{`"content":"hi"`, `"finish_reason":"stop"`, "data: [DONE]"}, `"usage"`},
			{"legacy", "/v1/completions",
				`{"model":"test-model","prompt":"a b","stream":true,"stream_options":{"include_usage":true}}`,
				[]string{`"object":"text_completion"`, `"text":"a"`, `"text":" b"`, `"finish_reason":"stop"`, `"usage"`, "data: [DONE]"}, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, body := rawPost(t, f.url+tt.path, tt.body)
				if status != 200 {
					t.Fatalf("status %d: %s", status, body)
				}
				rest := body
				for _, w := range tt.want {
					i := strings.Index(rest, w)
					if i < 0 {
						t.Fatalf("missing %q (in order) in:\n%s", w, body)
					}
					rest = rest[i+len(w):]
				}
				if tt.notWant != "" && strings.Contains(body, tt.notWant) {
					t.Fatalf("unexpected %q in:\n%s", tt.notWant, body)
				}
			})
		}
	})
}

func TestLegacyCompletion(t *testing.T) {
	eachPath(t, func(t *testing.T, via path) {
		f := via.fixture(t, testupstream.Options{}, inference.Config{})
		res, err := f.sdk.Completions.New(t.Context(), sdk.CompletionNewParams{
			Model:  testupstream.DefaultModel,
			Prompt: sdk.CompletionNewParamsPromptUnion{OfString: sdk.String("Once upon a time")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(res.ID, "cmpl-") || len(res.Choices) != 1 || res.Choices[0].Text != "Once upon a time" {
			t.Fatalf("completion = %+v", res)
		}
		if got := f.up.LastRequest().Path; got != "/v1/completions" {
			t.Errorf("upstream path = %s", got)
		}
	})
}

func TestModels(t *testing.T) {
	eachPath(t, func(t *testing.T, via path) {
		f := via.fixture(t, testupstream.Options{Models: []string{"m1", "m2"}}, inference.Config{})
		page, err := f.sdk.Models.List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 2 || page.Data[0].ID != "m1" || page.Data[0].Object != "model" || page.Data[1].OwnedBy != "testupstream" {
			t.Fatalf("models = %+v", page.Data)
		}
		m, err := f.sdk.Models.Get(t.Context(), "m2")
		if err != nil || m.ID != "m2" {
			t.Fatalf("get = %+v, %v", m, err)
		}
		_, err = f.sdk.Models.Get(t.Context(), "m3")
		var apiErr *sdk.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
			t.Fatalf("get unknown = %v", err)
		}
	})
}

func TestErrors(t *testing.T) {
	eachPath(t, func(t *testing.T, via path) {
		tests := []struct {
			name       string
			opts       testupstream.Options
			cfg        inference.Config
			body       string
			wantStatus int
			wantType   string
		}{
			{name: "unknown model", body: `{"model":"nope","messages":[{"role":"user","content":"x"}]}`, wantStatus: 404, wantType: "not_found_error"},
			{name: "bad temperature", body: `{"model":"test-model","messages":[{"role":"user","content":"x"}],"temperature":9}`, wantStatus: 400, wantType: "invalid_request_error"},
			{name: "unknown field", body: `{"model":"test-model","messages":[{"role":"user","content":"x"}],"bogus":1}`, wantStatus: 400, wantType: "invalid_request_error"},
			{name: "malformed", body: `{"model":`, wantStatus: 400, wantType: "invalid_request_error"},
			{name: "too large", cfg: inference.Config{MaxBodyBytes: 64},
				body: `{"model":"test-model","messages":[{"role":"user","content":"` + strings.Repeat("x", 100) + `"}]}`, wantStatus: 413, wantType: "request_too_large"},
			{name: "backend down", opts: testupstream.Options{Status: 503}, body: `{"model":"test-model","messages":[{"role":"user","content":"x"}]}`,
				wantStatus: 503, wantType: "service_unavailable"},
			{name: "backend down while streaming, before the first token", opts: testupstream.Options{Status: 503},
				body: `{"model":"test-model","messages":[{"role":"user","content":"x"}],"stream":true}`, wantStatus: 503, wantType: "service_unavailable"},
			{name: "backend fails while streaming, before the first token", opts: testupstream.Options{Status: 500},
				body: `{"model":"test-model","messages":[{"role":"user","content":"x"}],"stream":true}`, wantStatus: 502, wantType: "upstream_error"},
			{name: "request timeout", opts: testupstream.Options{HangBeforeHeaders: true}, cfg: inference.Config{RequestTimeout: 50 * time.Millisecond},
				body: `{"model":"test-model","messages":[{"role":"user","content":"x"}],"stream":true}`, wantStatus: 504, wantType: "timeout_error"},
			{name: "stream_options without stream", body: `{"model":"test-model","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}}`,
				wantStatus: 400, wantType: "invalid_request_error"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := via.fixture(t, tt.opts, tt.cfg)
				status, body := rawPost(t, f.url+"/v1/chat/completions", tt.body)
				if status != tt.wantStatus || !strings.Contains(body, `"type":"`+tt.wantType+`"`) {
					t.Fatalf("got %d %s, want %d %s", status, body, tt.wantStatus, tt.wantType)
				}
			})
		}
	})
}

func TestRequestIDReachesUpstream(t *testing.T) {
	eachPath(t, func(t *testing.T, via path) {
		f := via.fixture(t, testupstream.Options{}, inference.Config{})
		p := chatParams("x")
		if _, err := f.sdk.Chat.Completions.New(t.Context(), p, option.WithHeader(httpx.HeaderRequestID, "req-trace-42")); err != nil {
			t.Fatal(err)
		}
		if got := f.up.LastRequest().Header.Get(httpx.HeaderRequestID); got != "req-trace-42" {
			t.Fatalf("upstream saw request id %q", got)
		}
	})
}

func TestSDKSeesErrors(t *testing.T) {
	eachPath(t, func(t *testing.T, via path) {
		f := via.fixture(t, testupstream.Options{}, inference.Config{})
		p := chatParams("x")
		p.Model = "nope"
		_, err := f.sdk.Chat.Completions.New(t.Context(), p)
		var apiErr *sdk.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Type != "not_found_error" {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestMaxTokensCap(t *testing.T) {
	eachPath(t, func(t *testing.T, via path) {
		f := via.fixture(t, testupstream.Options{}, inference.Config{MaxTokens: 2})
		p := chatParams("a b c d e")
		p.MaxTokens = sdk.Int(100)
		res, err := f.sdk.Chat.Completions.New(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		if res.Choices[0].Message.Content != "a b" || res.Choices[0].FinishReason != "length" {
			t.Fatalf("got %q %q", res.Choices[0].Message.Content, res.Choices[0].FinishReason)
		}
	})
}

func TestMidStreamFailure(t *testing.T) {
	eachPath(t, func(t *testing.T, via path) {
		f := via.fixture(t, testupstream.Options{CloseMidStream: true, FaultAfter: 2}, inference.Config{})
		status, body := rawPost(t, f.url+"/v1/chat/completions",
			`{"model":"test-model","messages":[{"role":"user","content":"a b c d"}],"stream":true}`)
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		if !strings.Contains(body, `" b"`) || !strings.Contains(body, `"type":"upstream_error"`) || strings.Contains(body, "[DONE]") {
			t.Fatalf("body:\n%s", body)
		}
		// The official client reports it as an error, not a short reply.
		stream := f.sdk.Chat.Completions.NewStreaming(t.Context(), chatParams("a b c d"))
		for stream.Next() {
		}
		if stream.Err() == nil {
			t.Fatal("stream ended without error")
		}
	})
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	eachPath(t, func(t *testing.T, via path) {
		f := via.fixture(t, testupstream.Options{Hang: true, FaultAfter: 1}, inference.Config{})
		ctx, cancel := context.WithCancel(t.Context())
		stream := f.sdk.Chat.Completions.NewStreaming(ctx, chatParams("first second third"))
		if !stream.Next() {
			t.Fatalf("no first chunk: %v", stream.Err())
		}
		for stream.Next() {
			if len(stream.Current().Choices) > 0 && stream.Current().Choices[0].Delta.Content != "" {
				break
			}
		}
		cancel()
		stream.Close()
		wait, done := context.WithTimeout(t.Context(), 10*time.Second)
		defer done()
		if err := f.up.Await(wait, func(s testupstream.Stats) bool { return s.Canceled == 1 }); err != nil {
			t.Fatalf("upstream never saw the cancel: %v (stats %+v)", err, f.up.Stats())
		}
	})
}

func TestHealth(t *testing.T) {
	eachPath(t, func(t *testing.T, via path) {
		f := via.fixture(t, testupstream.Options{}, inference.Config{})
		get := func(path string) (int, string) {
			resp, err := http.Get(f.url + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(bufio.NewReader(resp.Body))
			return resp.StatusCode, string(b)
		}
		if s, b := get("/healthz"); s != 200 || !strings.Contains(b, `"ok"`) {
			t.Fatalf("healthz %d %s", s, b)
		}
		if s, b := get("/readyz"); s != 200 || !strings.Contains(b, `"backend":"ok"`) {
			t.Fatalf("readyz %d %s", s, b)
		}
		f.up.SetOptions(func(o *testupstream.Options) { o.ModelsStatus = 500 })
		if s, b := get("/readyz"); s != 503 || !strings.Contains(b, "not ready") {
			t.Fatalf("readyz with backend down %d %s", s, b)
		}
		if s, b := get("/nope"); s != 404 || !strings.Contains(b, "not_found_error") {
			t.Fatalf("unknown route %d %s", s, b)
		}
	})
}

// Every chunk names the model, also when the request named none.
func TestStreamChunksNameTheModel(t *testing.T) {
	eachPath(t, func(t *testing.T, via path) {
		f := via.fixture(t, testupstream.Options{}, inference.Config{})
		for _, tt := range []struct{ path, body string }{
			{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a b"}],"stream":true,"stream_options":{"include_usage":true}}`},
			{"/v1/completions", `{"prompt":"a b","stream":true}`},
		} {
			status, body := rawPost(t, f.url+tt.path, tt.body)
			if status != 200 {
				t.Fatalf("%s: %d %s", tt.path, status, body)
			}
			chunks := 0
			for line := range strings.Lines(body) {
				data, ok := strings.CutPrefix(line, "data: {")
				if !ok {
					continue
				}
				chunks++
				if !strings.Contains(data, `"model":"`+testupstream.DefaultModel+`"`) {
					t.Errorf("%s: chunk without the model: %s", tt.path, line)
				}
			}
			if chunks < 3 {
				t.Fatalf("%s: %d chunks in %s", tt.path, chunks, body)
			}
		}
	})
}

// A refusal speaks JSON: no Go type names, no Go struct names in paths.
func TestRefusalsSpeakJSON(t *testing.T) {
	eachPath(t, func(t *testing.T, via path) {
		f := via.fixture(t, testupstream.Options{}, inference.Config{})
		for body, want := range map[string]string{
			`{"model":"test-model","messages":"hi"}`:                                                          `field \"messages\": expected an array, got a string`,
			`{"model":"test-model","messages":[{"role":"user","content":"x"}],"max_tokens":"5"}`:              `field \"max_tokens\": expected an integer, got a string`,
			`{"model":"test-model","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]}`: "tools (function calling) are not supported",
		} {
			status, got := rawPost(t, f.url+"/v1/chat/completions", body)
			if status != 400 || !strings.Contains(got, want) {
				t.Errorf("%s: got %d %s, want 400 with %s", body, status, got, want)
			}
			if f.up.Stats().Requests != 0 {
				t.Fatalf("a refused request reached the upstream")
			}
		}
	})
}

// Streams one after another share one connection to the upstream: a proxy
// that dialed per request would pay a handshake each time.
func TestUpstreamConnectionsAreReused(t *testing.T) {
	eachPath(t, func(t *testing.T, via path) {
		f := via.fixture(t, testupstream.Options{LingerAfterDone: 5 * time.Millisecond}, inference.Config{})
		for _, body := range []string{
			`{"model":"test-model","messages":[{"role":"user","content":"a b c"}],"stream":true}`,
			`{"model":"test-model","messages":[{"role":"user","content":"a b c"}]}`,
		} {
			for range 5 {
				if status, got := rawPost(t, f.url+"/v1/chat/completions", body); status != 200 {
					t.Fatalf("%d %s", status, got)
				}
			}
		}
		if n := f.up.Stats().Connections; n != 1 {
			t.Fatalf("10 requests one after another opened %d connections to the upstream, want 1", n)
		}
	})
}

// An upstream that falls silent mid-stream ends the stream with a timeout
// error (and no [DONE]) once the client's idle timeout runs out.
func TestUpstreamStallsMidStream(t *testing.T) {
	eachPath(t, func(t *testing.T, via path) {
		up := testupstream.New(t, testupstream.Options{Hang: true, FaultAfter: 2})
		client := openai.NewClient(up.URL, "", nil, openai.WithIdleTimeout(50*time.Millisecond))
		var backend chat.Generator = client
		if via.decode {
			backend = decoded{client}
		}
		srv := httptest.NewServer(inference.NewServer(backend, inference.Config{}, nil))
		t.Cleanup(srv.Close)
		status, body := rawPost(t, srv.URL+"/v1/chat/completions", `{"model":"test-model","messages":[{"role":"user","content":"a b c d"}],"stream":true}`)
		if status != 200 || !strings.Contains(body, `" b"`) || !strings.Contains(body, `"type":"timeout_error"`) ||
			!strings.Contains(body, "stalled") || strings.Contains(body, "[DONE]") {
			t.Fatalf("%d %s", status, body)
		}
	})
}
