package web

import (
	"errors"

	"github.com/parley-chat/parley/internal/cmdline"
)

// ProxyConfig says where the web service finds the api in split mode
// (`parley web`); `parley serve` hands requests to the api in memory.
type ProxyConfig struct {
	// APIURL is the api service's base URL.
	APIURL string
}

// RegisterFlags binds c to its flags, each declaring its default.
func (c *ProxyConfig) RegisterFlags(f *cmdline.Flags) {
	f.String(&c.APIURL, "api-url", "http://127.0.0.1:8081", "base URL of the api service")
}

// Validate reports a configuration with no api to forward to.
func (c ProxyConfig) Validate() error {
	if c.APIURL == "" {
		return errors.New("--api-url is needed")
	}
	return nil
}
