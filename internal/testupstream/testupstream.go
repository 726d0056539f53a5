// Package testupstream is a fake model server for Parley's own tests, and
// nothing else: it is never a product default and no production code path
// may import it. It speaks both the OpenAI wire protocol (/v1/chat/completions,
// /v1/completions, /v1/models) and Ollama's native API (/api/chat,
// /api/generate, /api/tags) on a real 127.0.0.1 listener (httptest), answers
// deterministically (by default it echoes the last user message word by
// word), and can misbehave the way real upstreams do: fail with a status,
// break the connection mid-stream, repeat the role in every delta, send a
// usage-only final chunk, end an Ollama stream without its done line, send an
// error inside the stream, or hang until the client gives up. Counters let a
// test assert that a cancellation reached the upstream.
//
// Typical use:
//
//	up := testupstream.New(t, testupstream.Options{TokenDelay: 5 * time.Millisecond})
//	client := openai.NewClient(up.URL, "", nil)   // or ollama.New(ollama.Config{BaseURL: up.URL})
//	...
//	up.Await(ctx, func(s testupstream.Stats) bool { return s.Canceled == 1 })
package testupstream

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// DefaultModel is the model served when Options.Models is empty.
const DefaultModel = "test-model"

// Options configure a Server. The zero value is a well-behaved server
// serving DefaultModel that echoes the last user message.
type Options struct {
	// Models are the model ids served; requests for others get 404. A
	// request with model "" gets the first.
	Models []string
	// Reply computes the reply from the conversation. Legacy/raw prompt
	// requests are passed as one user turn holding the prompt. Default Echo.
	Reply func(messages []chat.Turn) string
	// TokenDelay is slept before each token is sent.
	TokenDelay time.Duration
	// APIKey, when set, is required as "Authorization: Bearer <key>";
	// requests without it get 401.
	APIKey string

	// Status, when non-zero, makes every generation request fail with this
	// status and an error body (OpenAI or Ollama shape) saying StatusMessage.
	Status        int
	StatusMessage string
	// ModelsStatus, when non-zero, makes the models endpoints fail so.
	ModelsStatus int
	// EchoAuthorization makes every error message (status errors, 401s and
	// errors inside a stream) quote the request's Authorization header, as
	// some servers and proxies do: the key must go no further.
	EchoAuthorization bool
	// ContextLength, when non-zero, is the models' context window, listed
	// as vLLM lists it (max_model_len): a chat whose messages hold more
	// bytes of text than that (one token per byte, more than any estimate
	// counts) is refused with 400 in vLLM's words (OpenAI protocol).
	ContextLength int

	// FaultAfter is the number of tokens sent before the mid-stream faults
	// below strike.
	FaultAfter int
	// CloseMidStream breaks the connection (no chunk terminator) after
	// FaultAfter tokens.
	CloseMidStream bool
	// EndEarly ends the response cleanly after FaultAfter tokens, without a
	// finish chunk, [DONE] or done line.
	EndEarly bool
	// StreamError sends an error object (OpenAI) or error line (Ollama)
	// with this message after FaultAfter tokens, then ends the response.
	StreamError string
	// Hang stops sending after FaultAfter tokens and waits until the client
	// cancels (or the server closes).
	Hang bool
	// HangBeforeHeaders waits for the client to cancel before sending
	// anything at all.
	HangBeforeHeaders bool

	// RepeatRole puts "role":"assistant" in every delta (OpenAI).
	RepeatRole bool
	// NullContent sends "content": null in the role chunk and the finish
	// chunk (OpenAI).
	NullContent bool
	// UsageInFinishChunk sends usage in the finish chunk instead of a
	// separate usage-only chunk (OpenAI; llama.cpp does this).
	UsageInFinishChunk bool
	// NoDone omits "data: [DONE]" (OpenAI) or the final "done": true line
	// (Ollama, as its repetition guard does while still answering 200).
	NoDone bool
	// JSONForStream answers streaming requests with one JSON document, as
	// servers that ignore "stream" do (OpenAI).
	JSONForStream bool
	// LingerAfterDone waits this long after "data: [DONE]" before ending
	// the response (OpenAI), so the end of the HTTP answer comes apart
	// from the end of the stream, as with servers that do some
	// bookkeeping last.
	LingerAfterDone time.Duration
}

// Option configures a Server. An Options value is itself an Option (it
// replaces all settings); the With* functions change one.
type Option interface{ apply(*Options) }

func (o Options) apply(dst *Options) { *dst = o }

type optionFunc func(*Options)

func (f optionFunc) apply(o *Options) { f(o) }

// WithReply sets Options.Reply.
func WithReply(f func([]chat.Turn) string) Option {
	return optionFunc(func(o *Options) { o.Reply = f })
}

// WithTokenDelay sets Options.TokenDelay.
func WithTokenDelay(d time.Duration) Option {
	return optionFunc(func(o *Options) { o.TokenDelay = d })
}

// WithModels sets Options.Models.
func WithModels(models ...string) Option {
	return optionFunc(func(o *Options) { o.Models = models })
}

// Scripted returns a Reply that always answers text.
func Scripted(text string) func([]chat.Turn) string {
	return func([]chat.Turn) string { return text }
}

// Echo is the default Reply: the content of the last user message.
func Echo(messages []chat.Turn) string {
	for i := len(messages) - 1; i >= 0; i-- {
		if messages[i].Role == chat.RoleUser {
			return messages[i].Content
		}
	}
	return ""
}

