package web

import (
	"errors"
	"fmt"

	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/httpx"
)

// ProxyConfig says where the web service finds the api in split mode
// (`parley web`); `parley serve` hands requests to the api in memory.
type ProxyConfig struct {
	// APIURL is the api service's base URL.
	APIURL string
	// TrustedProxies are the proxies in front (comma-separated addresses
	// or CIDRs) whose X-Forwarded-Host and -For are believed and passed on.
	TrustedProxies string
}

// RegisterFlags binds c to its flags, each declaring its default.
func (c *ProxyConfig) RegisterFlags(f *cmdline.Flags) {
	f.String(&c.APIURL, "api-url", "http://127.0.0.1:8081", "base URL of the api service")
	f.String(&c.TrustedProxies, "trusted-proxies", "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7",
		"proxies in front (comma-separated addresses or CIDRs) whose X-Forwarded-Host names the host the browser used; empty: trust none")
}

// Validate reports a configuration with no api to forward to.
func (c ProxyConfig) Validate() error {
	if c.APIURL == "" {
		return errors.New("--api-url is needed")
	}
	if _, err := httpx.ParsePrefixes(c.TrustedProxies); err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	return nil
}
