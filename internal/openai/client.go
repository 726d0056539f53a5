package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/httpx"
)

// maxErrorBody bounds how much of a non-2xx answer is read.
const maxErrorBody = 64 << 10

// maxJSONBody bounds a non-streaming answer (models list, or a server that
// ignored stream=true).
const maxJSONBody = 16 << 20

// Client is a chat.Generator over an OpenAI-compatible HTTP server. It always
// streams (/v1/chat/completions, or /v1/completions when the request has a
// Prompt) and asks for usage in the stream. It is safe for concurrent use.
type Client struct {
	base   string
	apiKey string
	hc     *http.Client
	// rt is hc's transport when hc adds nothing to it (no cookies, no
	// redirect policy, no timeout): a request sent straight through it
	// skips http.Client's per-request copying of headers for redirects.
	rt   http.RoundTripper
	opts clientOptions

	defaultModel *DefaultModel
	// tokenizeOff is when (Unix ns) to ask /v1/tokenize again after the
	// server turned out not to answer it (tokenize.go).
	tokenizeOff atomic.Int64
}

var _ chat.Generator = (*Client)(nil)

type clientOptions struct {
	connectTimeout   time.Duration
	firstByteTimeout time.Duration
	idleTimeout      time.Duration
	defaultModel     string
}

// Option configures a Client.
type Option func(*clientOptions)

// WithConnectTimeout bounds dialing the server. It applies only when
// NewClient builds the HTTP client (httpClient == nil); otherwise build the
// transport with NewTransport.
func WithConnectTimeout(d time.Duration) Option {
	return func(o *clientOptions) { o.connectTimeout = d }
}

// WithFirstByteTimeout bounds the wait from sending a request until the
// response headers arrive (Parley's model service sends them with the first
// token). 0 means no limit. A timeout is a KindTimeout error.
func WithFirstByteTimeout(d time.Duration) Option {
	return func(o *clientOptions) { o.firstByteTimeout = d }
}

// WithIdleTimeout bounds the silence between two reads of a streaming
// answer, so a stalled server cannot hold a request forever. 0 means no
// limit. A timeout is a KindTimeout error.
func WithIdleTimeout(d time.Duration) Option {
	return func(o *clientOptions) { o.idleTimeout = d }
}

// WithDefaultModel sets the model used for requests whose Model is "".
// Without it the first model the server lists is used.
func WithDefaultModel(model string) Option {
	return func(o *clientOptions) { o.defaultModel = model }
}

// NewTransport returns an HTTP transport suited to long streaming requests:
// a bounded connect time, no overall timeout, keep-alives on.
func NewTransport(connectTimeout time.Duration) *http.Transport {
	return httpx.StreamingTransport(connectTimeout)
}

// NewClient returns a client of the server at baseURL. A base URL without a
// path ("http://host:8000") gets "/v1" appended; one with a path
// ("https://api.openai.com/v1", ".../openai/v1") is used as given. apiKey
// may be empty. httpClient nil means a client built with NewTransport; a
// given client must not have a Timeout, which would cut long streams.
func NewClient(baseURL, apiKey string, httpClient *http.Client, opts ...Option) *Client {
	var o clientOptions
	for _, opt := range opts {
		opt(&o)
	}
	if httpClient == nil {
		httpClient = &http.Client{Transport: NewTransport(o.connectTimeout)}
	}
	c := &Client{base: normalizeBase(baseURL), apiKey: apiKey, hc: httpClient, opts: o, defaultModel: NewDefaultModel(o.defaultModel)}
	if httpClient.Jar == nil && httpClient.CheckRedirect == nil && httpClient.Timeout == 0 {
		c.rt = httpClient.Transport
		if c.rt == nil {
			c.rt = http.DefaultTransport
		}
	}
	return c
}

func normalizeBase(raw string) string {
	raw = strings.TrimRight(strings.TrimSpace(raw), "/")
	u, err := url.Parse(raw)
	if err == nil && (u.Path == "" || u.Path == "/") {
		return raw + "/v1"
	}
	return raw
}

// BaseURL returns the base URL requests go to.
func (c *Client) BaseURL() string { return c.base }

var (
	errFirstByte = errors.New("first byte timeout")
	errIdle      = errors.New("idle timeout")
)

// call is one HTTP exchange with its timers.
type call struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	timer   *time.Timer // first byte
	idle    time.Duration
	unwatch func() // stops the idle watchdog
}

func (c *call) stop() {
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.unwatch != nil {
		c.unwatch()
	}
	c.cancel(nil)
}

// Bounds of drain.
const (
	maxDrainBytes = 64 << 10
	maxDrainTime  = 100 * time.Millisecond
)

var errDrain = errors.New("drain took too long")

// drain reads what is left of a stream that ended with [DONE] (the
// chunked encoding's last chunk, usually) before the body is closed: Go's
// transport reuses a connection only when its body was read to the end, so
// without this every stream would cost a new connection to the server. A
// server that sends more, or keeps the answer open, loses its connection.
func (c *call) drain(body io.Reader) {
	t := time.AfterFunc(maxDrainTime, func() { c.cancel(errDrain) })
	_, _ = io.CopyN(io.Discard, body, maxDrainBytes)
	t.Stop()
}

