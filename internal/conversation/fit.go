package conversation

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/parley-chat/parley/internal/chat"
)

// This file fits a conversation into the model's context window: the
// system prompt always, then the newest turns that fit, leaving room for
// the reply. Prompts are measured the way the model will read them
// (chat.TokenCounter: the model service tokenizes the templated chat), or
// estimated on the long side by backends that cannot count; a backend that
// still refuses the prompt gets one more try with less.

// history is a conversation as the model may see it: the system prompt,
// then turns made of stored messages, each with its message's id.
type history struct {
	system string
	turns  []chat.Turn
	ids    []string
	// cont: the last turn is the reply being continued, which the model
	// extends rather than answers.
	cont bool
}

// historyOf is the history of c for its next reply: every message but
// replies that failed, were interrupted or never started, and, when cont
// names the conversation's last message, that reply to continue whatever
// its status.
func historyOf(c chat.Conversation, cont string) history {
	h := history{system: c.SystemPrompt}
	for i, m := range c.Messages {
		continued := cont != "" && m.ID == cont && i == len(c.Messages)-1
		if !continued && m.Role == chat.RoleAssistant && (m.Status == chat.StatusFailed || m.Status == chat.StatusInterrupted ||
			m.Status == chat.StatusStreaming || m.Content == "") {
			continue
		}
		h.turns = append(h.turns, chat.Turn{Role: m.Role, Content: m.Content})
		h.ids = append(h.ids, m.ID)
		h.cont = continued
	}
	return h
}

// prompt is the system prompt and the turns from index from on, the last
// one (the reply continued) cut to its text from byte offset cut.
func (h history) prompt(from, cut int) []chat.Turn {
	turns := make([]chat.Turn, 0, len(h.turns)-from+1)
	if h.system != "" {
		turns = append(turns, chat.Turn{Role: chat.RoleSystem, Content: h.system})
	}
	turns = append(turns, h.turns[from:]...)
	if cut > 0 {
		last := &turns[len(turns)-1]
		last.Content = last.Content[cut:]
	}
	return turns
}

