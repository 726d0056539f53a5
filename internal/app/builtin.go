package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/inference/builtin"
	"github.com/parley-chat/parley/internal/modelhub"
)

// builtin loads the built-in engine with the model modelhub.Locate finds
// for the name model in hub (pulling it on first use).
func (s *Service) builtin(ctx context.Context, cfg builtin.Config, hub modelhub.Config, model string, log *slog.Logger) (chat.Generator, error) {
	path, err := modelhub.Locate(ctx, modelhub.Source{Dir: hub.Dir, Model: model, BaseURL: hub.Endpoint}, log)
	if err != nil {
		return nil, fmt.Errorf("built-in engine: %w\n(or use another model server: --backend openai --upstream-url URL, or --backend ollama --upstream-url http://127.0.0.1:11434)", err)
	}
	cfg.ModelPath = path
	cfg.Engine.Log = log
	g, err := builtin.Open(cfg)
	if err != nil {
		return nil, fmt.Errorf("built-in engine: load %s: %w", path, err)
	}
	s.closers = append(s.closers, g.Close)
	parallel, kv := g.Slots()
	log.Info("model loaded", "model", g.ID(), "path", path, "parallel", parallel,
		"ctx_size", g.ContextLength(), "kv_cache_max_mib", kv>>20, "weights", g.Weights().String())
	return g, nil
}
