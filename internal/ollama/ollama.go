// Package ollama is a chat.Generator over Ollama's native HTTP API:
// POST /api/chat (streaming NDJSON) for conversations, POST /api/generate
// with raw=true for verbatim prompts, and GET /api/tags for the model list.
// It maps chat.Params to Ollama's "options" and Ollama's failures to chat
// error kinds, and tolerates a stream that ends without its final
// "done": true line (Ollama's repetition guard does that while answering 200).
package ollama

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/openai"
)

// maxLine bounds one NDJSON line.
const maxLine = 8 << 20

// maxErrorBody bounds how much of a non-2xx answer is read.
const maxErrorBody = 64 << 10

// Config configures a Client.
type Config struct {
	// BaseURL is Ollama's address, e.g. "http://127.0.0.1:11434".
	BaseURL string
	// DefaultModel is used for requests with Model "". Empty means the
	// first model /api/tags lists.
	DefaultModel string
	// KeepAlive, when set, is passed as keep_alive: how long Ollama keeps
	// the model loaded after a request (e.g. "5m"; "-1m" keeps it loaded).
	KeepAlive string
	// FirstByteTimeout bounds the wait for the response headers (Ollama
	// sends them after loading the model). 0 means no limit.
	FirstByteTimeout time.Duration
	// IdleTimeout bounds the silence between two pieces of a streaming
	// answer, so a stalled server cannot hold a request forever. 0 means
	// no limit.
	IdleTimeout time.Duration
}

// Client is a chat.Generator over one Ollama server. It is safe for
// concurrent use.
type Client struct {
	cfg  Config
	base string
	hc   *http.Client

	defaultModel *openai.DefaultModel
}

var _ chat.Generator = (*Client)(nil)

