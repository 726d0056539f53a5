package chat

import "context"

// TokenCounter is a Generator that can measure a prompt the way its model
// will read it. Backends that know their tokenizer and chat template (the
// built-in engine, a Parley model service) count exactly; others may
// estimate. CountTokens (the function) serves every Generator.
type TokenCounter interface {
	// CountTokens returns the length in tokens of the prompt req makes,
	// chat template and generation prompt included, and the context
	// window of the model that would answer it. Errors are those of
	// Generate (KindNotFound for an unknown model, KindUnavailable...).
	CountTokens(ctx context.Context, req GenerateRequest) (TokenCount, error)
}

// TokenCount is what a TokenCounter measured.
type TokenCount struct {
	// Model is the model counted for.
	Model string `json:"model"`
	// Tokens is the prompt's length.
	Tokens int `json:"count"`
	// ContextLength is the model's context window, prompt and reply
	// together; 0 when unknown.
	ContextLength int `json:"context_length"`
	// Exact is false for an estimate (EstimateTokens).
	Exact bool `json:"exact"`
}

// Estimation constants: a conservative guess at a prompt's length for
// backends that cannot count. Byte-pair tokenizers average about four
// bytes of English or code per token, so a third overestimates both; each
// message gets room for its chat-template markup (role headers, end of
// turn), the prompt for a leading BOS and the generation prompt. Text of
// one token per character of three bytes or fewer (some CJK, emoji) may
// still be underestimated: callers retry with less when a backend refuses.
const (
	estimateBytesPerToken  = 3
	estimatePerTurnTokens  = 8
	estimatePerPromptTurns = 8
)

// EstimateTokens guesses the length in tokens of the prompt req makes,
// erring on the long side (see the estimation constants).
func EstimateTokens(req GenerateRequest) int {
	n := estimatePerPromptTurns + (len(req.Prompt)+estimateBytesPerToken-1)/estimateBytesPerToken
	for _, t := range req.Messages {
		n += estimatePerTurnTokens + (len(t.Content)+estimateBytesPerToken-1)/estimateBytesPerToken
	}
	return n
}

// CountTokens measures req with gen: exactly when gen is a TokenCounter,
// else as EstimateTokens with the context window gen's Models reports
// for the model (the first listed when req names none).
func CountTokens(ctx context.Context, gen Generator, req GenerateRequest) (TokenCount, error) {
	if tc, ok := gen.(TokenCounter); ok {
		return tc.CountTokens(ctx, req)
	}
	return Estimate(ctx, gen, req)
}

// Estimate is CountTokens for a generator that cannot count: the prompt's
// length by EstimateTokens, the context window from gen's Models (0 for a
// model it does not list: some servers answer for more than they list).
func Estimate(ctx context.Context, gen Generator, req GenerateRequest) (TokenCount, error) {
	models, err := gen.Models(ctx)
	if err != nil {
		return TokenCount{}, err
	}
	tc := TokenCount{Model: req.Model, Tokens: EstimateTokens(req)}
	for _, m := range models {
		if req.Model == "" || m.ID == req.Model {
			tc.Model, tc.ContextLength = m.ID, m.ContextLength
			break
		}
	}
	return tc, nil
}
