// Package builtin is the chat.Generator of Parley's own inference engine:
// it owns a loaded GGUF model with its tokenizer and chat template, turns
// requests into token ids, runs the engine, and streams the reply back as
// text, holding back partial UTF-8 and anything that may turn out to be a
// stop string.
package builtin

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/chattemplate"
	"github.com/parley-chat/parley/internal/engine"
	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/sample"
	"github.com/parley-chat/parley/internal/tokenizer"
)

// Sampling defaults when a request leaves a parameter unset: llama.cpp's.
const (
	DefaultTemperature = 0.8
	DefaultTopK        = 40
	DefaultTopP        = 0.95
	DefaultMinP        = 0.05
)

// Config configures Open.
type Config struct {
	// ModelPath is the GGUF file to load.
	ModelPath string
	// ID names the model in requests and listings; "" means the file name
	// without its extension ("stories260K").
	ID string
	// Engine tunes the engine (context window, threads, batch size,
	// sequences, queue).
	Engine engine.Options
	// KVType is the KV caches' storage, "f32", "f16" or "q8_0"; "" leaves
	// Engine.KVType.
	KVType string
}

// ownedBy is reported in Models.
const ownedBy = "parley"

// Generator serves one loaded model. It is safe for concurrent use; the
// engine runs up to Config.Engine.Parallel generations at once and queues
// the rest.
type Generator struct {
	id      string
	model   *engine.Model
	tok     *tokenizer.Tokenizer
	tmpl    *chattemplate.Template
	bosText string
	// eog ends every generation: the vocabulary's end-of-generation ids.
	eog []int
}

var (
	_ chat.Generator    = (*Generator)(nil)
	_ chat.TokenCounter = (*Generator)(nil)
)

// Open loads the model at cfg.ModelPath.
func Open(cfg Config) (*Generator, error) {
	if cfg.KVType != "" {
		t, err := kvType(cfg.KVType)
		if err != nil {
			return nil, err
		}
		cfg.Engine.KVType = t
	}
	m, err := engine.Load(cfg.ModelPath, cfg.Engine)
	if err != nil {
		return nil, fmt.Errorf("builtin: %w", err)
	}
	id := cfg.ID
	if id == "" {
		id = ModelID(cfg.ModelPath)
	}
	g, err := New(id, m)
	if err != nil {
		m.Close()
		return nil, err
	}
	return g, nil
}