// starts are the indices where a prompt may begin, oldest first: the
// user's turns, so that no reply is shown without its question (several
// chat templates refuse that). The newest is the turn answered (or, when
// continuing, the one the reply answers).
func (h history) starts() []int {
	var out []int
	for i, t := range h.turns {
		if t.Role == chat.RoleUser {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		out = []int{0}
	}
	return out
}

// fitted is what the model is sent: the request, the id of the oldest
// message in it, and its length in tokens (as counted, or estimated).
type fitted struct {
	req    chat.GenerateRequest
	from   string
	tokens int
}

// reserve is the room kept for the reply in a window of n tokens: its
// max tokens when set, else the configured reserve, within a share of
// the window so that some history always fits.
func (s *Service) reserve(maxTokens, n int) int {
	if maxTokens > 0 {
		return min(maxTokens, n/2)
	}
	return min(s.cfg.ContextReserve, n/4)
}

// fit chooses what of h the model sees for req. limit, when positive,
// caps the prompt's length in tokens below what the context window
// allows (the retry after a backend refused a prompt). A prompt for a
// model whose window is unknown is sent whole: the backend has the last
// word.
//
// Prompts are measured from the newest turn back, galloping then
// bisecting over where they start, so that what is measured stays within
// about twice the window however long the conversation: a few small
// counts for a short one.
func (s *Service) fit(ctx context.Context, req chat.GenerateRequest, h history, limit int) (fitted, error) {
	m := measure{s: s, ctx: ctx, req: req, h: h}
	starts := h.starts()
	newest := starts[len(starts)-1]
	f, tc, err := m.count(newest, 0)
	if err != nil {
		return fitted{}, err
	}
	m.budget = limit
	if tc.ContextLength > 0 {
		m.window, m.reserve = tc.ContextLength, s.reserve(req.Params.MaxTokens, tc.ContextLength)
		if b := m.window - m.reserve; m.budget <= 0 || b < m.budget {
			m.budget = b
		}
	}
	if m.budget <= 0 {
		// An unknown window: all of it, its length estimated (for the
		// retry should the backend refuse it).
		whole := fitted{req: req, from: h.ids[0]}
		whole.req.Messages = h.prompt(0, 0)
		whole.tokens = chat.EstimateTokens(whole.req)
		return whole, nil
	}
	switch {
	case f.tokens > m.budget && h.cont:
		return m.tail(newest)
	case f.tokens > m.budget:
		return fitted{}, m.tooLong(f.tokens)
	}
	// fits(starts[lo]) holds, fits(starts[hi]) does not (-1: unknown).
	lo, hi := len(starts)-1, -1
	for step := 1; hi < 0 && lo > 0; step *= 2 {
		i := max(lo-step, 0)
		g, ok, err := m.fits(starts[i], 0)
		if err != nil {
			return fitted{}, err
		}
		if !ok {
			hi = i
			break
		}
		lo, f = i, g
	}
	if hi < 0 {
		return f, nil
	}
	return bisect(lo, hi, f, func(i int) (fitted, bool, error) { return m.fits(starts[i], 0) })
}

// bisect narrows down, between the candidates good (whose prompt fits,
// best) and bad (whose prompt does not), the last that fits before the
// first that does not, and returns its prompt. try measures candidate i.
func bisect(good, bad int, best fitted, try func(i int) (fitted, bool, error)) (fitted, error) {
	for good-bad > 1 || bad-good > 1 {
		mid := (good + bad) / 2
		f, ok, err := try(mid)
		if err != nil {
			return fitted{}, err
		}
		if ok {
			good, best = mid, f
		} else {
			bad = mid
		}
	}
	return best, nil
}

// count measures req with the generator. When it cannot (the model
// service is down, it has no such model) the count is an estimate in an
// unknown window, so that the prompt is sent whole and the generator
// reports what is wrong; only ctx's end is an error.
func (s *Service) count(ctx context.Context, req chat.GenerateRequest) (chat.TokenCount, error) {
	tc, err := chat.CountTokens(ctx, s.gen, req)
	if err == nil {
		return tc, nil
	}
	if ctx.Err() != nil {
		return tc, context.Cause(ctx)
	}
	s.log.Warn("measure the prompt; estimating", "model", req.Model, "err", err)
	return chat.TokenCount{Model: req.Model, Tokens: chat.EstimateTokens(req)}, nil
}

// measure measures candidate prompts of one history against a budget:
// the model's window (0 if unknown) less the reserve for the reply, or
// less still.
type measure struct {
	s               *Service
	ctx             context.Context
	req             chat.GenerateRequest
	h               history
	budget          int
	window, reserve int
}

// count measures the prompt from turn from on, the continued reply cut
// at cut.
func (m measure) count(from, cut int) (fitted, chat.TokenCount, error) {
	f := fitted{req: m.req, from: m.h.ids[from]}
	f.req.Messages = m.h.prompt(from, cut)
	tc, err := m.s.count(m.ctx, f.req)
	f.tokens = tc.Tokens
	return f, tc, err
}

// fits measures as count does and reports whether the prompt is within
// the budget.
func (m measure) fits(from, cut int) (fitted, bool, error) {
	f, _, err := m.count(from, cut)
	return f, err == nil && f.tokens <= m.budget, err
}

// tail fits a continued reply longer than the window allows beside its
// question: the model sees the question and the end of the reply, from
// the earliest word that fits, and goes on from there.
func (m measure) tail(from int) (fitted, error) {
	reply := m.h.turns[len(m.h.turns)-1].Content
	cuts := wordStarts(reply)
	// The whole reply (cut 0) does not fit; none of it must.
	last := len(cuts) - 1
	best, ok, err := m.fits(from, cuts[last])
	if err != nil {
		return fitted{}, err
	}
	if !ok {
		return fitted{}, m.tooLong(best.tokens)
	}
	return bisect(last, 0, best, func(i int) (fitted, bool, error) { return m.fits(from, cuts[i]) })
}

// wordStarts are the byte offsets where s may be cut so that what is left
// starts at a word: 0, each start of a word after white space, and len(s).
func wordStarts(s string) []int {
	out := []int{0}
	space := false
	for i, r := range s {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && i > 0 {
			out = append(out, i)
		}
		space = false
	}
	return append(out, len(s))
}

// tooLong is the error of a message that does not fit the model's context
// window even alone (with the system prompt): tokens long, it is a request
// the model cannot take, like OpenAI's context_length_exceeded.
func (m measure) tooLong(tokens int) error {
	var b strings.Builder
	b.WriteString("the message is too long for this model's context window")
	if m.window > 0 {
		fmt.Fprintf(&b, ": with the system prompt it takes %d tokens; the model reads %d, keeping %d for its reply",
			tokens, m.window, m.reserve)
	}
	return &chat.Error{Kind: chat.KindInvalid, Code: chat.CodeContextLength, Message: b.String()}
}
