package openai

import (
	"context"
	"sync"

	"github.com/parley-chat/parley/internal/chat"
)

// DefaultModel is the model a Generator over a remote server uses for
// requests that name none: the configured one, or else the first the
// server lists, asked once and remembered. The zero value asks. It is safe
// for concurrent use. The Ollama client shares it.
type DefaultModel struct {
	mu sync.Mutex
	id string
}

// NewDefaultModel returns a DefaultModel fixed to id, or asking when id
// is "".
func NewDefaultModel(id string) *DefaultModel { return &DefaultModel{id: id} }

// Resolve returns the default model, calling list the first time none is
// known. none is the client-safe message for a server that lists no model.
func (d *DefaultModel) Resolve(ctx context.Context, list func(context.Context) ([]chat.ModelInfo, error), none string) (string, error) {
	d.mu.Lock()
	id := d.id
	d.mu.Unlock()
	if id != "" {
		return id, nil
	}
	models, err := list(ctx)
	if err != nil {
		return "", err
	}
	if len(models) == 0 {
		return "", chat.Errorf(chat.KindUnavailable, "%s", none)
	}
	d.mu.Lock()
	d.id = models[0].ID
	d.mu.Unlock()
	return models[0].ID, nil
}
