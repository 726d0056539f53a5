package inference

import (
	"errors"
	"fmt"

	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/httpx"
)

// RegisterFlags binds c to the model service's flags, each declaring its
// default. The api builds its /v1 server from its own limits instead.
func (c *Config) RegisterFlags(f *cmdline.Flags) {
	f.Int64(&c.MaxBodyBytes, "max-body-bytes", httpx.DefaultMaxBodyBytes, "largest request body accepted")
	f.Int(&c.MaxTokens, "max-tokens", 0, "cap on tokens per reply (0: the backend's limit)")
	f.Duration(&c.RequestTimeout, "request-timeout", 0, "longest a single generation may run (0: no limit)")
}

// DefaultConfig returns the flags' defaults.
func DefaultConfig() Config { return cmdline.Defaults((*Config).RegisterFlags) }

// Validate reports limits that cannot work.
func (c Config) Validate() error {
	if c.MaxBodyBytes <= 0 || c.MaxTokens < 0 || c.RequestTimeout < 0 {
		return errors.New("--max-body-bytes must be positive, --max-tokens and --request-timeout not negative")
	}
	return nil
}

// RegisterFlags binds c to its flags: which model services the api uses.
func (c *RouterConfig) RegisterFlags(f *cmdline.Flags) {
	f.List(&c.URLs, "model-url", "base URL of a model service (OpenAI-compatible, e.g. http://model:8082); NAME=URL or A|B=URL sends only those models there, a plain URL is asked what it serves")
	f.Secret(&c.Key, "model-key", "bearer key sent to the model services")
}

// Validate reports a router with nothing to route to.
func (c RouterConfig) Validate() error {
	if len(c.URLs) == 0 {
		return errors.New("needs at least one --model-url (env PARLEY_MODEL_URL), e.g. --model-url http://127.0.0.1:8082")
	}
	return nil
}

// Backends the model service can serve.
const (
	BackendBuiltin = "builtin"
	BackendOpenAI  = "openai"
	BackendOllama  = "ollama"
)

// BackendConfig is which backend the model service serves, and its model.
type BackendConfig struct {
	// Backend is BackendBuiltin, BackendOpenAI or BackendOllama.
	Backend string
	// Model is a GGUF path or catalogue name (builtin), or the default
	// model id of an upstream.
	Model string
}

// RegisterFlags binds c to its flags, each declaring its default.
func (c *BackendConfig) RegisterFlags(f *cmdline.Flags) {
	f.String(&c.Backend, "backend", BackendBuiltin, "model backend: builtin (GGUF engine), openai (any OpenAI-compatible server), ollama")
	f.String(&c.Model, "model", "", "builtin: GGUF file path or catalogue name; openai/ollama: default model id")
}

// Validate reports an unknown backend.
func (c BackendConfig) Validate() error {
	switch c.Backend {
	case BackendBuiltin, BackendOpenAI, BackendOllama:
		return nil
	}
	return fmt.Errorf("--backend %q: want builtin, openai or ollama", c.Backend)
}
