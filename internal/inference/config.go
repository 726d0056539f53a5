package inference

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/httpx"
)

// RegisterFlags binds c to the model service's flags, each declaring its
// default. The api builds its /v1 server from its own limits instead.
func (c *Config) RegisterFlags(f *cmdline.Flags) {
	f.Int64(&c.MaxBodyBytes, "max-body-bytes", httpx.DefaultMaxBodyBytes, "largest request body accepted")
	f.Int(&c.MaxTokens, "max-tokens", 0, "cap on tokens per reply (0: the backend's limit)")
	f.Duration(&c.RequestTimeout, "request-timeout", 0, "longest a single generation may run (0: no limit)")
}

// DefaultConfig returns the flags' defaults.
func DefaultConfig() Config { return cmdline.Defaults((*Config).RegisterFlags) }

// Validate reports limits that cannot work.
func (c Config) Validate() error {
	if c.MaxBodyBytes <= 0 || c.MaxTokens < 0 || c.RequestTimeout < 0 {
		return errors.New("--max-body-bytes must be positive, --max-tokens and --request-timeout not negative")
	}
	return nil
}

// RouterConfig names the model services of the api, and how the api
// discovers them, spreads requests over them and tells which are fit.
type RouterConfig struct {
	// URLs are the model services' base URLs, each maybe pinned to model
	// names (see Routes); Key is the bearer key sent to all of them.
	URLs []string
	Key  string
	// KeyFile holds the key when Key is empty: the file a model service's
	// --api-key-file made.
	KeyFile string
	// Resolve makes each URL's host name stand for all the addresses it
	// resolves to, each a model service of its own (a headless Kubernetes
	// Service, a scaled compose service), resolved again at every
	// discovery.
	Resolve bool
	// Lookup resolves a host name for Resolve; nil is the system's
	// resolver.
	Lookup func(ctx context.Context, host string) ([]string, error)
	// RefreshInterval is how often Run re-discovers models (and, with
	// Resolve, addresses).
	RefreshInterval time.Duration
	// MissInterval is the least time between two discoveries caused by
	// requests for unknown models (default 2s), so a client asking for a
	// model that does not exist cannot hammer the backends.
	MissInterval time.Duration
	// DiscoveryTimeout bounds one backend's Models call (default 5s).
	DiscoveryTimeout time.Duration

	// HealthInterval is how often Run checks each model service's
	// readiness (/readyz); 0 checks none, and the pool then learns only
	// from requests.
	HealthInterval time.Duration
	// HealthTimeout bounds one readiness check.
	HealthTimeout time.Duration
	// MaxFailures is how many failures in a row take a model service out
	// of rotation.
	MaxFailures int
	// Backoff is how long a model service out of rotation waits for its
	// next check; each failed check doubles it, up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// BusyWait is how long a model service that answered 429 or 503
	// without a Retry-After is passed over (a Retry-After is honoured up
	// to MaxBackoff).
	BusyWait time.Duration
}

// RegisterFlags binds c to its flags: which model services the api uses,
// and how it tells which of them are fit.
func (c *RouterConfig) RegisterFlags(f *cmdline.Flags) {
	f.List(&c.URLs, "model-url", "base URL of a model service (OpenAI-compatible, e.g. http://model:8082); NAME=URL or A|B=URL sends only those models there, a plain URL is asked what it serves")
	f.Secret(&c.Key, "model-key", "bearer key sent to the model services (their --api-key)")
	f.String(&c.KeyFile, "model-key-file", "", "file holding the key sent to the model services, when --model-key is empty (their --api-key-file)")
	f.Bool(&c.Resolve, "model-resolve", false, "treat every address a --model-url's host name resolves to as a model service of its own (a headless Kubernetes Service, a scaled compose service); resolved again every --model-refresh-interval")
	f.Duration(&c.RefreshInterval, "model-refresh-interval", 30*time.Second, "how often to ask the model services which models they serve")
	f.Duration(&c.HealthInterval, "model-health-interval", 5*time.Second, "how often to check each model service's /readyz (0: never; failing requests alone take one out of rotation)")
	f.Duration(&c.HealthTimeout, "model-health-timeout", 2*time.Second, "longest a model service's readiness check may take")
	f.Int(&c.MaxFailures, "model-max-failures", 3, "failures in a row that take a model service out of rotation")
	f.Duration(&c.Backoff, "model-backoff", time.Second, "first wait before a model service out of rotation is checked again; doubles with each failed check")
	f.Duration(&c.MaxBackoff, "model-max-backoff", time.Minute, "longest wait between checks of a model service out of rotation")
	f.Duration(&c.BusyWait, "model-busy-wait", time.Second, "how long a model service that answered 429 or 503 (busy) is passed over, unless its Retry-After says otherwise")
}

