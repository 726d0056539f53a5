package builtin

import (
	"errors"
	"fmt"

	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/engine"
	"github.com/parley-chat/parley/internal/engine/kvcache"
	"github.com/parley-chat/parley/internal/engine/tensor"
)

// RegisterFlags binds the engine settings of c to their flags, each
// declaring its default. ModelPath is the caller's: the model service
// resolves --model, `parley run` its argument.
func (c *Config) RegisterFlags(f *cmdline.Flags) {
	f.Int(&c.Engine.Threads, "threads", 0, "CPU threads of the built-in engine (0: all cores)")
	f.Int(&c.Engine.ContextLength, "ctx-size", 0, fmt.Sprintf("context window of each sequence of the built-in engine in tokens, prompt and reply together (0: the model's, at most %d)", engine.DefaultContextLength))
	f.Int(&c.Engine.Parallel, "parallel", DefaultParallel, "sequences the built-in engine generates at once, each with its own KV cache of --ctx-size tokens, in one batched forward pass per step")
	f.String(&c.KVType, "kv-type", DefaultKVType, "storage of the built-in engine's KV caches: f16 (as llama.cpp keeps them: half f32's memory, and half the bytes each step of a long chat reads), f32, or q8_0 (about 3.8 times smaller than f32); f16 and q8_0 keep attention within their rounding")
	f.Bool(&c.Engine.Mmap, "mmap", false, "keep the built-in engine's weights in a read-only mapping of the model file, shared through the page cache with other processes that map it, instead of a private copy in transparent huge pages (where the system has them): decode reads every weight once per token, and over the mapping's 4 KiB pages it ran 20-35% slower")
	f.Int(&c.Engine.MaxQueue, "max-queue", engine.DefaultMaxQueue, "requests that may wait for a free sequence; beyond them a request is refused at once with 429 and Retry-After (-1: none may wait)")
}

// DefaultKVType is --kv-type's default (kvcache.DefaultType).
const DefaultKVType = kvcache.DefaultType

// DefaultParallel is --parallel's default: a few sequences batch well on
// a CPU without a large KV cache per user.
const DefaultParallel = 4

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	if c.Engine.Threads < 0 || c.Engine.ContextLength < 0 {
		return errors.New("--threads and --ctx-size must not be negative")
	}
	if c.Engine.Parallel < 1 || c.Engine.Parallel > 256 {
		return errors.New("--parallel must be between 1 and 256")
	}
	if c.KVType != "" {
		if _, err := kvType(c.KVType); err != nil {
			return err
		}
	}
	if c.Engine.MaxQueue == 0 || c.Engine.MaxQueue < engine.NoQueue {
		return errors.New("--max-queue must be positive, or -1 for no queue")
	}
	return nil
}

// kvType reads --kv-type.
func kvType(s string) (tensor.Type, error) {
	t, err := kvcache.ParseType(s)
	if err != nil {
		return 0, fmt.Errorf("--kv-type: %w", err)
	}
	return t, nil
}
