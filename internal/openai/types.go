// Package openai is the OpenAI wire protocol as Parley speaks it: the JSON
// types of /v1/chat/completions, /v1/completions and /v1/models, reading
// Server-Sent Events (httpx.SSE writes them), conversion between those
// types and the domain's chat.GenerateRequest, Client, a chat.Generator that
// talks to any OpenAI-compatible server (OpenAI itself, vLLM, llama.cpp,
// Ollama's /v1, or Parley's own model service), and UpstreamConfig, how the
// model service reaches such a server. It holds no domain rules of its own.
package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Object names used in the "object" field.
const (
	ObjectChatCompletion      = "chat.completion"
	ObjectChatCompletionChunk = "chat.completion.chunk"
	ObjectTextCompletion      = "text_completion"
	ObjectList                = "list"
	ObjectModel               = "model"
)

// StreamOptions are the options of a streaming request.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage,omitempty"`
}

// SamplingParams are the parameters shared by chat and legacy completion
// requests. TopK, MinP and RepeatPenalty are extensions understood by
// llama.cpp, vLLM, Ollama and Parley, not by OpenAI itself.
type SamplingParams struct {
	Temperature         *float64       `json:"temperature,omitempty"`
	TopP                *float64       `json:"top_p,omitempty"`
	MaxTokens           *int           `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int           `json:"max_completion_tokens,omitempty"`
	Stop                StopList       `json:"stop,omitempty"`
	Seed                *int64         `json:"seed,omitempty"`
	FrequencyPenalty    *float64       `json:"frequency_penalty,omitempty"`
	PresencePenalty     *float64       `json:"presence_penalty,omitempty"`
	TopK                *int           `json:"top_k,omitempty"`
	MinP                *float64       `json:"min_p,omitempty"`
	RepeatPenalty       *float64       `json:"repeat_penalty,omitempty"`
	IgnoreEOS           bool           `json:"ignore_eos,omitempty"`
	N                   *int           `json:"n,omitempty"`
	User                string         `json:"user,omitempty"`
	Logprobs            *bool          `json:"logprobs,omitempty"`
	StreamOptions       *StreamOptions `json:"stream_options,omitempty"`
	// Accepted so that common clients are not refused; a value that would
	// change the answer (a logit bias, a JSON format) is refused by
	// ParamsFromWire instead of silently ignored.
	TopLogprobs    *int               `json:"top_logprobs,omitempty"`
	LogitBias      map[string]float64 `json:"logit_bias,omitempty"`
	ResponseFormat *ResponseFormat    `json:"response_format,omitempty"`
	Store          *bool              `json:"store,omitempty"`
	Metadata       map[string]string  `json:"metadata,omitempty"`
	// Hints that cannot change a text answer, which SDKs and tools send
	// routinely; accepted and ignored.
	ServiceTier       string `json:"service_tier,omitempty"`
	ParallelToolCalls *bool  `json:"parallel_tool_calls,omitempty"`
	PromptCacheKey    string `json:"prompt_cache_key,omitempty"`
	SafetyIdentifier  string `json:"safety_identifier,omitempty"`
	// Function calling is not served; these are read only to refuse it
	// by name rather than as an unknown field.
	Tools      json.RawMessage `json:"tools,omitempty"`
	ToolChoice json.RawMessage `json:"tool_choice,omitempty"`
}

// ResponseFormat is the "response_format" field; only "text" is served.
type ResponseFormat struct {
	Type string `json:"type"`
}

// ChatCompletionRequest is the body of POST /v1/chat/completions.
type ChatCompletionRequest struct {
	Model    string    `json:"model"`
	Messages []Message `json:"messages"`
	Stream   bool      `json:"stream,omitempty"`
	SamplingParams
}

// CompletionRequest is the body of the legacy POST /v1/completions.
type CompletionRequest struct {
	Model  string `json:"model"`
	Prompt Prompt `json:"prompt"`
	Stream bool   `json:"stream,omitempty"`
	SamplingParams
}

// Message is one chat message. Content is a string on the wire, or an array
// of content parts in requests.
type Message struct {
	Role    string  `json:"role"`
	Content Content `json:"content"`
	Name    string  `json:"name,omitempty"`
}

// ContentPart is one element of an array-of-parts message content.
type ContentPart struct {
	Type string `json:"type"`
	Text string `json:"text,omitempty"`
}

// Content is a message's content: a plain string, null, or an array of
// parts. It always encodes as a string unless it holds non-text parts.
type Content struct {
	Parts []ContentPart
}

// TextContent returns a Content holding s.
func TextContent(s string) Content {
	return Content{Parts: []ContentPart{{Type: "text", Text: s}}}
}

// Text returns the text of all text parts, concatenated.
func (c Content) Text() string {
	if len(c.Parts) == 1 {
		return c.Parts[0].Text
	}
	var b bytes.Buffer
	for _, p := range c.Parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// OnlyText reports whether every part is text, and names the first
// other type otherwise.
func (c Content) OnlyText() (bool, string) {
	for _, p := range c.Parts {
		if p.Type != "text" {
			return false, p.Type
		}
	}
	return true, ""
}

func (c Content) MarshalJSON() ([]byte, error) {
	if ok, _ := c.OnlyText(); ok {
		return json.Marshal(c.Text())
	}
	return json.Marshal(c.Parts)
}

func (c *Content) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		c.Parts = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		c.Parts = []ContentPart{{Type: "text", Text: s}}
		return nil
	case len(b) > 0 && b[0] == '[':
		var parts []ContentPart
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		for i, p := range parts {
			if p.Type == "" {
				return fmt.Errorf("content part %d has no type", i)
			}
		}
		c.Parts = parts
		return nil
	}
	return errors.New("content must be a string, null or an array of parts")
}

// StopList is the "stop" field: a string or an array of strings.
type StopList []string

func (s *StopList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*s = nil
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = StopList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("stop must be a string or an array of strings")
	}
	*s = many
	return nil
}

// Prompt is the legacy "prompt" field: a string or an array of strings.
// Parley serves one prompt per request.
type Prompt []string

func (p *Prompt) UnmarshalJSON(b []byte) error {
	var s StopList
	if err := s.UnmarshalJSON(b); err != nil {
		return errors.New("prompt must be a string or an array of strings")
	}
	*p = Prompt(s)
	return nil
}

func (p Prompt) MarshalJSON() ([]byte, error) {
	if len(p) == 1 {
		return json.Marshal(p[0])
	}
	return json.Marshal([]string(p))
}

// Usage counts tokens.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
	// PromptTokensDetails is sent when the backend reused cached tokens.
	PromptTokensDetails *PromptTokensDetails `json:"prompt_tokens_details,omitempty"`
}

// PromptTokensDetails breaks prompt_tokens down.
type PromptTokensDetails struct {
	// CachedTokens were served from the prompt (prefix) cache.
	CachedTokens int `json:"cached_tokens"`
}

// ChatCompletion is the non-streaming answer of /v1/chat/completions.
type ChatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint,omitempty"`
	Choices           []ChatChoice `json:"choices"`
	Usage             *Usage       `json:"usage,omitempty"`
}