// DefaultRouterConfig returns the flags' defaults.
func DefaultRouterConfig() RouterConfig { return cmdline.Defaults((*RouterConfig).RegisterFlags) }

// withDefaults fills zero fields with the flags' defaults, but for
// HealthInterval, whose zero means no checks.
func (c RouterConfig) withDefaults() RouterConfig {
	d := DefaultRouterConfig()
	for _, f := range []struct{ p, def *time.Duration }{
		{&c.RefreshInterval, &d.RefreshInterval}, {&c.HealthTimeout, &d.HealthTimeout},
		{&c.Backoff, &d.Backoff}, {&c.MaxBackoff, &d.MaxBackoff}, {&c.BusyWait, &d.BusyWait},
	} {
		if *f.p <= 0 {
			*f.p = *f.def
		}
	}
	if c.MissInterval <= 0 {
		c.MissInterval = 2 * time.Second
	}
	if c.DiscoveryTimeout <= 0 {
		c.DiscoveryTimeout = 5 * time.Second
	}
	if c.MaxFailures <= 0 {
		c.MaxFailures = d.MaxFailures
	}
	c.MaxBackoff = max(c.MaxBackoff, c.Backoff)
	return c
}

// Validate reports a router with nothing to route to, and pool settings
// that cannot work.
func (c RouterConfig) Validate() error {
	if len(c.URLs) == 0 {
		return errors.New("needs at least one --model-url (env PARLEY_MODEL_URL), e.g. --model-url http://127.0.0.1:8082")
	}
	for _, raw := range c.URLs {
		if !isHTTPURL(targetOf(raw).url) {
			return fmt.Errorf("--model-url %q: want an http(s) URL, maybe after NAME=", raw)
		}
	}
	switch {
	case c.RefreshInterval <= 0 || c.HealthTimeout <= 0 || c.Backoff <= 0 || c.BusyWait <= 0:
		return errors.New("--model-refresh-interval, --model-health-timeout, --model-backoff and --model-busy-wait must be positive")
	case c.HealthInterval < 0:
		return errors.New("--model-health-interval must not be negative (0 turns the checks off)")
	case c.MaxFailures < 1:
		return errors.New("--model-max-failures must be at least 1")
	case c.MaxBackoff < c.Backoff:
		return fmt.Errorf("--model-max-backoff (%s) must not be shorter than --model-backoff (%s)", c.MaxBackoff, c.Backoff)
	}
	return nil
}

// Backends the model service can serve.
const (
	BackendBuiltin = "builtin"
	BackendOpenAI  = "openai"
	BackendOllama  = "ollama"
)

// BackendConfig is which backend the model service serves, and its model.
type BackendConfig struct {
	// Backend is BackendBuiltin, BackendOpenAI or BackendOllama.
	Backend string
	// Model is a GGUF path or catalogue name (builtin), or the default
	// model id of an upstream.
	Model string
}

// RegisterFlags binds c to its flags, each declaring its default.
func (c *BackendConfig) RegisterFlags(f *cmdline.Flags) {
	f.String(&c.Backend, "backend", BackendBuiltin, "model backend: builtin (GGUF engine), openai (any OpenAI-compatible server), ollama")
	f.String(&c.Model, "model", "", "builtin: GGUF file path or catalogue name; openai/ollama: default model id")
}

// Validate reports an unknown backend.
func (c BackendConfig) Validate() error {
	switch c.Backend {
	case BackendBuiltin, BackendOpenAI, BackendOllama:
		return nil
	}
	return fmt.Errorf("--backend %q: want builtin, openai or ollama", c.Backend)
}