// New returns a client of the Ollama server in cfg.
func New(cfg Config) *Client {
	// httpx.Transport sends the request id along.
	hc := &http.Client{Transport: httpx.Transport(httpx.StreamingTransport(0))}
	return &Client{cfg: cfg, base: strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/"), hc: hc, defaultModel: openai.NewDefaultModel(cfg.DefaultModel)}
}

type options struct {
	Temperature      *float64 `json:"temperature,omitempty"`
	TopP             *float64 `json:"top_p,omitempty"`
	TopK             *int     `json:"top_k,omitempty"`
	MinP             *float64 `json:"min_p,omitempty"`
	NumPredict       int      `json:"num_predict,omitempty"`
	Stop             []string `json:"stop,omitempty"`
	Seed             *int64   `json:"seed,omitempty"`
	RepeatPenalty    *float64 `json:"repeat_penalty,omitempty"`
	FrequencyPenalty *float64 `json:"frequency_penalty,omitempty"`
	PresencePenalty  *float64 `json:"presence_penalty,omitempty"`
}

func optionsOf(p chat.Params) *options {
	o := options{
		Temperature: p.Temperature, TopP: p.TopP, TopK: p.TopK, MinP: p.MinP,
		NumPredict: p.MaxTokens, Stop: p.Stop, Seed: p.Seed, RepeatPenalty: p.RepeatPenalty,
		FrequencyPenalty: p.FrequencyPenalty, PresencePenalty: p.PresencePenalty,
	}
	if o.Temperature == nil && o.TopP == nil && o.TopK == nil && o.MinP == nil && o.NumPredict == 0 &&
		len(o.Stop) == 0 && o.Seed == nil && o.RepeatPenalty == nil && o.FrequencyPenalty == nil && o.PresencePenalty == nil {
		return nil
	}
	return &o
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatRequest struct {
	Model     string    `json:"model"`
	Messages  []message `json:"messages,omitempty"`
	Prompt    string    `json:"prompt,omitempty"`
	Raw       bool      `json:"raw,omitempty"`
	Stream    bool      `json:"stream"`
	Options   *options  `json:"options,omitempty"`
	KeepAlive string    `json:"keep_alive,omitempty"`
}

// line is one NDJSON line of /api/chat or /api/generate.
type line struct {
	Model   string `json:"model"`
	Message *struct {
		Content string `json:"content"`
	} `json:"message"`
	Response        string `json:"response"`
	Done            bool   `json:"done"`
	DoneReason      string `json:"done_reason"`
	PromptEvalCount int    `json:"prompt_eval_count"`
	EvalCount       int    `json:"eval_count"`
	Error           string `json:"error"`
}

var (
	errFirstByte = errors.New("first byte timeout")
	errIdle      = errors.New("idle timeout")
)

// Generate streams a reply. See chat.Generator.
func (c *Client) Generate(ctx context.Context, req chat.GenerateRequest, emit func(chat.Delta) error) (chat.Generation, error) {
	model, err := c.model(ctx, req.Model)
	if err != nil {
		return chat.Generation{}, err
	}
	gen := chat.Generation{Model: model}
	body := chatRequest{Model: model, Stream: true, Options: optionsOf(req.Params), KeepAlive: c.cfg.KeepAlive}
	path := "/api/chat"
	if req.Prompt != "" {
		path = "/api/generate"
		body.Prompt, body.Raw = req.Prompt, true
	} else {
		body.Messages = make([]message, len(req.Messages))
		for i, t := range req.Messages {
			body.Messages[i] = message{Role: string(t.Role), Content: t.Content}
		}
	}
	resp, cctx, stop, err := c.do(ctx, http.MethodPost, path, body, model)
	if err != nil {
		return gen, err
	}
	defer stop()
	defer resp.Body.Close()

	rd := bufio.NewReaderSize(resp.Body, 64<<10)
	for {
		raw, err := readLine(rd)
		if len(bytes.TrimSpace(raw)) > 0 {
			var ln line
			if jerr := json.Unmarshal(raw, &ln); jerr != nil {
				return gen, c.streamErr(ctx, cctx, chat.E(chat.KindUpstream, "ollama sent a malformed stream", jerr))
			}
			if ln.Error != "" {
				return gen, chat.E(chat.KindUpstream, "Ollama failed: "+httpx.ClipUpstreamText(ln.Error), errors.New(httpx.ClipUpstreamText(ln.Error)))
			}
			if ln.Model != "" {
				gen.Model = ln.Model
			}
			text := ln.Response
			if ln.Message != nil {
				text = ln.Message.Content
			}
			if text != "" {
				if eerr := emit(chat.Delta{Content: text}); eerr != nil {
					return gen, eerr
				}
			}
			if ln.Done {
				gen.FinishReason = chat.FinishStop
				if ln.DoneReason == chat.FinishLength {
					gen.FinishReason = chat.FinishLength
				}
				gen.Usage = chat.Usage{PromptTokens: ln.PromptEvalCount, CompletionTokens: ln.EvalCount}
				return gen, nil
			}
		}
		if errors.Is(err, io.EOF) {
			if ctx.Err() != nil {
				return gen, context.Cause(ctx)
			}
			// No done line but a clean end: Ollama's repetition guard. Keep
			// what arrived as a complete reply.
			gen.FinishReason = chat.FinishStop
			return gen, nil
		}
		if err != nil {
			return gen, c.streamErr(ctx, cctx, chat.E(chat.KindUpstream, "ollama broke off the stream", err))
		}
	}
}

// model returns the model a request for model goes to: model itself, or
// the default one for "".
func (c *Client) model(ctx context.Context, model string) (string, error) {
	if model != "" {
		return model, nil
	}
	return c.defaultModel.Resolve(ctx, c.Models, "ollama has no models; pull one first")
}

// DefaultModel names the model a request without one goes to.
func (c *Client) DefaultModel(ctx context.Context) (string, error) { return c.model(ctx, "") }

func readLine(rd *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		chunk, err := rd.ReadSlice('\n')
		if len(out)+len(chunk) > maxLine {
			return nil, chat.E(chat.KindUpstream, "ollama sent an over-long line", nil)
		}
		out = append(out, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return out, err
	}
}

// streamErr prefers the caller's cancellation and our timeout over the
// failure they caused.
func (c *Client) streamErr(parent, cctx context.Context, err error) error {
	if parent.Err() != nil {
		return context.Cause(parent)
	}
	switch cause := context.Cause(cctx); {
	case errors.Is(cause, errFirstByte):
		return chat.E(chat.KindTimeout, fmt.Sprintf("ollama sent no answer within %s", c.cfg.FirstByteTimeout), err)
	case errors.Is(cause, errIdle):
		return chat.E(chat.KindTimeout, fmt.Sprintf("ollama stalled for %s", c.cfg.IdleTimeout), err)
	}
	var ce *chat.Error
	if errors.As(err, &ce) {
		return err
	}
	return chat.E(chat.KindUnavailable, "ollama unreachable", err)
}

func (c *Client) do(ctx context.Context, method, path string, body any, model string) (*http.Response, context.Context, func(), error) {
	cctx, cancel := context.WithCancelCause(ctx)
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			cancel(nil)
			return nil, nil, nil, fmt.Errorf("ollama: encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(cctx, method, c.base+path, rd)
	if err != nil {
		cancel(nil)
		return nil, nil, nil, chat.E(chat.KindInternal, "invalid ollama URL", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/x-ndjson, application/json")
	var timer *time.Timer
	if d := c.cfg.FirstByteTimeout; d > 0 {
		timer = time.AfterFunc(d, func() { cancel(errFirstByte) })
	}
	resp, err := c.hc.Do(req)
	if timer != nil {
		timer.Stop()
	}
	if err != nil {
		cancel(nil)
		return nil, nil, nil, c.streamErr(ctx, cctx, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		cancel(nil)
		return nil, nil, nil, statusError(resp.StatusCode, b, model)
	}
	if d := c.cfg.IdleTimeout; d > 0 {
		var unwatch func()
		resp.Body, unwatch = httpx.WatchIdle(resp.Body, d, func() { cancel(errIdle) })
		return resp, cctx, func() { unwatch(); cancel(nil) }, nil
	}
	return resp, cctx, func() { cancel(nil) }, nil
}

// statusError maps a non-2xx answer ({"error": "..."}) to a kind and
// Parley's own message.
func statusError(status int, body []byte, model string) *chat.Error {
	var eb struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &eb)
	return httpx.UpstreamStatusError("Ollama", status, model, httpx.UpstreamError{Text: eb.Error})
}

// Models lists the local models (GET /api/tags).
func (c *Client) Models(ctx context.Context) ([]chat.ModelInfo, error) {
	resp, cctx, stop, err := c.do(ctx, http.MethodGet, "/api/tags", nil, "")
	if err != nil {
		return nil, err
	}
	defer stop()
	defer resp.Body.Close()
	var tags struct {
		Models []struct {
			Name  string `json:"name"`
			Model string `json:"model"`
		} `json:"models"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxLine)).Decode(&tags); err != nil {
		return nil, c.streamErr(ctx, cctx, chat.E(chat.KindUpstream, "ollama sent a malformed model list", err))
	}
	out := make([]chat.ModelInfo, 0, len(tags.Models))
	for _, m := range tags.Models {
		id := m.Name
		if id == "" {
			id = m.Model
		}
		if id != "" {
			out = append(out, chat.ModelInfo{ID: id, OwnedBy: "ollama"})
		}
	}
	return out, nil
}
