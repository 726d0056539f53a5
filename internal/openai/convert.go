package openai

import (
	"github.com/parley-chat/parley/internal/chat"
)

// maxStopStrings bounds the stop strings of a request; more are refused
// rather than passed to a backend.
const maxStopStrings = 16

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
		IgnoreEOS:        p.IgnoreEOS,
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

// TurnsToWire converts chat turns into wire messages.
func TurnsToWire(turns []chat.Turn) []Message {
	msgs := make([]Message, len(turns))
	for i, t := range turns {
		msgs[i] = Message{Role: string(t.Role), Content: TextContent(t.Content)}
	}
	return msgs
}
