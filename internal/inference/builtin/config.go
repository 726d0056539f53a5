package builtin

import (
	"errors"
	"fmt"

	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/engine"
)

// RegisterFlags binds the engine settings of c to their flags, each
// declaring its default. ModelPath is the caller's: the model service
// resolves --model, `parley run` its argument.
func (c *Config) RegisterFlags(f *cmdline.Flags) {
	f.Int(&c.Engine.Threads, "threads", 0, "CPU threads of the built-in engine (0: all cores)")
	f.Int(&c.Engine.ContextLength, "ctx-size", 0, fmt.Sprintf("context window of the built-in engine in tokens, prompt and reply together (0: the model's, at most %d)", engine.DefaultContextLength))
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	if c.Engine.Threads < 0 || c.Engine.ContextLength < 0 {
		return errors.New("--threads and --ctx-size must not be negative")
	}
	return nil
}
