package app

import (
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFlagsEnvDefaults(t *testing.T) {
	tests := []struct {
		name    string
		target  string
		env     map[string]string
		args    []string
		check   func(t *testing.T, c Config)
		wantErr string
	}{
		{
			name: "defaults", target: TargetServe,
			check: func(t *testing.T, c Config) {
				if c.Server.Addr != "127.0.0.1:8080" || c.Store.Database != "data/parley.db" || c.Backend.Backend != "builtin" ||
					c.API.MaxBodyBytes != 1<<20 || c.Server.ShutdownTimeout != 30*time.Second {
					t.Errorf("defaults: %+v", c)
				}
			},
		},
		{
			name: "env over default", target: TargetAPI,
			env: map[string]string{"PARLEY_ADDR": ":8000", "PARLEY_MODEL_URL": "http://a:1, http://b:2", "PARLEY_REPLY_TIMEOUT": "2m"},
			check: func(t *testing.T, c Config) {
				if c.Server.Addr != ":8000" || !slices.Equal(c.Router.URLs, []string{"http://a:1", "http://b:2"}) || c.Conversation.ReplyTimeout != 2*time.Minute {
					t.Errorf("env: %+v", c)
				}
			},
		},
		{
			name: "flag over env", target: TargetAPI,
			env:  map[string]string{"PARLEY_ADDR": ":8000", "PARLEY_MODEL_URL": "http://a:1"},
			args: []string{"--addr", ":9000", "--model-url", "http://c:3", "--model-url", "http://d:4"},
			check: func(t *testing.T, c Config) {
				if c.Server.Addr != ":9000" || !slices.Equal(c.Router.URLs, []string{"http://c:3", "http://d:4"}) {
					t.Errorf("flags: %+v", c)
				}
			},
		},
		{
			name: "secret from env, hidden from help", target: TargetModel,
			env: map[string]string{"PARLEY_UPSTREAM_KEY": "sk-secret", "PARLEY_BACKEND": "openai", "PARLEY_UPSTREAM_URL": "http://x/v1"},
			check: func(t *testing.T, c Config) {
				if c.Upstream.Key != "sk-secret" {
					t.Errorf("key from env = %q", c.Upstream.Key)
				}
			},
		},
		{name: "api needs a model url", target: TargetAPI, wantErr: "--model-url"},
		{name: "bad env integer", target: TargetServe, env: map[string]string{"PARLEY_MAX_BODY_BYTES": "lots"}, wantErr: "PARLEY_MAX_BODY_BYTES"},
		{name: "bad env duration", target: TargetWeb, env: map[string]string{"PARLEY_SHUTDOWN_TIMEOUT": "5"}, wantErr: "PARLEY_SHUTDOWN_TIMEOUT"},
		{name: "unknown backend", target: TargetModel, args: []string{"--backend", "gpu"}, wantErr: "--backend"},
		{name: "openai needs upstream", target: TargetModel, args: []string{"--backend", "openai"}, wantErr: "--upstream-url"},
		{name: "message limit within body limit", target: TargetServe, args: []string{"--max-body-bytes", "100", "--max-message-bytes", "200"}, wantErr: "--max-message-bytes"},
		{name: "ollama keep-alive is a duration", target: TargetModel, args: []string{"--backend", "ollama", "--upstream-url", "http://o:11434", "--ollama-keep-alive", "-1"}, wantErr: "--ollama-keep-alive"},
		{name: "no negative context", target: TargetServe, args: []string{"--ctx-size", "-1"}, wantErr: "--ctx-size"},
		{name: "at least one sequence", target: TargetModel, args: []string{"--parallel", "0"}, wantErr: "--parallel"},
		{name: "a queue or none", target: TargetServe, args: []string{"--max-queue", "0"}, wantErr: "--max-queue"},
		{name: "known KV cache types", target: TargetModel, args: []string{"--kv-type", "q4_0"}, wantErr: "--kv-type"},
		{name: "bad log level", target: TargetWeb, args: []string{"--log-level", "loud"}, wantErr: "log level"},
		{
			name: "model service settings", target: TargetModel,
			env:  map[string]string{"PARLEY_CTX_SIZE": "512", "PARLEY_OLLAMA_KEEP_ALIVE": "30m"},
			args: []string{"--backend", "ollama", "--upstream-url", "http://o:11434", "--upstream-first-byte-timeout", "1m", "--max-tokens", "64"},
			check: func(t *testing.T, c Config) {
				if c.Builtin.Engine.ContextLength != 512 || c.Ollama.KeepAlive != "30m" || c.Upstream.FirstByteTimeout != time.Minute ||
					c.Inference.MaxTokens != 64 || c.Inference.MaxBodyBytes != 1<<20 {
					t.Errorf("model config: %+v", c)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg Config
			fs, check := NewFlagSet(tt.target, &cfg, func(k string) string { return tt.env[k] })
			fs.SetOutput(io.Discard)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatalf("parse: %v", err)
			}
			err := check()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want mention of %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg)
		})
	}
}

func TestHelpListsEnvNames(t *testing.T) {
	var cfg Config
	fs, _ := NewFlagSet(TargetServe, &cfg, func(k string) string {
		if k == "PARLEY_UPSTREAM_KEY" {
			return "sk-secret"
		}
		return ""
	})
	var b strings.Builder
	fs.SetOutput(&b)
	fs.PrintDefaults()
	for _, want := range []string{"PARLEY_ADDR", "PARLEY_DATABASE", "PARLEY_BACKEND", "PARLEY_UPSTREAM_KEY", "PARLEY_MODELS_DIR"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("help does not mention %s", want)
		}
	}
	if strings.Contains(b.String(), "sk-secret") {
		t.Errorf("help prints the API key from the environment")
	}
}

// Every target's flag set holds the flags of exactly the components it
// runs: no flag of the api in `parley model`, none of the model service in
// `parley api`.
func TestTargetsListTheirComponentsFlags(t *testing.T) {
	flags := func(target string) map[string]bool {
		var cfg Config
		fs, _ := NewFlagSet(target, &cfg, func(string) string { return "" })
		out := map[string]bool{}
		fs.VisitAll(func(f *flag.Flag) { out[f.Name] = true })
		return out
	}
	tests := []struct {
		target     string
		has, lacks []string
	}{
		{TargetServe, []string{"database", "sqlite-read-conns", "backend", "ctx-size", "ollama-keep-alive", "max-body-bytes"}, []string{"model-url", "api-url", "request-timeout"}},
		{TargetAPI, []string{"database", "model-url", "model-key", "max-tokens"}, []string{"backend", "threads", "api-url"}},
		{TargetModel, []string{"backend", "threads", "ctx-size", "parallel", "max-queue", "max-tokens", "request-timeout", "max-body-bytes"}, []string{"database", "model-url", "api-url", "reply-timeout"}},
		{TargetWeb, []string{"api-url", "addr", "log-level"}, []string{"database", "backend", "max-body-bytes"}},
	}
	for _, tt := range tests {
		got := flags(tt.target)
		for _, name := range tt.has {
			if !got[name] {
				t.Errorf("parley %s has no --%s", tt.target, name)
			}
		}
		for _, name := range tt.lacks {
			if got[name] {
				t.Errorf("parley %s has --%s, which it does not use", tt.target, name)
			}
		}
	}
}
