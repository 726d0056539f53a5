package openai

import (
	"bytes"

	"github.com/parley-chat/parley/internal/chat"
)

// Limits on what a request may ask for; beyond these values are refused
// rather than passed to a backend.
const (
	maxStopStrings = 16
)

// ParamsFromWire converts the wire sampling fields into chat.Params,
// refusing out-of-range values with KindInvalid errors.
func ParamsFromWire(p SamplingParams) (chat.Params, error) {
	var out chat.Params
	if p.N != nil && *p.N != 1 {
		return out, chat.Errorf(chat.KindInvalid, "n must be 1")
	}
	if p.Logprobs != nil && *p.Logprobs {
		return out, chat.Errorf(chat.KindInvalid, "logprobs are not supported")
	}
	if p.TopLogprobs != nil && *p.TopLogprobs > 0 {
		return out, chat.Errorf(chat.KindInvalid, "top_logprobs are not supported")
	}
	if len(p.LogitBias) > 0 {
		return out, chat.Errorf(chat.KindInvalid, "logit_bias is not supported")
	}
	if p.ResponseFormat != nil && p.ResponseFormat.Type != "text" {
		return out, chat.Errorf(chat.KindInvalid, "response_format %q is not supported; only \"text\"", p.ResponseFormat.Type)
	}
	if t := bytes.TrimSpace(p.Tools); len(t) > 0 && !bytes.Equal(t, []byte("null")) && !bytes.Equal(t, []byte("[]")) {
		return out, chat.Errorf(chat.KindInvalid, "tools (function calling) are not supported")
	}
	switch c := string(bytes.TrimSpace(p.ToolChoice)); c {
	case "", "null", `"none"`, `"auto"`:
	default:
		return out, chat.Errorf(chat.KindInvalid, "tool_choice is not supported; tools (function calling) are not served")
	}
	if p.Temperature != nil && (*p.Temperature < 0 || *p.Temperature > 2) {
		return out, chat.Errorf(chat.KindInvalid, "temperature must be between 0 and 2")
	}
	if p.TopP != nil && (*p.TopP <= 0 || *p.TopP > 1) {
		return out, chat.Errorf(chat.KindInvalid, "top_p must be in (0, 1]")
	}
	if p.MinP != nil && (*p.MinP < 0 || *p.MinP > 1) {
		return out, chat.Errorf(chat.KindInvalid, "min_p must be between 0 and 1")
	}
	if p.TopK != nil && *p.TopK < 0 {
		return out, chat.Errorf(chat.KindInvalid, "top_k must not be negative")
	}
	if v := p.FrequencyPenalty; v != nil && (*v < -2 || *v > 2) {
		return out, chat.Errorf(chat.KindInvalid, "frequency_penalty must be between -2 and 2")
	}
	if v := p.PresencePenalty; v != nil && (*v < -2 || *v > 2) {
		return out, chat.Errorf(chat.KindInvalid, "presence_penalty must be between -2 and 2")
	}
	if p.RepeatPenalty != nil && (*p.RepeatPenalty <= 0 || *p.RepeatPenalty > 10) {
		return out, chat.Errorf(chat.KindInvalid, "repeat_penalty must be in (0, 10]")
	}
	maxTokens := p.MaxCompletionTokens
	if maxTokens == nil {
		maxTokens = p.MaxTokens
	}
	if maxTokens != nil {
		if *maxTokens < 1 {
			return out, chat.Errorf(chat.KindInvalid, "max_tokens must be at least 1")
		}
		out.MaxTokens = *maxTokens
	}
	if len(p.Stop) > maxStopStrings {
		return out, chat.Errorf(chat.KindInvalid, "stop may hold at most %d strings", maxStopStrings)
	}
	for _, s := range p.Stop {
		if s == "" {
			return out, chat.Errorf(chat.KindInvalid, "stop strings must not be empty")
		}
	}
	out.Stop = append([]string(nil), p.Stop...)
	out.Temperature = p.Temperature
	out.TopP = p.TopP
	out.TopK = p.TopK
	out.MinP = p.MinP
	out.RepeatPenalty = p.RepeatPenalty
	out.FrequencyPenalty = p.FrequencyPenalty
	out.PresencePenalty = p.PresencePenalty
	out.Seed = p.Seed
	return out, nil
}

