package chat

import "context"

// Generator writes assistant replies. The built-in engine, the proxies to
// OpenAI-compatible servers and Ollama, and the HTTP client the api uses to
// reach a model service all implement it, so serve mode and split mode run
// the same code paths.
type Generator interface {
	// Generate produces a reply for req, calling emit for each piece of
	// text as it is produced (never concurrently). If emit returns an error
	// generation stops and Generate returns that error. Cancelling ctx must
	// stop the work promptly (within one token for the built-in engine);
	// Generate then returns ctx's error (or its cause) together with the
	// Generation produced so far.
	//
	// Errors are *Error values: KindNotFound for an unknown model,
	// KindInvalid for a request the backend refuses (e.g. the prompt does
	// not fit the context), KindUnavailable when the backend cannot be
	// reached or broke off.
	Generate(ctx context.Context, req GenerateRequest, emit func(Delta) error) (Generation, error)
	// Models lists the models this generator can serve. It doubles as the
	// readiness probe of a model backend.
	Models(ctx context.Context) ([]ModelInfo, error)
}

// Turn is one message of a prompt.
type Turn struct {
	Role    Role   `json:"role"`
	Content string `json:"content"`
}

// GenerateRequest asks for one reply.
type GenerateRequest struct {
	// Model is the model id; "" means the generator's default.
	Model string
	// Messages is the chat so far, system prompt first if any. The
	// backend applies the model's chat template. When the last turn is
	// the assistant's, the model continues that turn (its text is the
	// beginning of the reply) instead of starting a new one.
	Messages []Turn
	// Prompt, when non-empty, is used verbatim instead of Messages (no chat
	// template): OpenAI's legacy /v1/completions.
	Prompt string
	Params Params
}

// Params are the sampling and stopping controls, with OpenAI's meanings.
// Nil pointers mean "the backend's default".
type Params struct {
	Temperature      *float64
	TopP             *float64
	TopK             *int
	MinP             *float64
	RepeatPenalty    *float64
	FrequencyPenalty *float64
	PresencePenalty  *float64
	Seed             *int64
	// MaxTokens limits the reply; 0 means the backend's default.
	MaxTokens int
	Stop      []string
	// IgnoreEOS generates past the model's end of turn, until MaxTokens or
	// a stop string (llama.cpp's ignore_eos; for benchmarks and tests).
	IgnoreEOS bool
}

// Delta is a piece of a streaming reply.
type Delta struct {
	Content string
}

// Finish reasons, with OpenAI's spelling.
const (
	FinishStop   = "stop"   // natural end (EOS) or a stop string
	FinishLength = "length" // MaxTokens or the context was reached
)

// CodeContextLength is the code of the KindInvalid error of a backend that
// refuses a prompt too long for the model's context window (OpenAI's
// spelling), so that a caller can send less and try again.
const CodeContextLength = "context_length_exceeded"

// Generation is the outcome of Generate.
type Generation struct {
	// Model is the model that actually answered.
	Model        string
	FinishReason string
	Usage        Usage
}

// Usage counts tokens, as the backend reports them (0 when unknown).
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	// CachedTokens are the prompt's first tokens the backend did not
	// compute again (its prefix cache); part of PromptTokens.
	CachedTokens int `json:"cached_tokens,omitempty"`
}

// ModelInfo describes a model a generator can serve.
type ModelInfo struct {
	ID      string `json:"id"`
	OwnedBy string `json:"owned_by"`
	// ContextLength is the model's context window in tokens, 0 if unknown.
	ContextLength int `json:"context_length,omitempty"`
}
