package httpx

import (
	"errors"
	"time"

	"github.com/parley-chat/parley/internal/cmdline"
)

// DefaultMaxBodyBytes is the request body limit of every service unless its
// --max-body-bytes says otherwise.
const DefaultMaxBodyBytes = 1 << 20

// RegisterFlags binds c to its flags, each declaring its default; addr is
// the target's default listen address.
func (c *ServerConfig) RegisterFlags(f *cmdline.Flags, addr string) {
	f.String(&c.Addr, "addr", addr, "listen address host:port")
	f.Duration(&c.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM or SIGINT, how long running replies may finish before they are saved as stopped (0: stop them at once)")
}

// DefaultServerConfig returns the flags' defaults, listening on addr.
func DefaultServerConfig(addr string) ServerConfig {
	return cmdline.Defaults(func(c *ServerConfig, f *cmdline.Flags) { c.RegisterFlags(f, addr) })
}

// Validate reports settings that cannot work.
func (c ServerConfig) Validate() error {
	if c.ShutdownTimeout < 0 {
		return errors.New("--shutdown-timeout must not be negative")
	}
	return nil
}
