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
	// SaveInterval and SaveTokens bound how far the stored text of a
	// running reply trails what its clients were sent: it is saved at most
	// SaveInterval after text arrived, or once SaveTokens pieces arrived,
	// whichever comes first. A crash loses at most that much.
	SaveInterval time.Duration
	SaveTokens   int
	// ReplyTimeout bounds one reply from start to end.
	ReplyTimeout time.Duration
	// ReplyLease is how long a process holds a running reply in the store
	// without renewing it (it renews every third of it). A reply whose
	// lease ran out is ended as interrupted by whoever notices first.
	ReplyLease time.Duration
	// SweepInterval is how often the service looks for replies whose lease
	// ran out (it also does at start and when it reads a conversation).
	SweepInterval time.Duration
	// Owner is this process's lease owner id; "" makes a unique one.
	Owner string
	// Relay shares running replies with the other replicas (relay.go);
	// nil: none, a reply is followed and stopped only where it runs.
	Relay Relay
	// MaxTokens caps the length of a reply (0: the model's default).
	MaxTokens int
	// ContextReserve is the room in tokens kept for a reply in the
	// model's context window when no max tokens caps it (at most a
	// quarter of the window): the history sent is what fits in the rest.
	ContextReserve int
	// DefaultModel is used when neither the request nor the conversation
	// names one ("" lets the generator choose).
	DefaultModel string
}

// RegisterFlags binds c to its flags, each declaring its default.
func (c *Config) RegisterFlags(f *cmdline.Flags) {
	f.Int(&c.MaxMessageBytes, "max-message-bytes", 64<<10, "longest user message or system prompt accepted")
	f.Duration(&c.ReplyTimeout, "reply-timeout", 10*time.Minute, "longest a single reply may run")
	f.Duration(&c.ReplyLease, "reply-lease", 30*time.Second, "how long a running reply stays held in the database without renewal (renewed every third of it); a reply whose process died is ended as interrupted once its lease runs out")
	f.Duration(&c.SweepInterval, "reply-sweep-interval", 10*time.Second, "how often to look for replies whose lease ran out, at most --reply-lease (also done at start and when a conversation is read)")
	f.Int(&c.MaxTokens, "max-tokens", 0, "cap on tokens per reply (0: the model's default)")
	f.Int(&c.ContextReserve, "context-reserve", 512, "tokens of the model's context window kept for a reply that no max tokens caps (at most a quarter of the window); the conversation's history fills the rest, oldest turns left out first")
	f.String(&c.DefaultModel, "default-model", "", "model used when a conversation names none (empty: the model service's default)")
}

// DefaultConfig returns the flags' defaults and the settings that have no
// flag.
func DefaultConfig() Config {
	c := cmdline.Defaults((*Config).RegisterFlags)
	c.MaxTitleRunes = 200
	c.SaveInterval = time.Second
	c.SaveTokens = 64
	return c
}

// Validate reports limits that cannot work.
func (c Config) Validate() error {
	if c.MaxMessageBytes <= 0 {
		return errors.New("--max-message-bytes must be positive")
	}
	if c.MaxTokens < 0 || c.ContextReserve < 0 {
		return errors.New("--max-tokens and --context-reserve must not be negative")
	}
	if c.ReplyLease < 100*time.Millisecond || c.SweepInterval <= 0 {
		return errors.New("--reply-lease must be at least 100ms and --reply-sweep-interval positive")
	}
	return nil
}
