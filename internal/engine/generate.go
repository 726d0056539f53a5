package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/parley-chat/parley/internal/engine/sample"
)

// Generate runs prompt through the model and samples tokens after it,
// calling emit with each one (p.StopTokens are not emitted). It
// waits for earlier generations to finish. Cancelling ctx stops it before
// the next token; it then returns the result so far and ctx's error.
func (m *Model) Generate(ctx context.Context, prompt []int, p Params, emit func(token int) error) (Result, error) {
	res := Result{PromptTokens: len(prompt)}
	if len(prompt) == 0 {
		return res, fmt.Errorf("engine: empty prompt")
	}
	if p.MaxTokens < 0 {
		return res, fmt.Errorf("engine: negative MaxTokens %d", p.MaxTokens)
	}
	if len(prompt) >= m.ctxLen {
		return res, fmt.Errorf("engine: %d prompt tokens, context window %d: %w", len(prompt), m.ctxLen, ErrPromptTooLong)
	}
	vocab := m.net.Config.Vocab
	for _, t := range prompt {
		if t < 0 || t >= vocab {
			return res, fmt.Errorf("engine: prompt token %d outside the vocabulary of %d", t, vocab)
		}
	}
	m.waiting.Add(1)
	select {
	case m.sem <- struct{}{}:
		m.waiting.Add(-1)
	case <-ctx.Done():
		m.waiting.Add(-1)
		return res, context.Cause(ctx)
	}
	defer func() { <-m.sem }()
	if m.closed {
		return res, ErrClosed
	}

	logits, err := m.prefill(ctx, prompt)
	if err != nil {
		return res, err
	}
	smp := sample.New(p.Sampling)
	for _, t := range prompt {
		smp.Accept(t)
	}
	for {
		if err := context.Cause(ctx); err != nil {
			return res, err
		}
		tok := smp.Sample(logits)
		if slices.Contains(p.StopTokens, tok) {
			res.Finish = FinishEOG
			return res, nil
		}
		smp.Accept(tok)
		res.GeneratedTokens++
		if err := emit(tok); err != nil {
			if errors.Is(err, ErrStop) {
				res.Finish = FinishStopped
				return res, nil
			}
			return res, err
		}
		// Stop before computing logits nobody will read.
		if p.MaxTokens > 0 && res.GeneratedTokens >= p.MaxTokens {
			res.Finish = FinishMaxTokens
			return res, nil
		}
		if m.sess.Len() >= m.sess.Cap() {
			res.Finish = FinishContext
			return res, nil
		}
		if logits, err = m.sess.Forward([]int{tok}); err != nil {
			m.forget()
			return res, fmt.Errorf("engine: %w", err)
		}
		m.cached = append(m.cached, tok)
		m.kvTokens.Store(int64(len(m.cached)))
	}
}

// prefill brings the session's cache to prompt, reusing the longest prefix
// shared with the previous request, and returns the logits after it. The
// prompt goes through in batches with a cancellation check between them.
func (m *Model) prefill(ctx context.Context, prompt []int) ([]float32, error) {
	if m.sess == nil {
		s, err := m.net.NewSession(m.ctxLen)
		if err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
		m.sess = s
		m.cached = nil
	}
	keep := commonPrefix(m.cached, prompt)
	// At least one token must run to produce logits.
	keep = min(keep, len(prompt)-1)
	m.sess.Truncate(keep)
	m.cached = m.cached[:keep]
	const chunk = 256
	var logits []float32
	for rest := prompt[keep:]; len(rest) > 0; {
		if err := context.Cause(ctx); err != nil {
			return nil, err
		}
		n := min(len(rest), chunk)
		var err error
		if logits, err = m.sess.Forward(rest[:n]); err != nil {
			m.forget()
			return nil, fmt.Errorf("engine: %w", err)
		}
		m.cached = append(m.cached, rest[:n]...)
		m.kvTokens.Store(int64(len(m.cached)))
		rest = rest[n:]
	}
	return logits, nil
}

// forget drops the cached sequence after a failure left it in doubt.
func (m *Model) forget() {
	m.sess.Truncate(0)
	m.cached = m.cached[:0]
	m.kvTokens.Store(0)
}

func commonPrefix(a, b []int) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
