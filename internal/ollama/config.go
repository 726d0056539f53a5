package ollama

import (
	"fmt"
	"time"

	"github.com/parley-chat/parley/internal/cmdline"
)

// RegisterFlags binds c to Ollama's own flags, each declaring its default.
// The address and timeouts are the upstream's (openai.UpstreamConfig),
// which the openai backend shares.
func (c *Config) RegisterFlags(f *cmdline.Flags) {
	f.String(&c.KeepAlive, "ollama-keep-alive", "", "ollama: how long Ollama keeps the model loaded after a request, e.g. 30m, -1m (always), 0 (unload at once) (empty: Ollama's default)")
}

// Validate reports a keep-alive Ollama would refuse: it parses the value
// as a Go duration.
func (c Config) Validate() error {
	if c.KeepAlive == "" {
		return nil
	}
	if _, err := time.ParseDuration(c.KeepAlive); err != nil {
		return fmt.Errorf("--ollama-keep-alive %q: want a duration like 30m, -1m or 0", c.KeepAlive)
	}
	return nil
}