// err turns a failure during the exchange into the error Generate returns:
// the caller's own cancellation as is, our timers as KindTimeout, anything
// else as what fallback builds.
func (c *Client) callErr(parent context.Context, cl *call, err error, fallback func(error) error) error {
	if parent.Err() != nil {
		return context.Cause(parent)
	}
	switch cause := context.Cause(cl.ctx); {
	case errors.Is(cause, errFirstByte):
		return chat.E(chat.KindTimeout, fmt.Sprintf("%s sent no answer within %s", serverName, c.opts.firstByteTimeout), err)
	case errors.Is(cause, errIdle):
		return chat.E(chat.KindTimeout, fmt.Sprintf("%s stalled for %s", serverName, c.opts.idleTimeout), err)
	}
	return fallback(err)
}

func unreachable(err error) error {
	return chat.E(chat.KindUnavailable, serverName+" is unreachable", err)
}

func brokeOff(err error) error {
	return chat.E(chat.KindUpstream, serverName+" broke off the stream", err)
}

// do sends one request to c.base+path and returns the 2xx response;
// non-2xx answers are read and converted with StatusError. body nil is a
// GET.
func (c *Client) do(ctx context.Context, method, path string, body []byte, model string) (*http.Response, *call, error) {
	return c.doURL(ctx, method, c.base+path, body, model)
}

// doURL is do to any URL of the server.
func (c *Client) doURL(ctx context.Context, method, url string, body []byte, model string) (*http.Response, *call, error) {
	cctx, cancel := context.WithCancelCause(ctx)
	cl := &call{ctx: cctx, cancel: cancel, idle: c.opts.idleTimeout}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(cctx, method, url, rd)
	if err != nil {
		cl.stop()
		return nil, nil, chat.E(chat.KindInternal, "invalid model server URL", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream, application/json")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	if id := httpx.RequestID(ctx); id != "" {
		// Set here, httpx.Transport need not copy the request to add it.
		req.Header.Set(httpx.HeaderRequestID, id)
	}
	if d := c.opts.firstByteTimeout; d > 0 {
		cl.timer = time.AfterFunc(d, func() { cancel(errFirstByte) })
	}
	var resp *http.Response
	if body != nil && c.rt != nil {
		// An OpenAI-compatible server answers a completion; it does not
		// redirect it, so http.Client's redirect handling is not needed.
		resp, err = c.rt.RoundTrip(req)
	} else {
		resp, err = c.hc.Do(req)
	}
	if cl.timer != nil {
		cl.timer.Stop()
		cl.timer = nil
	}
	if err != nil {
		cl.stop()
		return nil, nil, c.callErr(ctx, cl, err, unreachable)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		cl.stop()
		return nil, nil, withAnswer(StatusError(resp.StatusCode, b, model, resp.Header.Get(httpx.HeaderParleyError) != ""), resp.StatusCode, resp.Header)
	}
	if cl.idle > 0 {
		resp.Body, cl.unwatch = httpx.WatchIdle(resp.Body, cl.idle, func() { cancel(errIdle) })
	}
	return resp, cl, nil
}

// model returns the model a request for model goes to: model itself, or
// the default one for "".
func (c *Client) model(ctx context.Context, model string) (string, error) {
	if model != "" {
		return model, nil
	}
	return c.defaultModel.Resolve(ctx, c.Models, "the model server lists no models")
}

// Generate streams a reply from the server. See chat.Generator.
func (c *Client) Generate(ctx context.Context, req chat.GenerateRequest, emit func(chat.Delta) error) (chat.Generation, error) {
	model, err := c.model(ctx, req.Model)
	if err != nil {
		return chat.Generation{}, err
	}
	gen := chat.Generation{Model: model}
	params := ParamsToWire(req.Params, false)
	params.StreamOptions = &StreamOptions{IncludeUsage: true}
	var (
		path string
		body any
	)
	if req.Prompt != "" {
		path = "/completions"
		body = CompletionRequest{Model: model, Prompt: Prompt{req.Prompt}, Stream: true, SamplingParams: params}
	} else {
		path = "/chat/completions"
		body = ChatCompletionRequest{Model: model, Messages: TurnsToWire(req.Messages), Stream: true, SamplingParams: params}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return gen, fmt.Errorf("openai: encode request: %w", err)
	}
	resp, cl, err := c.do(ctx, http.MethodPost, path, b, model)
	if err != nil {
		return gen, err
	}
	defer cl.stop()
	defer resp.Body.Close()

	st := &stream{gen: gen, emit: emit}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/json" {
		err = st.readJSON(resp.Body)
	} else if err = st.readSSE(resp.Body); err == nil {
		cl.drain(resp.Body)
	}
	if err != nil && !st.emitFailed {
		var ce *chat.Error
		if !errors.As(err, &ce) {
			err = c.callErr(ctx, cl, err, brokeOff)
		} else if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
	}
	return st.gen, err
}

// stream accumulates one streamed answer.
type stream struct {
	gen        chat.Generation
	emit       func(chat.Delta) error
	emitFailed bool
	finished   bool
}

