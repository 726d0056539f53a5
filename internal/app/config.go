package app

import (
	"errors"
	"flag"
	"fmt"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/cluster"
	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/conversation"
	"github.com/parley-chat/parley/internal/conversation/relay"
	"github.com/parley-chat/parley/internal/guard"
	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/inference"
	"github.com/parley-chat/parley/internal/inference/builtin"
	"github.com/parley-chat/parley/internal/limit"
	"github.com/parley-chat/parley/internal/modelhub"
	"github.com/parley-chat/parley/internal/obs"
	"github.com/parley-chat/parley/internal/ollama"
	"github.com/parley-chat/parley/internal/openai"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/sqlite"
	"github.com/parley-chat/parley/internal/web"
)

// Config is everything a target needs: one config per component, each
// declaring its own flags and defaults (RegisterFlags) and checks
// (Validate). A target fills only the configs of the components it runs.
type Config struct {
	// Version is the build's version, for logs.
	Version string

	// Every target.
	Server  httpx.ServerConfig
	Log     obs.LogConfig
	Metrics obs.MetricsConfig

	// The api service (serve, api).
	Store        store.Config
	SQLite       sqlite.Options
	API          api.Config
	Conversation conversation.Config
	Auth         auth.Config
	Accounts     account.Config
	// Router lists the model services (api only; serve has its backend in
	// the process).
	Router inference.RouterConfig
	// Cluster is the Redis the api replicas share, Relay how running
	// replies travel over it (api only: serve is one process).
	Cluster cluster.Config
	Relay   relay.Config

	// Every target but web: the hosts it answers as when nothing else
	// protects it.
	Guard guard.Config
	// Every target with the api: how much one user may use.
	Limits limit.Config

	// The model service (model): who may call it.
	ModelAuth inference.KeyConfig

	// The model service (serve, model).
	Backend  inference.BackendConfig
	Upstream openai.UpstreamConfig
	Ollama   ollama.Config
	Models   modelhub.Config
	Builtin  builtin.Config
	// Inference holds the model service's HTTP limits (model only; the
	// api's /v1 takes the api's).
	Inference inference.Config

	// The web service in split mode (web).
	Web web.ProxyConfig
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

// component is one component's part of a Config.
type component interface {
	RegisterFlags(*cmdline.Flags)
	Validate() error
}

// components are the configs target uses, whose flags its flag set has.
func (c *Config) components(target string) []component {
	apiService := []component{&c.Store, &c.SQLite, &c.API, &c.Conversation, &c.Auth, &c.Accounts, &c.Limits, &c.Guard}
	modelService := []component{&c.Backend, &c.Upstream, &c.Ollama, &c.Models, &c.Builtin}
	out := []component{&c.Log, &c.Metrics}
	switch target {
	case TargetServe:
		out = append(append(out, apiService...), modelService...)
	case TargetAPI:
		out = append(append(out, apiService...), &c.Router, &c.Cluster, &c.Relay)
	case TargetModel:
		out = append(append(out, modelService...), &c.Inference, &c.ModelAuth, &c.Guard)
	case TargetWeb:
		out = append(out, &c.Web)
	}
	return out
}

// NewFlagSet returns the flag set of a target bound to cfg. Only the
// components the target runs register their flags, so `parley <target>
// -h` lists exactly what matters. env is usually os.Getenv. check, after
// parsing, reports bad environment values and invalid settings.
func NewFlagSet(target string, cfg *Config, env func(string) string) (fs *flag.FlagSet, check func() error) {
	f := cmdline.NewFlags("parley "+target, env)
	cfg.Server.RegisterFlags(f, defaultAddr(target))
	for _, c := range cfg.components(target) {
		c.RegisterFlags(f)
	}
	check = func() error {
		if err := f.Check(); err != nil {
			return err
		}
		return cfg.validate(target)
	}
	return f.FlagSet, check
}

// validate runs every component's checks, then those across components.
func (c *Config) validate(target string) error {
	errs := []error{c.Server.Validate()}
	for _, comp := range c.components(target) {
		errs = append(errs, comp.Validate())
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if target == TargetServe || target == TargetAPI {
		if int64(c.Conversation.MaxMessageBytes) > c.API.MaxBodyBytes {
			return fmt.Errorf("--max-message-bytes (%d) must not exceed --max-body-bytes (%d)", c.Conversation.MaxMessageBytes, c.API.MaxBodyBytes)
		}
	}
	if target == TargetServe || target == TargetModel {
		if c.Backend.Backend != inference.BackendBuiltin && c.Upstream.URL == "" {
			return fmt.Errorf("--backend %s needs --upstream-url (env PARLEY_UPSTREAM_URL)", c.Backend.Backend)
		}
	}
	return nil
}
