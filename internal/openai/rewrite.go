package openai

import "strconv"

// This file is the writing side of Request: the body a proxy forwards.

// SetModel sets the model the request is forwarded for; Model stays what
// the client asked.
func (r *Request) SetModel(model string) { r.target = model }

// Target is the model the request is forwarded for: the one SetModel set,
// else Model.
func (r *Request) Target() string {
	if r.target != "" {
		return r.target
	}
	return r.Model
}

// LimitTokens caps the reply at n tokens (0: no cap): a request asking for
// more, or for no limit, is forwarded asking for n.
func (r *Request) LimitTokens(n int) {
	r.limit = n
	r.Gen.Params.MaxTokens = r.tokenLimit()
}

// tokenLimit is the limit the forwarded request asks for.
func (r *Request) tokenLimit() int {
	n := r.MaxTokens
	if r.limit > 0 && (n == 0 || n > r.limit) {
		n = r.limit
	}
	return n
}

// AppendBody appends to dst the body to forward for model: the client's
// bytes as they came, except that model is set, the token limit is capped
// (LimitTokens) and sent as max_tokens, which every server knows (also
// when the client said max_completion_tokens), "developer" messages
// become "system", and the fields Parley ignores are left out.
func (r *Request) AppendBody(dst []byte, model string) []byte {
	dst = append(dst, '{')
	n := 0
	sep := func() {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
	}
	if r.seen&(1<<fModel) == 0 && model != "" {
		sep()
		dst = appendString(append(dst, `"model":`...), model)
	}
	for _, m := range r.members {
		switch {
		case m.f.ignored() || m.f == fMaxTokens || m.f == fMaxCompletionTokens:
			continue
		case m.f == fModel && model != r.Model:
			sep()
			dst = appendString(append(dst, `"model":`...), model)
		case m.f == fMessages && len(r.roles) > 0:
			sep()
			at := m.start
			for _, role := range r.roles {
				dst = append(append(dst, r.body[at:role.start]...), `"system"`...)
				at = role.end
			}
			dst = append(dst, r.body[at:m.end]...)
		default:
			sep()
			dst = append(dst, r.body[m.start:m.end]...)
		}
	}
	if limit := r.tokenLimit(); limit > 0 {
		sep()
		dst = append(dst, `"max_tokens":`...)
		dst = strconv.AppendInt(dst, int64(limit), 10)
	}
	return append(dst, '}')
}