// ParamsToWire converts chat.Params into wire fields. MaxTokens goes into
// max_tokens, or into max_completion_tokens when useMaxCompletionTokens is
// set (OpenAI's reasoning models refuse max_tokens).
func ParamsToWire(p chat.Params, useMaxCompletionTokens bool) SamplingParams {
	out := SamplingParams{
		Temperature:      p.Temperature,
		TopP:             p.TopP,
		TopK:             p.TopK,
		MinP:             p.MinP,
		RepeatPenalty:    p.RepeatPenalty,
		FrequencyPenalty: p.FrequencyPenalty,
		PresencePenalty:  p.PresencePenalty,
		Seed:             p.Seed,
	}
	if len(p.Stop) > 0 {
		out.Stop = append(StopList(nil), p.Stop...)
	}
	if p.MaxTokens > 0 {
		if useMaxCompletionTokens {
			out.MaxCompletionTokens = Ptr(p.MaxTokens)
		} else {
			out.MaxTokens = Ptr(p.MaxTokens)
		}
	}
	return out
}

// TurnsFromWire converts wire messages into chat turns. "developer" (OpenAI's
// newer name for system) becomes system; tool messages and non-text parts
// are refused.
func TurnsFromWire(msgs []Message) ([]chat.Turn, error) {
	if len(msgs) == 0 {
		return nil, chat.Errorf(chat.KindInvalid, "messages must not be empty")
	}
	turns := make([]chat.Turn, 0, len(msgs))
	for i, m := range msgs {
		role := chat.Role(m.Role)
		if m.Role == "developer" {
			role = chat.RoleSystem
		}
		if !role.Valid() {
			return nil, chat.Errorf(chat.KindInvalid, "messages[%d]: role %q is not supported", i, m.Role)
		}
		if ok, typ := m.Content.OnlyText(); !ok {
			return nil, chat.Errorf(chat.KindInvalid, "messages[%d]: content part type %q is not supported", i, typ)
		}
		turns = append(turns, chat.Turn{Role: role, Content: m.Content.Text()})
	}
	return turns, nil
}

// TurnsToWire converts chat turns into wire messages.
func TurnsToWire(turns []chat.Turn) []Message {
	msgs := make([]Message, len(turns))
	for i, t := range turns {
		msgs[i] = Message{Role: string(t.Role), Content: TextContent(t.Content)}
	}
	return msgs
}

// ChatRequestFromWire converts a chat completion request into a
// chat.GenerateRequest.
func ChatRequestFromWire(r ChatCompletionRequest) (chat.GenerateRequest, error) {
	turns, err := TurnsFromWire(r.Messages)
	if err != nil {
		return chat.GenerateRequest{}, err
	}
	params, err := ParamsFromWire(r.SamplingParams)
	if err != nil {
		return chat.GenerateRequest{}, err
	}
	return chat.GenerateRequest{Model: r.Model, Messages: turns, Params: params}, nil
}

// CompletionRequestFromWire converts a legacy completion request into a
// chat.GenerateRequest with Prompt set.
func CompletionRequestFromWire(r CompletionRequest) (chat.GenerateRequest, error) {
	if len(r.Prompt) != 1 {
		return chat.GenerateRequest{}, chat.Errorf(chat.KindInvalid, "prompt must be one string")
	}
	if r.Prompt[0] == "" {
		return chat.GenerateRequest{}, chat.Errorf(chat.KindInvalid, "prompt must not be empty")
	}
	params, err := ParamsFromWire(r.SamplingParams)
	if err != nil {
		return chat.GenerateRequest{}, err
	}
	return chat.GenerateRequest{Model: r.Model, Prompt: r.Prompt[0], Params: params}, nil
}
