package model

import (
	"errors"
	"fmt"
	"math"

	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/kvcache"
	"github.com/parley-chat/parley/internal/engine/tensor"
)

// ErrContextFull reports tokens that do not fit in a session's context.
var ErrContextFull = errors.New("context window full")

// Options tune how a Model runs.
type Options struct {
	// Pool runs the matrix kernels; nil runs them on the calling goroutine.
	Pool *tensor.Pool
	// BatchSize is how many prompt tokens go through the network together
	// (matrix-matrix products); 0 means 512, llama.cpp's micro-batch. A
	// session's scratch holds this many tokens' activations (or its
	// context's, if fewer).
	BatchSize int
	// KVType is the sessions' KV cache storage: F32 (the zero value), F16
	// (half the size, read as stored by a decode step) or Q8_0 (about 3.8
	// times smaller); the last two keep attention within their rounding.
	KVType tensor.Type
}

// DefaultBatchSize is the micro-batch of Options.BatchSize 0: the GEMM
// kernels get faster per token up to a few hundred tokens (fewer passes
// over the weights, fewer pool hand-overs), as llama.cpp's 512 does.
const DefaultBatchSize = 512

// Model is a loaded network: hyper-parameters and weights bound to a GGUF
// file, which must stay open while the Model is used. A Model is read-only
// and may serve several Sessions at once.
type Model struct {
	Config Config
	w      *weights
	freqs  []float32
	pool   *tensor.Pool
	batch  int
	kvType tensor.Type
	scale  float32 // attention score scale 1/sqrt(HeadDim)
	// readHalf: a one-token step reads an F16 cache as stored, where the
	// CPU has the strided fp16 kernels for this head size (elsewhere
	// widening each row per query head would cost more than widening the
	// layer once).
	readHalf bool
	// parallelAttention is parallelAttentionWork; tests lower it.
	parallelAttention int
}

// New binds the architecture named by general.architecture to f's tensors.
func New(f *gguf.File, opts Options) (*Model, error) {
	a, err := lookupArch(f.Architecture())
	if err != nil {
		return nil, err
	}
	c, err := readConfig(f, a)
	if err != nil {
		return nil, err
	}
	w, err := bindWeights(f, a, &c)
	if err != nil {
		return nil, err
	}
	batch := opts.BatchSize
	if batch <= 0 {
		batch = DefaultBatchSize
	}
	return &Model{
		Config: c,
		w:      w,
		freqs:  ropeFreqs(c, w.ropeFactors),
		pool:   opts.Pool,
		batch:  batch,
		kvType: opts.KVType,
		scale:  float32(1 / math.Sqrt(float64(c.HeadDim))),

		readHalf: opts.KVType == tensor.F16 && tensor.StridedF16(c.HeadDim),

		parallelAttention: parallelAttentionWork,
	}, nil
}

// Session is one sequence being processed: its KV cache, and for Forward
// the scratch of one sequence's batch (made on first use: sessions driven
// by a shared Batch never need it). It is not safe for concurrent use; use
// one Session per request.
type Session struct {
	m     *Model
	cache *kvcache.Cache
	own   *Batch
	seg   [1]Segment
	toks  []int // a copy of Forward's tokens: the caller's do not escape
}

// NewSession starts an empty sequence holding at most ctxLen tokens
// (0 or more than the trained window means the trained window).
func (m *Model) NewSession(ctxLen int) (*Session, error) {
	c := m.Config
	if ctxLen <= 0 || ctxLen > c.ContextLength {
		ctxLen = c.ContextLength
	}
	kv, err := kvcache.NewTyped(c.Layers, c.HeadsKV*c.HeadDim, ctxLen, m.kvType)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	return &Session{m: m, cache: kv}, nil
}

// Len is the number of tokens processed so far.
func (s *Session) Len() int { return s.cache.Len() }

// Cap is the session's context window.
func (s *Session) Cap() int { return s.cache.Cap() }

// Truncate rewinds the sequence to its first n tokens.
func (s *Session) Truncate(n int) { s.cache.Truncate(n) }

// Forward appends tokens to the sequence and returns the logits predicting
// the token after the last one. The slice is reused by the next call.
func (s *Session) Forward(tokens []int) ([]float32, error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("model: no tokens to process")
	}
	if s.Len()+len(tokens) > s.Cap() {
		return nil, fmt.Errorf("model: %d tokens after %d do not fit in %d: %w", len(tokens), s.Len(), s.Cap(), ErrContextFull)
	}
	for _, t := range tokens {
		if t < 0 || t >= s.m.Config.Vocab {
			return nil, fmt.Errorf("model: token id %d outside the vocabulary of %d", t, s.m.Config.Vocab)
		}
	}
	if s.own == nil {
		s.own = s.m.NewBatch(min(s.m.batch, s.Cap()), 1)
	}
	for len(tokens) > 0 {
		n := min(len(tokens), s.own.rows)
		s.toks = append(s.toks[:0], tokens[:n]...)
		s.seg[0] = Segment{Session: s, Tokens: s.toks, Logits: n == len(tokens)}
		err := s.own.Forward(s.seg[:])
		s.seg[0] = Segment{}
		if err != nil {
			return nil, err
		}
		tokens = tokens[n:]
	}
	return s.own.Logits(0), nil
}

// KVBytesPerToken is the KV cache memory one token of a session takes.
func (m *Model) KVBytesPerToken() int64 {
	return kvcache.BytesPerPosition(m.Config.Layers, m.Config.HeadsKV*m.Config.HeadDim, m.kvType)
}

// BatchSize is the micro-batch: the most prompt tokens one pass takes.
func (m *Model) BatchSize() int { return m.batch }
