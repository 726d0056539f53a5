// Package engine is Parley's pure-Go inference engine: it loads a GGUF
// model (memory-mapped), runs its architecture (internal/engine/model) over
// KV caches of a few slots and generates tokens with a sampler for several
// requests at once (continuous batching, scheduler.go). Text (tokenizer, chat template, stop strings) is the caller's
// business, and so is which tokens end a turn: the engine speaks token ids
// and stops on the ones its caller names.
package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/kvcache"
	"github.com/parley-chat/parley/internal/engine/model"
	"github.com/parley-chat/parley/internal/engine/sample"
	"github.com/parley-chat/parley/internal/engine/tensor"
)

// ErrClosed reports a generation on a closed Model.
var ErrClosed = errors.New("engine: model closed")

// ErrBusy reports a request refused because every slot is busy and the
// wait queue is full: the caller should try again a little later.
var ErrBusy = errors.New("engine: every slot is busy and the wait queue is full")

// ErrPromptTooLong reports a prompt that does not fit the context window.
var ErrPromptTooLong = errors.New("prompt does not fit the context window")

// DefaultContextLength caps the context when Options leave it to the
// model: trained windows of 128k tokens would make the worst-case KV cache
// gigabytes.
const DefaultContextLength = 4096

// DefaultMaxQueue is the wait queue of Options.MaxQueue 0.
const DefaultMaxQueue = 64

// NoQueue, as Options.MaxQueue, refuses every request that finds no free
// slot.
const NoQueue = -1

// Options configure Load.
type Options struct {
	// ContextLength is the context window of each sequence in tokens; 0
	// means the model's trained window capped at DefaultContextLength. It
	// never exceeds the trained window.
	ContextLength int
	// BatchSize is how many tokens one forward pass takes, prompt chunks
	// and decoded tokens of all sequences together; 0 means
	// model.DefaultBatchSize (512).
	BatchSize int
	// Threads is the kernels' parallelism; 0 means runtime.NumCPU().
	Threads int
	// Parallel is how many sequences generate at once, each in a slot with
	// its own KV cache (of ContextLength tokens at most); 0 means 1.
	Parallel int
	// MaxQueue is how many requests may wait for a slot; beyond it
	// Generate fails at once with ErrBusy. 0 means DefaultMaxQueue,
	// NoQueue none.
	MaxQueue int
	// KVType is the KV caches' storage: tensor.F32 (the zero value),
	// tensor.F16 or tensor.Q8_0.
	KVType tensor.Type
	// Mmap keeps Load's weights in a read-only mapping of the file, shared
	// through the page cache, instead of a private copy in transparent huge
	// pages (where the system has them), which decode steps read faster.
	Mmap bool
	// Log receives queueing events (position, wait); nil discards them.
	Log *slog.Logger
}

// Residence is where Load keeps the weights, as asked by opts.
func (opts Options) Residence() gguf.Residence {
	if opts.Mmap {
		return gguf.Mapped
	}
	return gguf.HugePages
}

// Model is a loaded model ready to generate. It is safe for concurrent use:
// a scheduler goroutine (started by New, stopped by Close) runs up to
// Options.Parallel generations at once, every step one batched forward
// pass over all of them (scheduler.go).
type Model struct {
	file     *gguf.File
	net      *model.Model
	pool     *tensor.Pool
	ctxLen   int
	parallel int
	maxQueue int
	log      *slog.Logger

	mu      sync.Mutex
	queue   []*request // waiting for a slot, in arrival order
	running int        // requests in slots
	closed  bool
	wake    chan struct{} // capacity 1: a request arrived
	stop    chan struct{} // closed by Close
	done    chan struct{} // closed when the scheduler has ended

	sched scheduler // owned by the scheduler goroutine

	// kvTokens is how many tokens' keys and values the slots hold, as of
	// the scheduler's last step (Stats reads it without the scheduler).
	kvTokens atomic.Int64
}

