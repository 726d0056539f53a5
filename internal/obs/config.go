package obs

import (
	"io"

	"github.com/parley-chat/parley/internal/cmdline"
)

// RegisterFlags binds c to its flags, each declaring its default.
func (c *LogConfig) RegisterFlags(f *cmdline.Flags) {
	f.String(&c.Format, "log-format", "auto", "log format: auto (text on a terminal, else json), text, json")
	f.String(&c.Level, "log-level", "info", "log level: debug, info, warn, error")
}

// Validate reports a format or level NewLogger would refuse.
func (c LogConfig) Validate() error {
	_, err := NewLogger(io.Discard, c)
	return err
}