// Tokens splits text the way the server streams it: each word with the
// spaces before it, so that the tokens concatenate back to text.
func Tokens(text string) []string {
	var out []string
	start := 0
	prevSpace := true
	for i, r := range text {
		space := r == ' ' || r == '\n' || r == '\t'
		// a run of spaces after a word starts the next token, unless the
		// text ends in spaces, which stay with the last word
		if space && !prevSpace && strings.TrimSpace(text[i:]) != "" {
			out = append(out, text[start:i])
			start = i
		}
		prevSpace = space
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// Stats count what the server saw.
type Stats struct {
	// Requests counts generation requests (chat or completion, either
	// protocol) that passed validation.
	Requests int
	// Refused counts generation requests answered with Options.Status.
	Refused int
	// Completed counts generation responses sent to their end.
	Completed int
	// Canceled counts generation requests whose client went away (or
	// cancelled) before the response was complete.
	Canceled int
	// Connections counts the TCP connections clients opened.
	Connections int
}

// Request is a recorded generation request.
type Request struct {
	Path     string
	Header   http.Header
	Body     []byte
	Model    string
	Messages []chat.Turn
	Prompt   string
}

// Server is a running fake upstream.
type Server struct {
	// URL is the base URL without a path, e.g. "http://127.0.0.1:40123".
	// OpenAI clients may use URL or URL+"/v1"; Ollama clients use URL.
	URL string

	srv  *httptest.Server
	quit chan struct{}

	mu      sync.Mutex
	opts    Options
	stats   Stats
	last    Request
	changed chan struct{}
}

// New starts a server that is closed when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{quit: make(chan struct{}), changed: make(chan struct{})}
	for _, o := range opts {
		o.apply(&s.opts)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", s.openaiModels)
	mux.HandleFunc("POST /v1/chat/completions", s.openaiChat)
	mux.HandleFunc("POST /v1/completions", s.openaiCompletion)
	mux.HandleFunc("GET /api/tags", s.ollamaTags)
	mux.HandleFunc("POST /api/chat", s.ollamaChat)
	mux.HandleFunc("POST /api/generate", s.ollamaGenerate)
	mux.HandleFunc("GET /api/version", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"version":"0.0.0-testupstream"}`))
	})
	s.srv = httptest.NewUnstartedServer(mux)
	s.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.count(func(st *Stats) { st.Connections++ })
		}
	}
	s.srv.Start()
	s.URL = s.srv.URL
	t.Cleanup(s.Close)
	return s
}

// Close releases hanging handlers and stops the server. New registers it
// with t.Cleanup; calling it earlier simulates the upstream going down.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.quit:
		s.mu.Unlock()
		return
	default:
		close(s.quit)
	}
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// SetOptions changes the behaviour for the requests that follow.
func (s *Server) SetOptions(change func(*Options)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	change(&s.opts)
}

// Options returns the current options.
func (s *Server) Options() Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// LastRequest returns the last generation request received.
func (s *Server) LastRequest() Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Await blocks until cond holds for the counters or ctx ends (then it
// returns ctx's error). Use it to wait for "the upstream saw the cancel".
func (s *Server) Await(ctx context.Context, cond func(Stats) bool) error {
	for {
		s.mu.Lock()
		ok := cond(s.stats)
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	s.last = r
	s.mu.Unlock()
}

// defaults returns a snapshot of the options with defaults filled in.
func (s *Server) snapshot() Options {
	o := s.Options()
	if len(o.Models) == 0 {
		o.Models = []string{DefaultModel}
	}
	if o.Reply == nil {
		o.Reply = Echo
	}
	return o
}

func (o Options) resolveModel(m string) (string, bool) {
	if m == "" {
		return o.Models[0], true
	}
	for _, id := range o.Models {
		if id == m {
			return id, true
		}
	}
	return m, false
}

// errorText is msg as the server words it for r.
func errorText(o Options, r *http.Request, msg string) string {
	if o.EchoAuthorization {
		return msg + " (request had Authorization: " + r.Header.Get("Authorization") + ")"
	}
	return msg
}

func authorized(o Options, r *http.Request) bool {
	return o.APIKey == "" || r.Header.Get("Authorization") == "Bearer "+o.APIKey
}

func countWords(turns []chat.Turn) int {
	n := 0
	for _, t := range turns {
		n += len(strings.Fields(t.Content))
	}
	return n
}

// plan is what a generation handler will send.
type plan struct {
	model  string
	tokens []string
	finish string
	prompt int
}

func makePlan(o Options, model string, turns []chat.Turn, maxTokens int) plan {
	p := plan{model: model, tokens: Tokens(o.Reply(turns)), finish: chat.FinishStop, prompt: countWords(turns)}
	if maxTokens > 0 && len(p.tokens) > maxTokens {
		p.tokens = p.tokens[:maxTokens]
		p.finish = chat.FinishLength
	}
	return p
}

// step waits before token i and reports whether to go on; it handles the
// delay, cancellation and the Hang fault. false means the client is gone or
// the server closes.
func (s *Server) step(ctx context.Context, o Options, i int) bool {
	if o.Hang && i == o.FaultAfter {
		select {
		case <-ctx.Done():
			s.count(func(st *Stats) { st.Canceled++ })
		case <-s.quit:
		}
		return false
	}
	if o.TokenDelay > 0 {
		t := time.NewTimer(o.TokenDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		case <-s.quit:
			return false
		}
	}
	if ctx.Err() != nil {
		s.count(func(st *Stats) { st.Canceled++ })
		return false
	}
	return true
}

// hangBeforeHeaders implements Options.HangBeforeHeaders.
func (s *Server) hangBeforeHeaders(ctx context.Context) {
	select {
	case <-ctx.Done():
		s.count(func(st *Stats) { st.Canceled++ })
	case <-s.quit:
	}
}

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// abort breaks the connection the way a crashing upstream does.
func abort() { panic(http.ErrAbortHandler) }
