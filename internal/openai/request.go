package openai

import (
	"strconv"

	"github.com/parley-chat/parley/internal/chat"
)

// Request is a /v1/chat/completions or /v1/completions body that passed
// Parley's checks: what Parley routes on and limits, where those fields
// sit in the body, and, for a decoding parse, the request in the domain's
// terms. A proxy forwards the body itself (AppendBody), rewriting only
// what must change, so the messages are never decoded.
type Request struct {
	// Legacy is a /v1/completions request (a prompt, no messages).
	Legacy bool
	// Model is the model asked for, "" for the server's default.
	Model  string
	Stream bool
	// IncludeUsage is stream_options.include_usage.
	IncludeUsage bool
	// MaxTokens is the reply limit asked for (max_completion_tokens, else
	// max_tokens), 0 for none.
	MaxTokens int
	// Gen is the request for a chat.Generator. Only ParseRequest with
	// decode set fills it.
	Gen chat.GenerateRequest

	body      []byte
	target    string // the model to forward for, set by SetModel
	members   []member
	memberBuf [16]member
	// roles are the spans of "developer" role values, which are
	// forwarded as "system" (not every server knows OpenAI's newer name).
	roles []span
	limit int
	seen  uint64
}

type span struct{ start, end int }

// member is one top-level member of the body: from its key's opening
// quote to the end of its value.
type member struct {
	f field
	span
}

// field identifies the top-level fields Parley knows.
type field uint8

const (
	fModel field = iota
	fMessages
	fPrompt
	fStream
	fStreamOptions
	fTemperature
	fTopP
	fMaxTokens
	fMaxCompletionTokens
	fStop
	fSeed
	fFrequencyPenalty
	fPresencePenalty
	fTopK
	fMinP
	fRepeatPenalty
	fIgnoreEOS
	fN
	fUser
	fLogprobs
	fTopLogprobs
	fLogitBias
	fResponseFormat
	fStore
	fMetadata
	fServiceTier
	fParallelToolCalls
	fPromptCacheKey
	fSafetyIdentifier
	fTools
	fToolChoice
	fUnknown
)

var fieldNames = [...]string{"model", "messages", "prompt", "stream", "stream_options", "temperature", "top_p",
	"max_tokens", "max_completion_tokens", "stop", "seed", "frequency_penalty", "presence_penalty", "top_k",
	"min_p", "repeat_penalty", "ignore_eos", "n", "user", "logprobs", "top_logprobs", "logit_bias", "response_format", "store",
	"metadata", "service_tier", "parallel_tool_calls", "prompt_cache_key", "safety_identifier", "tools", "tool_choice"}

func fieldOf(key []byte) field {
	for f, name := range fieldNames {
		if string(key) == name {
			return field(f)
		}
	}
	return fUnknown
}

// ignored are the fields Parley accepts but does not act on (hints that
// cannot change a text answer, or values that ask for nothing). They are
// not forwarded: "accepted and ignored" must hold behind a proxy too (a
// "store": true must not make OpenAI store the exchange).
func (f field) ignored() bool {
	return f >= fN && f <= fToolChoice
}

func (f field) String() string { return fieldNames[f] }

// Sampling values as read; ok false means absent or null.
type (
	optFloat struct {
		v  float64
		ok bool
	}
	optInt struct {
		v  int64
		ok bool
	}
)

// values collects what the checks after the scan need.
type values struct {
	temperature, topP, minP, frequencyPenalty, presencePenalty, repeatPenalty optFloat
	topK, n, topLogprobs, maxTokens, maxCompletionTokens, seed                optInt

	logprobs, streamOptions, logitBias, tools, ignoreEOS bool
	toolChoice                                           string  // "" when absent, null, "none" or "auto"
	responseFormat                                       *string // nil when absent or null
	responseFormatExtra                                  string  // an unknown member of response_format
	stops, prompts, messages                             int
	emptyStop, emptyPrompt                               bool
}