// Stats is what a model is doing now, for metrics.
type Stats struct {
	// Running counts the generations in slots; Waiting those queued for
	// one.
	Running, Waiting int
	// KVCacheTokens is how many tokens' keys and values the slots' caches
	// hold, of ContextLength (every slot's context together).
	KVCacheTokens, ContextLength int
}

// Stats reports the model's slots, queue and caches.
func (m *Model) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Stats{Running: m.running, Waiting: len(m.queue),
		KVCacheTokens: int(m.kvTokens.Load()), ContextLength: m.ctxLen * max(m.parallel, 1)}
}

// Load opens and binds the GGUF model at path.
func Load(path string, opts Options) (*Model, error) {
	f, err := gguf.OpenIn(path, opts.Residence())
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

// New builds a Model over an open file, which Close will close, and starts
// its scheduler.
func New(f *gguf.File, opts Options) (*Model, error) {
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	parallel := max(opts.Parallel, 1)
	maxQueue := opts.MaxQueue
	switch {
	case maxQueue == 0:
		maxQueue = DefaultMaxQueue
	case maxQueue < 0:
		maxQueue = 0
	}
	pool := tensor.NewPool(threads)
	if !kvcache.Supports(opts.KVType) {
		pool.Close()
		return nil, fmt.Errorf("engine: a %v KV cache is not supported (f32, f16 or q8_0)", opts.KVType)
	}
	net, err := model.New(f, model.Options{Pool: pool, BatchSize: opts.BatchSize, KVType: opts.KVType})
	if err != nil {
		pool.Close()
		return nil, err
	}
	if parallel > net.BatchSize() {
		pool.Close()
		return nil, fmt.Errorf("engine: %d parallel sequences do not fit a batch of %d tokens", parallel, net.BatchSize())
	}
	if kvDim := net.Config.HeadsKV * net.Config.HeadDim; opts.KVType == tensor.Q8_0 && kvDim%tensor.Q8_0.BlockSize() != 0 {
		pool.Close()
		return nil, fmt.Errorf("engine: a q8_0 KV cache needs key widths that are a multiple of %d; this model's are %d", tensor.Q8_0.BlockSize(), kvDim)
	}
	ctxLen := opts.ContextLength
	if ctxLen <= 0 {
		ctxLen = min(net.Config.ContextLength, DefaultContextLength)
	}
	ctxLen = min(ctxLen, net.Config.ContextLength)
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Model{file: f, net: net, pool: pool, ctxLen: ctxLen, parallel: parallel, maxQueue: maxQueue, log: log,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	m.sched.init(m)
	go m.sched.loop()
	return m, nil
}

// Close ends running and waiting generations with ErrClosed, stops the
// scheduler and the worker pool and unmaps the file. The Model must not
// be used afterwards.
func (m *Model) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	queued := m.queue
	m.queue = nil
	m.mu.Unlock()
	for _, r := range queued {
		r.end("", ErrClosed)
	}
	close(m.stop)
	<-m.done
	m.pool.Close()
	return m.file.Close()
}

// File is the model's GGUF file, for building its tokenizer and chat
// template.
func (m *Model) File() *gguf.File { return m.file }

// Config is the network's hyper-parameters.
func (m *Model) Config() model.Config { return m.net.Config }

// Parallel is how many generations run at once.
func (m *Model) Parallel() int { return m.parallel }

// KVBytes is the most memory the slots' KV caches take when every slot
// holds a full context (they grow on demand up to it).
func (m *Model) KVBytes() int64 {
	return int64(m.parallel) * int64(m.ctxLen) * m.net.KVBytesPerToken()
}

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
	// them (llama.cpp's ignore_eos) a generation runs to MaxTokens or a
	// full context.
	StopTokens []int
}

// Result describes a finished generation.
type Result struct {
	PromptTokens int
	// CachedTokens are the prompt's first tokens whose keys and values a
	// slot still held from an earlier request (prefix cache): they were
	// not computed again.
	CachedTokens    int
	GeneratedTokens int
	Finish          FinishReason
	// Queued is how long the request waited for a slot.
	Queued time.Duration
}
