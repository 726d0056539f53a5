package openai

import (
	"errors"
	"time"

	"github.com/parley-chat/parley/internal/cmdline"
)

// UpstreamConfig is how the model service reaches the server it proxies:
// an OpenAI-compatible one through Client, or Ollama (internal/ollama),
// which shares these settings.
type UpstreamConfig struct {
	// URL is the server's base URL.
	URL string
	// Key is the API key sent as a bearer token (OpenAI-compatible only).
	Key string
	// FirstByteTimeout bounds the wait for the answer's headers (0: none).
	FirstByteTimeout time.Duration
	// IdleTimeout bounds the silence mid-answer (0: none).
	IdleTimeout time.Duration
}

// RegisterFlags binds c to its flags, each declaring its default.
func (c *UpstreamConfig) RegisterFlags(f *cmdline.Flags) {
	f.String(&c.URL, "upstream-url", "", "base URL of the upstream server for the openai or ollama backend (e.g. https://api.openai.com/v1, http://ollama:11434)")
	f.Secret(&c.Key, "upstream-key", "API key for the openai backend")
	f.Duration(&c.FirstByteTimeout, "upstream-first-byte-timeout", 0, "openai/ollama: how long the upstream may take to start answering, loading a model included (0: no limit)")
	f.Duration(&c.IdleTimeout, "upstream-idle-timeout", 5*time.Minute, "openai/ollama: how long the upstream may fall silent mid-answer before the reply fails (0: no limit)")
}

// Validate reports settings that cannot work. Whether a URL is needed
// depends on the backend, which the caller knows.
func (c UpstreamConfig) Validate() error {
	if c.FirstByteTimeout < 0 || c.IdleTimeout < 0 {
		return errors.New("--upstream-first-byte-timeout and --upstream-idle-timeout must not be negative")
	}
	return nil
}

// Options are the client options c implies, model the default model.
func (c UpstreamConfig) Options(model string) []Option {
	return []Option{WithDefaultModel(model), WithFirstByteTimeout(c.FirstByteTimeout), WithIdleTimeout(c.IdleTimeout)}
}
