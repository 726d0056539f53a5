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

// builtin loads the built-in engine with the model modelhub.Locate finds
// for cfg.Model (pulling it on first use).
func (s *Service) builtin(ctx context.Context, cfg ModelConfig, log *slog.Logger) (chat.Generator, error) {
	path, err := modelhub.Locate(ctx, modelhub.Source{Dir: cfg.ModelsDir, Model: cfg.Model, BaseURL: cfg.HFEndpoint}, log)
	if err != nil {
		return nil, fmt.Errorf("built-in engine: %w\n(or use another model server: --backend openai --upstream-url URL, or --backend ollama --upstream-url http://127.0.0.1:11434)", err)
	}
	g, err := builtin.Open(builtin.Config{ModelPath: path, Engine: engine.Options{Threads: cfg.Threads}})
	if err != nil {
		return nil, fmt.Errorf("built-in engine: load %s: %w", path, err)
	}
	s.closers = append(s.closers, g.Close)
	log.Info("model loaded", "model", g.ID(), "path", path)
	return g, nil
}