// ModelID derives a model id from a file path: the base name without its
// extension.
func ModelID(path string) string {
	base := filepath.Base(path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// New serves an already loaded model under id; Close will close it.
func New(id string, m *engine.Model) (*Generator, error) {
	tok, err := tokenizer.FromGGUF(m.File())
	if err != nil {
		return nil, fmt.Errorf("builtin: model %s: %w", id, err)
	}
	if tok.Size() != m.Config().Vocab {
		return nil, fmt.Errorf("builtin: model %s: tokenizer has %d tokens, the network %d", id, tok.Size(), m.Config().Vocab)
	}
	tmpl, err := chattemplate.FromGGUF(m.File())
	if err != nil {
		return nil, fmt.Errorf("builtin: model %s: %w", id, err)
	}
	g := &Generator{id: id, model: m, tok: tok, tmpl: tmpl, eog: tok.EOG()}
	if tok.BOS() != tokenizer.NoToken {
		g.bosText = tok.Text(tok.BOS())
	}
	return g, nil
}

// Close releases the model.
func (g *Generator) Close() error { return g.model.Close() }

// ID is the model id this generator answers to.
func (g *Generator) ID() string { return g.id }

// Slots describes the engine's sequences: how many run at once, and the
// most memory their KV caches take (each grows up to ContextLength).
func (g *Generator) Slots() (parallel int, kvBytes int64) {
	return g.model.Parallel(), g.model.KVBytes()
}

// Weights says where the model's weights live (a mapping of the file, or
// a copy in huge pages, per --mmap and what the system has).
func (g *Generator) Weights() gguf.Residence { return g.model.File().Residence() }

// ContextLength is the context window in tokens: a prompt and its reply
// together fit in it.
func (g *Generator) ContextLength() int { return g.model.ContextLength() }

// Chats reports whether the model has a chat format: its own template or a
// known family's. A base model without one only gets its messages' contents
// one after another; it is better asked to continue a text (Prompt).
func (g *Generator) Chats() bool {
	return !g.tmpl.IsBuiltin() || g.tmpl.Family() != chattemplate.FamilyPlain
}

// DefaultModel names the model a request without one gets: the loaded one.
func (g *Generator) DefaultModel(context.Context) (string, error) { return g.id, nil }

// Models lists the one loaded model.
func (g *Generator) Models(context.Context) ([]chat.ModelInfo, error) {
	return []chat.ModelInfo{{ID: g.id, OwnedBy: ownedBy, ContextLength: g.ContextLength()}}, nil
}

// CountTokens implements chat.TokenCounter: the prompt req makes, counted
// exactly as Generate tokenizes it.
func (g *Generator) CountTokens(_ context.Context, req chat.GenerateRequest) (chat.TokenCount, error) {
	if err := g.checkModel(req.Model); err != nil {
		return chat.TokenCount{}, err
	}
	prompt, err := g.promptTokens(req)
	if err != nil {
		return chat.TokenCount{}, err
	}
	return chat.TokenCount{Model: g.id, Tokens: len(prompt), ContextLength: g.ContextLength(), Exact: true}, nil
}

func (g *Generator) checkModel(model string) error {
	if model != "" && model != g.id {
		return &chat.Error{Kind: chat.KindNotFound, Code: "model_not_found",
			Message: fmt.Sprintf("model %q not found (this backend serves %q)", model, g.id)}
	}
	return nil
}

// Generate implements chat.Generator.
func (g *Generator) Generate(ctx context.Context, req chat.GenerateRequest, emit func(chat.Delta) error) (chat.Generation, error) {
	gen := chat.Generation{Model: g.id}
	if err := g.checkModel(req.Model); err != nil {
		return gen, err
	}
	prompt, err := g.promptTokens(req)
	if err != nil {
		return gen, err
	}
	gen.Usage.PromptTokens = len(prompt)
	if len(prompt) >= g.model.ContextLength() {
		return gen, &chat.Error{Kind: chat.KindInvalid, Code: chat.CodeContextLength, Err: engine.ErrPromptTooLong,
			Message: fmt.Sprintf("the prompt is %d tokens long; the model's context window is %d",
				len(prompt), g.model.ContextLength())}
	}
	params, err := g.params(req.Params)
	if err != nil {
		return gen, err
	}
	out := newStream(g.tok, req.Params.Stop, emit)
	res, err := g.model.Generate(ctx, prompt, params, out.token)
	gen.Usage.CompletionTokens = res.GeneratedTokens
	gen.Usage.CachedTokens = res.CachedTokens
	switch res.Finish {
	case engine.FinishEOG, engine.FinishStopped:
		gen.FinishReason = chat.FinishStop
	case engine.FinishMaxTokens, engine.FinishContext:
		gen.FinishReason = chat.FinishLength
	}
	if err != nil {
		return gen, g.generateError(ctx, out, err)
	}
	if !out.stopped {
		if err := out.finish(); err != nil {
			return gen, err
		}
	}
	if out.stopped {
		gen.FinishReason = chat.FinishStop
	}
	return gen, nil
}

func (g *Generator) generateError(ctx context.Context, out *stream, err error) error {
	switch {
	case out.emitErr != nil && errors.Is(err, out.emitErr):
		return out.emitErr // the caller's own error, as chat.Generator promises
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case errors.Is(err, engine.ErrBusy):
		return &chat.Error{Kind: chat.KindRateLimited, Code: "server_busy", RetryAfter: time.Second, Err: err,
			Message: "the model is busy: every sequence is generating and the wait queue is full; try again shortly"}
	case errors.Is(err, engine.ErrPromptTooLong):
		return &chat.Error{Kind: chat.KindInvalid, Code: chat.CodeContextLength,
			Message: "the prompt does not fit the model's context window", Err: err}
	}
	return chat.E(chat.KindInternal, "the built-in engine failed", err)
}

// promptTokens renders and tokenizes the request. A last message of the
// assistant's is continued: the turns before it are rendered with the
// generation prompt, as for a new reply, and its text follows as the
// reply's beginning (what llama-server does with an assistant prefill).
func (g *Generator) promptTokens(req chat.GenerateRequest) ([]int, error) {
	if req.Prompt != "" {
		// Legacy completions: the text as given, BOS added and special
		// tokens parsed, as llama-server does.
		return g.tok.Encode(req.Prompt, true, true), nil
	}
	if len(req.Messages) == 0 {
		return nil, chat.Errorf(chat.KindInvalid, "the request has neither messages nor a prompt")
	}
	msgs, prefix := req.Messages, ""
	if last := msgs[len(msgs)-1]; last.Role == chat.RoleAssistant {
		msgs, prefix = msgs[:len(msgs)-1], last.Content
	}
	text, err := g.tmpl.Render(msgs, true)
	if err != nil {
		if chat.KindOf(err) != chat.KindInternal {
			return nil, err
		}
		return nil, chat.E(chat.KindInternal, "rendering the chat template failed", err)
	}
	text += prefix
	if g.tok.AddBOS() {
		// Templates that print the BOS text would otherwise get two.
		text = chattemplate.TrimBOS(text, g.bosText)
	}
	return g.tok.Encode(text, true, true), nil
}

// params maps OpenAI-style parameters to the engine's, with defaults.
func (g *Generator) params(p chat.Params) (engine.Params, error) {
	s := sample.Params{Temperature: DefaultTemperature, TopK: DefaultTopK, TopP: DefaultTopP, MinP: DefaultMinP}
	if p.Temperature != nil {
		s.Temperature = *p.Temperature
	}
	if p.TopK != nil {
		s.TopK = *p.TopK
	}
	if p.TopP != nil {
		s.TopP = *p.TopP
	}
	if p.MinP != nil {
		s.MinP = *p.MinP
	}
	if p.RepeatPenalty != nil {
		s.RepeatPenalty = *p.RepeatPenalty
	}
	if p.FrequencyPenalty != nil {
		s.FrequencyPenalty = *p.FrequencyPenalty
	}
	if p.PresencePenalty != nil {
		s.PresencePenalty = *p.PresencePenalty
	}
	if p.Seed != nil {
		s.Seed = uint64(*p.Seed)
	} else {
		s.Seed = rand.Uint64()
	}
	switch {
	case s.Temperature < 0 || s.Temperature > 100:
		return engine.Params{}, chat.Errorf(chat.KindInvalid, "temperature %g is out of range", s.Temperature)
	case s.TopP < 0 || s.TopP > 1:
		return engine.Params{}, chat.Errorf(chat.KindInvalid, "top_p %g is out of range [0, 1]", s.TopP)
	case s.MinP < 0 || s.MinP > 1:
		return engine.Params{}, chat.Errorf(chat.KindInvalid, "min_p %g is out of range [0, 1]", s.MinP)
	case s.RepeatPenalty < 0:
		return engine.Params{}, chat.Errorf(chat.KindInvalid, "repeat_penalty %g is negative", s.RepeatPenalty)
	case p.MaxTokens < 0:
		return engine.Params{}, chat.Errorf(chat.KindInvalid, "max_tokens %d is negative", p.MaxTokens)
	}
	out := engine.Params{MaxTokens: p.MaxTokens, Sampling: s, StopTokens: g.eog}
	if p.IgnoreEOS {
		out.StopTokens = nil
	}
	return out, nil
}

// Load reports the generations waiting for a slot and the share of the
// slots' context windows their KV caches hold, for the model service's
// metrics.
func (g *Generator) Load() (waiting int, kvCacheUsage float64) {
	st := g.model.Stats()
	if st.ContextLength > 0 {
		kvCacheUsage = float64(st.KVCacheTokens) / float64(st.ContextLength)
	}
	return st.Waiting, kvCacheUsage
}
