package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/engine"
	"github.com/parley-chat/parley/internal/inference/builtin"
	"github.com/parley-chat/parley/internal/modelhub"
)

// builtin loads the built-in engine with cfg.Model: a GGUF path, a model
// already in the models directory, or a catalogue alias / Hugging Face
// file, which is pulled on first use.
func (s *Service) builtin(ctx context.Context, cfg ModelConfig, log *slog.Logger) (chat.Generator, error) {
	name := cfg.Model
	if name == "" {
		name = modelhub.DefaultAlias
	}
	path, err := modelhub.Resolve(cfg.ModelsDir, name)
	if err != nil {
		ref, perr := modelhub.ParseRef(name)
		if perr != nil {
			return nil, fmt.Errorf("%w\n(or use another model server: --backend openai --upstream-url URL, or --backend ollama --upstream-url http://127.0.0.1:11434)", err)
		}
		log.Info("pulling model on first start", "model", name, "into", cfg.ModelsDir)
		p := &modelhub.Puller{Dir: cfg.ModelsDir, BaseURL: cfg.HFEndpoint, Progress: logProgress(log, ref.File)}
		path, err = p.Pull(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("built-in engine: get model %q: %w\n(or use another model server: --backend openai --upstream-url URL, or --backend ollama --upstream-url http://127.0.0.1:11434)", name, err)
		}
	}
	g, err := builtin.Open(builtin.Config{ModelPath: path, Engine: engine.Options{Threads: cfg.Threads}})
	if err != nil {
		return nil, fmt.Errorf("built-in engine: load %s: %w", path, err)
	}
	s.closers = append(s.closers, g.Close)
	log.Info("model loaded", "model", g.ID(), "path", path)
	return g, nil
}

// logProgress reports a download in the log every tenth of the way, which
// reads well both on a terminal and in JSON logs.
func logProgress(log *slog.Logger, file string) func(done, total int64) {
	next := int64(0)
	return func(done, total int64) {
		if total <= 0 || done*10 < next*total {
			return
		}
		log.Info("downloading", "file", file, "percent", done*100/total, "bytes", done, "total", total)
		next = done*10/total + 1
	}
}