// ChatChoice is one choice of a ChatCompletion.
type ChatChoice struct {
	Index        int             `json:"index"`
	Message      ResponseMessage `json:"message"`
	FinishReason *string         `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs,omitempty"`
}

// ResponseMessage is the message of a ChatChoice.
type ResponseMessage struct {
	Role    string  `json:"role"`
	Content *string `json:"content"`
	Refusal *string `json:"refusal,omitempty"`
}

// ChatCompletionChunk is one streamed piece of a chat completion. An
// in-stream error (sent by some servers instead of a chunk) lands in Error.
type ChatCompletionChunk struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Created           int64             `json:"created"`
	Model             string            `json:"model"`
	SystemFingerprint string            `json:"system_fingerprint,omitempty"`
	Choices           []ChatChunkChoice `json:"choices"`
	Usage             *Usage            `json:"usage,omitempty"`
	Error             *ErrorBody        `json:"error,omitempty"`
}

// ChatChunkChoice is one choice of a chunk. FinishReason is null until the
// last content chunk.
type ChatChunkChoice struct {
	Index        int       `json:"index"`
	Delta        ChatDelta `json:"delta"`
	FinishReason *string   `json:"finish_reason"`
}

// ChatDelta is the change a chunk carries. Content is null on role-only or
// finish chunks of some servers.
type ChatDelta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

// Completion is the answer (or, streaming, one chunk) of the legacy
// /v1/completions.
type Completion struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	Created           int64              `json:"created"`
	Model             string             `json:"model"`
	SystemFingerprint string             `json:"system_fingerprint,omitempty"`
	Choices           []CompletionChoice `json:"choices"`
	Usage             *Usage             `json:"usage,omitempty"`
	Error             *ErrorBody         `json:"error,omitempty"`
}

// CompletionChoice is one choice of a Completion.
type CompletionChoice struct {
	Index        int             `json:"index"`
	Text         string          `json:"text"`
	FinishReason *string         `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs"`
}

// Model is one entry of the models list. ContextLength is an extension.
type Model struct {
	ID            string `json:"id"`
	Object        string `json:"object"`
	Created       int64  `json:"created"`
	OwnedBy       string `json:"owned_by"`
	ContextLength int    `json:"context_length,omitempty"`
}

// ModelList is the answer of GET /v1/models.
type ModelList struct {
	Object string  `json:"object"`
	Data   []Model `json:"data"`
}

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody is OpenAI's error object. Code is a string for OpenAI and
// Parley, a number for some other servers, so it is kept raw.
type ErrorBody struct {
	Message string          `json:"message"`
	Type    string          `json:"type,omitempty"`
	Param   *string         `json:"param,omitempty"`
	Code    json.RawMessage `json:"code,omitempty"`
}

// UnmarshalJSON accepts the object form and, as some servers send it, a
// bare string.
func (e *ErrorBody) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		*e = ErrorBody{}
		return json.Unmarshal(b, &e.Message)
	}
	type plain ErrorBody
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*e = ErrorBody(p)
	return nil
}

// CodeString returns Code as text: the string, or the number as written.
func (e ErrorBody) CodeString() string {
	if len(e.Code) == 0 || string(e.Code) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(e.Code, &s) == nil {
		return s
	}
	return string(e.Code)
}

// Ptr returns a pointer to v, for the optional fields above.
func Ptr[T any](v T) *T { return &v }
