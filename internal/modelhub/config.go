package modelhub

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/parley-chat/parley/internal/cmdline"
)

// Config is where models are kept and where they are pulled from.
type Config struct {
	// Dir is the models directory.
	Dir string
	// Endpoint is the base URL models are downloaded from (Hugging Face or
	// a mirror).
	Endpoint string
}

// RegisterFlags binds c to its flags, each declaring its default.
func (c *Config) RegisterFlags(f *cmdline.Flags) {
	c.RegisterDirFlag(f)
	f.String(&c.Endpoint, "hf-endpoint", DefaultBaseURL, "base URL models are downloaded from (a Hugging Face mirror)")
}

// RegisterDirFlag binds only the models directory, for commands that never
// download.
func (c *Config) RegisterDirFlag(f *cmdline.Flags) {
	f.String(&c.Dir, "models-dir", DefaultDir(), "where pulled models are kept")
}

// Validate reports a configuration with nowhere to keep or find models.
func (c Config) Validate() error {
	if c.Dir == "" {
		return errors.New("--models-dir must name a directory")
	}
	if u, err := url.Parse(c.Endpoint); c.Endpoint != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		return fmt.Errorf("--hf-endpoint %q: want an http(s) URL", c.Endpoint)
	}
	return nil
}
