package api

import (
	"errors"
	"time"

	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/limit"
)

// Config holds the limits of the HTTP layer. Message and prompt limits
// belong to conversation.Config.
type Config struct {
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes int64
	// KeepAlive is how often a reply stream sends an SSE comment while it
	// waits for the model, so that proxies keep the connection open.
	KeepAlive time.Duration
	// Rate limits the requests of each API key, user or client address
	// (nil: no limit).
	Rate limit.Rate
	// Running limits the /v1 generations each user has running at once,
	// together with their conversation replies (nil: no limit).
	Running limit.Running
}

// RegisterFlags binds c to its flags, each declaring its default.
func (c *Config) RegisterFlags(f *cmdline.Flags) {
	f.Int64(&c.MaxBodyBytes, "max-body-bytes", httpx.DefaultMaxBodyBytes, "largest request body accepted")
}

// DefaultConfig returns the flags' defaults and a 15s KeepAlive.
func DefaultConfig() Config {
	c := cmdline.Defaults((*Config).RegisterFlags)
	c.KeepAlive = 15 * time.Second
	return c
}

// Validate reports limits that cannot work.
func (c Config) Validate() error {
	if c.MaxBodyBytes <= 0 {
		return errors.New("--max-body-bytes must be positive")
	}
	return nil
}