func (s *stream) send(text string) error {
	if text == "" {
		return nil
	}
	if err := s.emit(chat.Delta{Content: text}); err != nil {
		s.emitFailed = true
		return err
	}
	return nil
}

func (s *stream) finish(reason *string) {
	if reason == nil || *reason == "" {
		return
	}
	s.finished = true
	switch *reason {
	case "eos", "eos_token", "end_turn", "stop_sequence":
		s.gen.FinishReason = chat.FinishStop
	case "max_tokens":
		s.gen.FinishReason = chat.FinishLength
	default:
		s.gen.FinishReason = *reason
	}
}

func (s *stream) usage(u *Usage) {
	if u != nil {
		s.gen.Usage = chat.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens}
		if u.PromptTokensDetails != nil {
			s.gen.Usage.CachedTokens = u.PromptTokensDetails.CachedTokens
		}
	}
}

// chunk is the union of a chat chunk and a legacy completion chunk, so one
// decoder serves both endpoints.
type chunk struct {
	Model   string `json:"model"`
	Choices []struct {
		Index        int        `json:"index"`
		Delta        *ChatDelta `json:"delta"`
		Message      *ChatDelta `json:"message"`
		Text         *string    `json:"text"`
		FinishReason *string    `json:"finish_reason"`
	} `json:"choices"`
	Usage *Usage     `json:"usage"`
	Error *ErrorBody `json:"error"`
}

func (s *stream) apply(ch *chunk) error {
	if ch.Error != nil {
		return StreamError(*ch.Error)
	}
	if ch.Model != "" {
		s.gen.Model = ch.Model
	}
	for _, c := range ch.Choices {
		if c.Index != 0 {
			continue
		}
		var text string
		switch {
		case c.Delta != nil && c.Delta.Content != nil:
			text = *c.Delta.Content
		case c.Message != nil && c.Message.Content != nil:
			text = *c.Message.Content
		case c.Text != nil:
			text = *c.Text
		}
		if err := s.send(text); err != nil {
			return err
		}
		s.finish(c.FinishReason)
	}
	s.usage(ch.Usage)
	return nil
}

func (s *stream) readSSE(body io.Reader) error {
	rd := NewSSEReader(body, 0)
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			if s.finished {
				// Some servers close after the finish chunk without [DONE].
				return nil
			}
			return chat.E(chat.KindUpstream, serverName+" closed the stream before it finished", io.ErrUnexpectedEOF)
		}
		if err != nil {
			return err
		}
		if IsDone(ev) {
			if s.gen.FinishReason == "" {
				s.gen.FinishReason = chat.FinishStop
			}
			return nil
		}
		if ev.Name == "error" {
			eb := ParseErrorBody(ev.Data)
			return StreamError(eb)
		}
		// Several JSON values in one event happen with servers that separate
		// chunks by single newlines; decode them all.
		dec := json.NewDecoder(bytes.NewReader(ev.Data))
		for {
			var ch chunk
			if err := dec.Decode(&ch); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return chat.E(chat.KindUpstream, serverName+" sent a malformed stream", err)
			}
			if err := s.apply(&ch); err != nil {
				return err
			}
		}
	}
}

// readJSON handles a server that answered a streaming request with one
// JSON document.
func (s *stream) readJSON(body io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(body, maxJSONBody))
	if err != nil {
		return err
	}
	var ch chunk
	if err := json.Unmarshal(b, &ch); err != nil {
		return chat.E(chat.KindUpstream, serverName+" sent a malformed answer", err)
	}
	if err := s.apply(&ch); err != nil {
		return err
	}
	if s.gen.FinishReason == "" {
		s.gen.FinishReason = chat.FinishStop
	}
	return nil
}

// Models lists the server's models (GET /v1/models).
func (c *Client) Models(ctx context.Context) ([]chat.ModelInfo, error) {
	resp, cl, err := c.do(ctx, http.MethodGet, "/models", nil, "")
	if err != nil {
		if chat.KindOf(err) == chat.KindNotFound {
			return nil, chat.E(chat.KindUpstream, serverName+" has no models endpoint", err)
		}
		return nil, err
	}
	defer cl.stop()
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONBody))
	if err != nil {
		return nil, c.callErr(ctx, cl, err, brokeOff)
	}
	var list struct {
		Data []struct {
			ID            string `json:"id"`
			OwnedBy       string `json:"owned_by"`
			ContextLength int    `json:"context_length"`
			MaxModelLen   int    `json:"max_model_len"`
			ContextWindow int    `json:"context_window"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, chat.E(chat.KindUpstream, serverName+" sent a malformed models list", err)
	}
	out := make([]chat.ModelInfo, 0, len(list.Data))
	for _, m := range list.Data {
		if m.ID == "" {
			continue
		}
		ctxLen := m.ContextLength
		if ctxLen == 0 {
			ctxLen = max(m.MaxModelLen, m.ContextWindow)
		}
		out = append(out, chat.ModelInfo{ID: m.ID, OwnedBy: m.OwnedBy, ContextLength: ctxLen})
	}
	return out, nil
}