// ParseRequest checks a /v1/chat/completions body (legacy false) or a
// /v1/completions body (legacy true) the way Parley serves them: unknown
// and duplicate fields, wrong types, out-of-range values and the features
// Parley does not serve (tools, logit_bias, logprobs, n > 1, JSON
// response formats, non-text content) are refused with KindInvalid
// errors naming the field. With decode set it also fills Request.Gen.
// The Request refers to body, which must stay unchanged while it is used.
func ParseRequest(body []byte, legacy, decode bool) (*Request, error) {
	r := &Request{Legacy: legacy, body: body}
	r.members = r.memberBuf[:0]
	s := &scanner{b: body}
	switch s.peek() {
	case 0:
		return nil, chat.Errorf(chat.KindInvalid, "request body is empty; expected a JSON object")
	case '{':
	default:
		return nil, chat.Errorf(chat.KindInvalid, "request body must be a JSON object")
	}
	var v values
	for first := true; ; first = false {
		key, ok, err := s.member(first)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		f := fieldOf(key)
		if f == fUnknown || (f == fMessages && legacy) || (f == fPrompt && !legacy) {
			return nil, chat.Errorf(chat.KindInvalid, "unknown field %q", key)
		}
		if r.seen&(1<<f) != 0 {
			return nil, chat.Errorf(chat.KindInvalid, "field %q appears more than once", f)
		}
		r.seen |= 1 << f
		at := s.keyAt
		if err := r.value(s, f, &v, decode); err != nil {
			return nil, err
		}
		r.members = append(r.members, member{f: f, span: span{at, s.i}})
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	if err := r.check(&v, decode); err != nil {
		return nil, err
	}
	return r, nil
}

func typeErr(f field, s *scanner, want string) error {
	return chat.Errorf(chat.KindInvalid, "field %q: expected %s, got %s", f, want, s.kind())
}

func (s *scanner) optFloat(f field) (optFloat, error) {
	if s.null() {
		return optFloat{}, nil
	}
	if c := s.peek(); c != '-' && (c < '0' || c > '9') {
		return optFloat{}, typeErr(f, s, "a number")
	}
	raw, err := s.number()
	if err != nil {
		return optFloat{}, err
	}
	x, ok := parseFloat(raw)
	if !ok {
		return optFloat{}, chat.Errorf(chat.KindInvalid, "field %q: %s is out of range", f, raw)
	}
	return optFloat{x, true}, nil
}

func (s *scanner) optInt(f field) (optInt, error) {
	if s.null() {
		return optInt{}, nil
	}
	if c := s.peek(); c != '-' && (c < '0' || c > '9') {
		return optInt{}, typeErr(f, s, "an integer")
	}
	raw, err := s.number()
	if err != nil {
		return optInt{}, err
	}
	n, ok := parseInt(raw)
	if !ok {
		return optInt{}, chat.Errorf(chat.KindInvalid, "field %q: expected an integer, got %s", f, raw)
	}
	return optInt{n, true}, nil
}

func (s *scanner) optBool(f field) (bool, error) {
	if s.null() {
		return false, nil
	}
	if c := s.peek(); c != 't' && c != 'f' {
		return false, typeErr(f, s, "true or false")
	}
	return s.boolean()
}

// optString reads a string or null; the text is built only when keep is
// set.
func (s *scanner) optString(f field, keep bool) (string, error) {
	if s.null() {
		return "", nil
	}
	if s.peek() != '"' {
		return "", typeErr(f, s, "a string")
	}
	if keep {
		return s.text()
	}
	_, _, err := s.str()
	return "", err
}

// strings reads a string or an array of strings (stop, prompt), calling
// each for every one; null is none.
func (s *scanner) strings(f field, keep bool, each func(string, int)) (int, error) {
	if s.null() {
		return 0, nil
	}
	one := func() (int, error) {
		if s.peek() != '"' {
			return 0, typeErr(f, s, "a string or an array of strings")
		}
		raw, escaped, err := s.str()
		if err != nil {
			return 0, err
		}
		text := ""
		if keep {
			text = string(raw)
			if escaped {
				text = string(unescape(nil, raw))
			}
		}
		each(text, len(raw))
		return 1, nil
	}
	if s.peek() != '[' {
		return one()
	}
	n := 0
	for first := true; ; first = false {
		ok, err := s.elem(first)
		if err != nil || !ok {
			return n, err
		}
		if _, err := one(); err != nil {
			return n, err
		}
		n++
	}
}

// value reads the value of top-level field f.
func (r *Request) value(s *scanner, f field, v *values, decode bool) (err error) {
	switch f {
	case fModel:
		r.Model, err = s.optString(f, true)
	case fMessages:
		return r.readMessages(s, v, decode)
	case fPrompt:
		v.prompts, err = s.strings(f, decode, func(p string, n int) {
			v.emptyPrompt = v.emptyPrompt || n == 0
			r.Gen.Prompt = p
		})
	case fStream:
		r.Stream, err = s.optBool(f)
	case fStreamOptions:
		return r.readStreamOptions(s, v)
	case fTemperature:
		v.temperature, err = s.optFloat(f)
	case fTopP:
		v.topP, err = s.optFloat(f)
	case fMinP:
		v.minP, err = s.optFloat(f)
	case fFrequencyPenalty:
		v.frequencyPenalty, err = s.optFloat(f)
	case fPresencePenalty:
		v.presencePenalty, err = s.optFloat(f)
	case fRepeatPenalty:
		v.repeatPenalty, err = s.optFloat(f)
	case fMaxTokens:
		v.maxTokens, err = s.optInt(f)
	case fMaxCompletionTokens:
		v.maxCompletionTokens, err = s.optInt(f)
	case fSeed:
		v.seed, err = s.optInt(f)
	case fTopK:
		v.topK, err = s.optInt(f)
	case fN:
		v.n, err = s.optInt(f)
	case fTopLogprobs:
		v.topLogprobs, err = s.optInt(f)
	case fStop:
		v.stops, err = s.strings(f, decode, func(stop string, n int) {
			v.emptyStop = v.emptyStop || n == 0
			if decode {
				r.Gen.Params.Stop = append(r.Gen.Params.Stop, stop)
			}
		})
	case fLogprobs:
		v.logprobs, err = s.optBool(f)
	case fIgnoreEOS:
		v.ignoreEOS, err = s.optBool(f)
	case fStore, fParallelToolCalls:
		_, err = s.optBool(f)
	case fUser, fServiceTier, fPromptCacheKey, fSafetyIdentifier:
		_, err = s.optString(f, false)
	case fMetadata, fLogitBias:
		return readMap(s, f, v)
	case fResponseFormat:
		return readResponseFormat(s, v)
	case fTools:
		if s.peek() == '[' {
			save := s.i
			s.i++
			v.tools = s.peek() != ']'
			s.i = save
		} else {
			v.tools = s.peek() != 'n'
		}
		return s.skip(0)
	case fToolChoice:
		if s.peek() == '"' {
			var c string
			if c, err = s.text(); err == nil && c != "none" && c != "auto" {
				v.toolChoice = strconv.Quote(c)
			}
			return err
		}
		if !s.null() {
			v.toolChoice = "an object"
			return s.skip(0)
		}
	}
	return err
}

// readMap reads metadata (strings) or logit_bias (numbers).
func readMap(s *scanner, f field, v *values) error {
	if s.null() {
		return nil
	}
	if s.peek() != '{' {
		return typeErr(f, s, "an object")
	}
	for first := true; ; first = false {
		_, ok, err := s.member(first)
		if err != nil || !ok {
			return err
		}
		if f == fLogitBias {
			v.logitBias = true
			_, err = s.optFloat(f)
		} else {
			_, err = s.optString(f, false)
		}
		if err != nil {
			return err
		}
	}
}

func readResponseFormat(s *scanner, v *values) (err error) {
	if s.null() {
		return nil
	}
	if s.peek() != '{' {
		return typeErr(fResponseFormat, s, "an object")
	}
	v.responseFormat = new(string)
	for first := true; ; first = false {
		key, ok, err := s.member(first)
		if err != nil || !ok {
			return err
		}
		if string(key) == "type" {
			if *v.responseFormat, err = s.optString(fResponseFormat, true); err != nil {
				return err
			}
			continue
		}
		v.responseFormatExtra = string(key)
		if err := s.skip(0); err != nil {
			return err
		}
	}
}

func (r *Request) readStreamOptions(s *scanner, v *values) error {
	if s.null() {
		return nil
	}
	if s.peek() != '{' {
		return typeErr(fStreamOptions, s, "an object")
	}
	v.streamOptions = true
	for first := true; ; first = false {
		key, ok, err := s.member(first)
		if err != nil || !ok {
			return err
		}
		if string(key) != "include_usage" {
			return chat.Errorf(chat.KindInvalid, "unknown field %q in stream_options", key)
		}
		if r.IncludeUsage, err = s.optBool(fStreamOptions); err != nil {
			return err
		}
	}
}

// check applies the rules that need the whole body read.
func (r *Request) check(v *values, decode bool) error {
	switch {
	case v.n.ok && v.n.v != 1:
		return chat.Errorf(chat.KindInvalid, "n must be 1")
	case v.logprobs:
		return chat.Errorf(chat.KindInvalid, "logprobs are not supported")
	case v.topLogprobs.ok && v.topLogprobs.v > 0:
		return chat.Errorf(chat.KindInvalid, "top_logprobs are not supported")
	case v.logitBias:
		return chat.Errorf(chat.KindInvalid, "logit_bias is not supported")
	case v.responseFormat != nil && *v.responseFormat != "text":
		return chat.Errorf(chat.KindInvalid, "response_format %q is not supported; only \"text\"", *v.responseFormat)
	case v.responseFormatExtra != "":
		return chat.Errorf(chat.KindInvalid, "unknown field %q in response_format", v.responseFormatExtra)
	case v.tools:
		return chat.Errorf(chat.KindInvalid, "tools (function calling) are not supported")
	case v.toolChoice != "":
		return chat.Errorf(chat.KindInvalid, "tool_choice is not supported; tools (function calling) are not served")
	case outside(v.temperature, 0, 2, false):
		return chat.Errorf(chat.KindInvalid, "temperature must be between 0 and 2")
	case outside(v.topP, 0, 1, true):
		return chat.Errorf(chat.KindInvalid, "top_p must be in (0, 1]")
	case outside(v.minP, 0, 1, false):
		return chat.Errorf(chat.KindInvalid, "min_p must be between 0 and 1")
	case v.topK.ok && v.topK.v < 0:
		return chat.Errorf(chat.KindInvalid, "top_k must not be negative")
	case outside(v.frequencyPenalty, -2, 2, false):
		return chat.Errorf(chat.KindInvalid, "frequency_penalty must be between -2 and 2")
	case outside(v.presencePenalty, -2, 2, false):
		return chat.Errorf(chat.KindInvalid, "presence_penalty must be between -2 and 2")
	case outside(v.repeatPenalty, 0, 10, true):
		return chat.Errorf(chat.KindInvalid, "repeat_penalty must be in (0, 10]")
	case v.stops > maxStopStrings:
		return chat.Errorf(chat.KindInvalid, "stop may hold at most %d strings", maxStopStrings)
	case v.emptyStop:
		return chat.Errorf(chat.KindInvalid, "stop strings must not be empty")
	case !r.Stream && v.streamOptions:
		return chat.Errorf(chat.KindInvalid, "stream_options is only allowed with stream: true")
	}
	limit := v.maxCompletionTokens
	if !limit.ok {
		limit = v.maxTokens
	}
	if limit.ok {
		if limit.v < 1 {
			return chat.Errorf(chat.KindInvalid, "max_tokens must be at least 1")
		}
		r.MaxTokens = int(min(limit.v, 1<<31-1))
	}
	if r.Legacy {
		if v.prompts != 1 {
			return chat.Errorf(chat.KindInvalid, "prompt must be one string")
		}
		if v.emptyPrompt {
			return chat.Errorf(chat.KindInvalid, "prompt must not be empty")
		}
	} else if v.messages == 0 {
		return chat.Errorf(chat.KindInvalid, "messages must not be empty")
	}
	if decode {
		r.Gen.Model = r.Model
		p := &r.Gen.Params
		p.MaxTokens = r.MaxTokens
		p.Temperature, p.TopP, p.MinP = v.temperature.ptr(), v.topP.ptr(), v.minP.ptr()
		p.RepeatPenalty, p.FrequencyPenalty, p.PresencePenalty = v.repeatPenalty.ptr(), v.frequencyPenalty.ptr(), v.presencePenalty.ptr()
		if v.topK.ok {
			p.TopK = Ptr(int(v.topK.v))
		}
		if v.seed.ok {
			p.Seed = Ptr(v.seed.v)
		}
		p.IgnoreEOS = v.ignoreEOS
	}
	return nil
}

// outside reports whether a present value lies outside [lo, hi], or
// (lo, hi] when openLo.
func outside(x optFloat, lo, hi float64, openLo bool) bool {
	return x.ok && (x.v < lo || x.v > hi || (openLo && x.v == lo))
}

func (x optFloat) ptr() *float64 {
	if !x.ok {
		return nil
	}
	return Ptr(x.v)
}
