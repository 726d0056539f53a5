package app

import (
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/modelhub"
)

// Config is everything a target needs, parsed from flags and PARLEY_*
// environment variables (flags win over env, env over defaults).
type Config struct {
	// Version is the build's version, for logs.
	Version string

	Addr            string
	LogFormat       string
	LogLevel        string
	ShutdownTimeout time.Duration

	API   APIConfig
	Model ModelConfig
	Web   WebConfig
}

// APIConfig configures the api service.
type APIConfig struct {
	// Database is a SQLite file path or a postgres:// URL.
	Database        string
	ModelURLs       []string
	ModelKey        string
	MaxBodyBytes    int64
	MaxMessageBytes int
	ReplyTimeout    time.Duration
	MaxTokens       int
	DefaultModel    string
}

// ModelConfig configures the model service.
type ModelConfig struct {
	Backend     string // builtin, openai, ollama
	UpstreamURL string
	UpstreamKey string
	// UpstreamIdleTimeout bounds the silence of an upstream mid-answer.
	UpstreamIdleTimeout time.Duration
	// Model is a GGUF path or catalogue name (builtin), or the default
	// model id of an upstream.
	Model     string
	ModelsDir string
	Threads   int
	// HFEndpoint is where models are pulled from (a Hugging Face mirror).
	HFEndpoint string
	// MaxBodyBytes bounds a request to the model service.
	MaxBodyBytes int64
}

// WebConfig configures the web service.
type WebConfig struct {
	APIURL string
}

// Targets are the services parley can run.
const (
	TargetServe = "serve"
	TargetWeb   = "web"
	TargetAPI   = "api"
	TargetModel = "model"
)

func defaultAddr(target string) string {
	switch target {
	case TargetAPI:
		return "127.0.0.1:8081"
	case TargetModel:
		return "127.0.0.1:8082"
	default:
		return "127.0.0.1:8080"
	}
}

// NewFlagSet returns the flag set of a target bound to cfg. Only the flags
// the target uses are registered, so `parley <target> -h` lists exactly
// what matters. env is usually os.Getenv.
func NewFlagSet(target string, cfg *Config, env func(string) string) (*flag.FlagSet, func() error) {
	b := cmdline.NewFlags("parley "+target, env)
	b.String(&cfg.Addr, "addr", defaultAddr(target), "listen address host:port")
	b.String(&cfg.LogFormat, "log-format", "auto", "log format: auto (text on a terminal, else json), text, json")
	b.String(&cfg.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	b.Duration(&cfg.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM or SIGINT, how long running replies may finish before they are saved as stopped (0: stop them at once)")

	if target == TargetServe || target == TargetAPI {
		a := &cfg.API
		b.String(&a.Database, "database", filepath.Join("data", "parley.db"), "SQLite file path, or a postgres:// URL")
		b.Int64(&a.MaxBodyBytes, "max-body-bytes", 1<<20, "largest request body accepted")
		b.Int(&a.MaxMessageBytes, "max-message-bytes", 64<<10, "longest user message or system prompt accepted")
		b.Duration(&a.ReplyTimeout, "reply-timeout", 10*time.Minute, "longest a single reply may run")
		b.Int(&a.MaxTokens, "max-tokens", 0, "cap on tokens per reply (0: the model's default)")
		b.String(&a.DefaultModel, "default-model", "", "model used when a conversation names none (empty: the model service's default)")
	}
	if target == TargetAPI {
		b.List(&cfg.API.ModelURLs, "model-url", "base URL of a model service (OpenAI-compatible, e.g. http://model:8082); NAME=URL or A|B=URL sends only those models there, a plain URL is asked what it serves")
		b.Secret(&cfg.API.ModelKey, "model-key", "bearer key sent to the model services")
	}
	if target == TargetServe || target == TargetModel {
		m := &cfg.Model
		b.String(&m.Backend, "backend", "builtin", "model backend: builtin (GGUF engine), openai (any OpenAI-compatible server), ollama")
		b.String(&m.UpstreamURL, "upstream-url", "", "base URL of the upstream server for the openai or ollama backend (e.g. https://api.openai.com/v1, http://ollama:11434)")
		b.Secret(&m.UpstreamKey, "upstream-key", "API key for the openai backend")
		b.Duration(&m.UpstreamIdleTimeout, "upstream-idle-timeout", 5*time.Minute, "openai/ollama: how long the upstream may fall silent mid-answer before the reply fails (0: no limit)")
		b.String(&m.Model, "model", "", "builtin: GGUF file path or catalogue name; openai/ollama: default model id")
		b.String(&m.ModelsDir, "models-dir", modelhub.DefaultDir(), "where pulled models are stored")
		b.Int(&m.Threads, "threads", 0, "builtin: CPU threads for inference (0: all cores)")
		b.String(&m.HFEndpoint, "hf-endpoint", "https://huggingface.co", "builtin: where models are pulled from (a Hugging Face mirror)")
	}
	if target == TargetModel {
		b.Int64(&cfg.Model.MaxBodyBytes, "max-body-bytes", 1<<20, "largest request body accepted")
	}
	if target == TargetWeb {
		b.String(&cfg.Web.APIURL, "api-url", "http://127.0.0.1:8081", "base URL of the api service")
	}
	check := func() error {
		if err := b.Check(); err != nil {
			return err
		}
		return cfg.validate(target)
	}
	return b.FlagSet, check
}

func (c *Config) validate(target string) error {
	if c.ShutdownTimeout < 0 || c.Model.UpstreamIdleTimeout < 0 {
		return fmt.Errorf("--shutdown-timeout and --upstream-idle-timeout must not be negative")
	}
	switch target {
	case TargetAPI:
		if len(c.API.ModelURLs) == 0 {
			return fmt.Errorf("parley api needs at least one --model-url (env PARLEY_MODEL_URL), e.g. --model-url http://127.0.0.1:8082")
		}
	case TargetWeb:
		if c.Web.APIURL == "" {
			return fmt.Errorf("parley web needs --api-url")
		}
	}
	if target == TargetServe || target == TargetAPI {
		if c.API.MaxBodyBytes <= 0 || c.API.MaxMessageBytes <= 0 {
			return fmt.Errorf("--max-body-bytes and --max-message-bytes must be positive")
		}
		if int64(c.API.MaxMessageBytes) > c.API.MaxBodyBytes {
			return fmt.Errorf("--max-message-bytes (%d) must not exceed --max-body-bytes (%d)", c.API.MaxMessageBytes, c.API.MaxBodyBytes)
		}
	}
	if target == TargetServe || target == TargetModel {
		switch c.Model.Backend {
		case "builtin":
		case "openai", "ollama":
			if c.Model.UpstreamURL == "" {
				return fmt.Errorf("--backend %s needs --upstream-url (env PARLEY_UPSTREAM_URL)", c.Model.Backend)
			}
		default:
			return fmt.Errorf("--backend %q: want builtin, openai or ollama", c.Model.Backend)
		}
	}
	return nil
}
