package conversation

import (
	"errors"
	"time"

	"github.com/parley-chat/parley/internal/cmdline"
)

// Config holds the limits of conversation handling.
type Config struct {
	// MaxMessageBytes bounds a user message and a system prompt.
	MaxMessageBytes int
	// MaxTitleRunes bounds a conversation title.
	MaxTitleRunes int
	// SaveInterval is how often a streaming reply is written to the store,
	// so that a crash loses at most this much of it.
	SaveInterval time.Duration
	// ReplyTimeout bounds one reply from start to end.
	ReplyTimeout time.Duration
	// MaxTokens caps the length of a reply (0: the model's default).
	MaxTokens int
	// DefaultModel is used when neither the request nor the conversation
	// names one ("" lets the generator choose).
	DefaultModel string
}

// RegisterFlags binds c to its flags, each declaring its default.
func (c *Config) RegisterFlags(f *cmdline.Flags) {
	f.Int(&c.MaxMessageBytes, "max-message-bytes", 64<<10, "longest user message or system prompt accepted")
	f.Duration(&c.ReplyTimeout, "reply-timeout", 10*time.Minute, "longest a single reply may run")
	f.Int(&c.MaxTokens, "max-tokens", 0, "cap on tokens per reply (0: the model's default)")
	f.String(&c.DefaultModel, "default-model", "", "model used when a conversation names none (empty: the model service's default)")
}

// DefaultConfig returns the flags' defaults and the settings that have no
// flag.
func DefaultConfig() Config {
	c := cmdline.Defaults((*Config).RegisterFlags)
	c.MaxTitleRunes = 200
	c.SaveInterval = time.Second
	return c
}

// Validate reports limits that cannot work.
func (c Config) Validate() error {
	if c.MaxMessageBytes <= 0 {
		return errors.New("--max-message-bytes must be positive")
	}
	return nil
}
