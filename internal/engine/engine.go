// Package engine is Parley's pure-Go inference engine: it loads a GGUF
// model (memory-mapped), runs its architecture (internal/engine/model) over
// a per-request KV cache and generates tokens with a sampler, one request at
// a time. Text (tokenizer, chat template, stop strings) is the caller's
// business, and so is which tokens end a turn: the engine speaks token ids
// and stops on the ones its caller names.
package engine

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/model"
	"github.com/parley-chat/parley/internal/engine/sample"
	"github.com/parley-chat/parley/internal/engine/tensor"
)

// ErrClosed reports a generation on a closed Model.
var ErrClosed = errors.New("engine: model closed")

// ErrPromptTooLong reports a prompt that does not fit the context window.
var ErrPromptTooLong = errors.New("prompt does not fit the context window")

// DefaultContextLength caps the context when Options leave it to the
// model: trained windows of 128k tokens would make the worst-case KV cache
// gigabytes.
const DefaultContextLength = 4096

// Options configure Load.
type Options struct {
	// ContextLength is the context window in tokens; 0 means the model's
	// trained window capped at DefaultContextLength. It never exceeds the
	// trained window.
	ContextLength int
	// BatchSize is how many prompt tokens are processed together; 0 means
	// model.DefaultBatchSize (512).
	BatchSize int
	// Threads is the kernels' parallelism; 0 means runtime.NumCPU().
	Threads int
}

// Model is a loaded model ready to generate. It is safe for concurrent use;
// generations run one at a time in arrival order of the lock.
type Model struct {
	file   *gguf.File
	net    *model.Model
	pool   *tensor.Pool
	ctxLen int

	// sem serialises generations; holding it owns sess and cached.
	sem chan struct{}
	// sess keeps the previous request's KV cache so a follow-up that
	// shares its prefix (the next turn of a chat) skips recomputing it.
	sess   *model.Session
	cached []int // the tokens whose keys and values are in sess
	closed bool

	// waiting counts the generations waiting for sem; kvTokens is
	// len(cached), readable without sem (Stats).
	waiting  atomic.Int64
	kvTokens atomic.Int64
}

// Stats is what a model is doing now, for metrics.
type Stats struct {
	// Running is 1 while a generation runs (the engine runs one at a
	// time); Waiting counts the generations queued behind it.
	Running, Waiting int
	// KVCacheTokens is how many tokens' keys and values the cache holds,
	// of ContextLength.
	KVCacheTokens, ContextLength int
}

// Stats reports the model's queue and cache. It takes no lock.
func (m *Model) Stats() Stats {
	return Stats{Running: len(m.sem), Waiting: int(m.waiting.Load()),
		KVCacheTokens: int(m.kvTokens.Load()), ContextLength: m.ctxLen}
}

// Load opens and binds the GGUF model at path.
func Load(path string, opts Options) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("engine: load: %w", err)
	}
	m, err := New(f, opts)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("engine: load %s: %w", path, err)
	}
	return m, nil
}

// New builds a Model over an open file, which Close will close.
func New(f *gguf.File, opts Options) (*Model, error) {
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	pool := tensor.NewPool(threads)
	net, err := model.New(f, model.Options{Pool: pool, BatchSize: opts.BatchSize})
	if err != nil {
		pool.Close()
		return nil, err
	}
	ctxLen := opts.ContextLength
	if ctxLen <= 0 {
		ctxLen = min(net.Config.ContextLength, DefaultContextLength)
	}
	ctxLen = min(ctxLen, net.Config.ContextLength)
	return &Model{file: f, net: net, pool: pool, ctxLen: ctxLen, sem: make(chan struct{}, 1)}, nil
}

// Close waits for a running generation to finish, then stops the worker
// pool and unmaps the file. The Model must not be used afterwards.
func (m *Model) Close() error {
	m.sem <- struct{}{}
	defer func() { <-m.sem }()
	if m.closed {
		return nil
	}
	m.closed = true
	m.sess, m.cached = nil, nil
	m.pool.Close()
	return m.file.Close()
}

// File is the model's GGUF file, for building its tokenizer and chat
// template.
func (m *Model) File() *gguf.File { return m.file }

// Config is the network's hyper-parameters.
func (m *Model) Config() model.Config { return m.net.Config }

// ContextLength is the context window generations run in.
func (m *Model) ContextLength() int { return m.ctxLen }

// FinishReason says why a generation ended.
type FinishReason string

const (
	FinishEOG       FinishReason = "eog"        // the model ended its turn (a StopTokens id)
	FinishMaxTokens FinishReason = "max_tokens" // Params.MaxTokens reached
	FinishContext   FinishReason = "context"    // the context window is full
	FinishStopped   FinishReason = "stopped"    // emit asked to stop (ErrStop)
)

// ErrStop, returned by emit, ends a generation normally (e.g. the caller
// matched a stop string); Generate then returns FinishStopped and no error.
var ErrStop = errors.New("stop generation")

// Params control one generation.
type Params struct {
	// MaxTokens caps the generated tokens; 0 means until the context is full.
	MaxTokens int
	Sampling  sample.Params
	// StopTokens end the generation (FinishEOG) and are not emitted: the
	// vocabulary's end-of-generation set (tokenizer.Tokenizer.EOG). Without
	// them a generation runs to MaxTokens or a full context.
	StopTokens []int
}

// Result describes a finished generation.
type Result struct {
	PromptTokens    int
	GeneratedTokens int
	Finish          FinishReason
}
