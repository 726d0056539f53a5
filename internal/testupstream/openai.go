package testupstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// The wire types here are written independently of internal/openai on
// purpose: tests of that package then check it against a second reading of
// the protocol rather than against itself.

type oaRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Prompt              json.RawMessage `json:"prompt"`
	Stream              bool            `json:"stream"`
	MaxTokens           int             `json:"max_tokens"`
	MaxCompletionTokens int             `json:"max_completion_tokens"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

func (r oaRequest) turns() ([]chat.Turn, error) {
	var out []chat.Turn
	for _, m := range r.Messages {
		var text string
		if err := json.Unmarshal(m.Content, &text); err != nil {
			var parts []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			}
			if err := json.Unmarshal(m.Content, &parts); err != nil {
				return nil, fmt.Errorf("bad content")
			}
			for _, p := range parts {
				text += p.Text
			}
		}
		out = append(out, chat.Turn{Role: chat.Role(m.Role), Content: text})
	}
	return out, nil
}

func oaError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": nil}})
}

func (s *Server) openaiModels(w http.ResponseWriter, r *http.Request) {
	o := s.snapshot()
	if !authorized(o, r) {
		oaError(w, http.StatusUnauthorized, "invalid_request_error", errorText(o, r, "Incorrect API key provided: sk-te****"))
		return
	}
	if o.ModelsStatus != 0 {
		oaError(w, o.ModelsStatus, "server_error", errorText(o, r, "models unavailable"))
		return
	}
	data := make([]map[string]any, 0, len(o.Models))
	for _, m := range o.Models {
		model := map[string]any{"id": m, "object": "model", "created": 1700000000, "owned_by": "testupstream"}
		if o.ContextLength > 0 {
			model["max_model_len"] = o.ContextLength
		}
		data = append(data, model)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data})
}

func (s *Server) openaiChat(w http.ResponseWriter, r *http.Request) { s.openaiGenerate(w, r, false) }

func (s *Server) openaiCompletion(w http.ResponseWriter, r *http.Request) {
	s.openaiGenerate(w, r, true)
}

func (s *Server) openaiGenerate(w http.ResponseWriter, r *http.Request, legacy bool) {
	o := s.snapshot()
	if !authorized(o, r) {
		oaError(w, http.StatusUnauthorized, "invalid_request_error", errorText(o, r, "Incorrect API key provided: sk-te****"))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var req oaRequest
	if err := json.Unmarshal(body, &req); err != nil {
		oaError(w, http.StatusBadRequest, "invalid_request_error", "malformed JSON")
		return
	}
	var turns []chat.Turn
	var prompt string
	if legacy {
		if err := json.Unmarshal(req.Prompt, &prompt); err != nil {
			oaError(w, http.StatusBadRequest, "invalid_request_error", "prompt must be a string")
			return
		}
		turns = []chat.Turn{{Role: chat.RoleUser, Content: prompt}}
	} else if turns, err = req.turns(); err != nil || len(turns) == 0 {
		oaError(w, http.StatusBadRequest, "invalid_request_error", "messages must be a non-empty array")
		return
	}
	model, ok := o.resolveModel(req.Model)
	if !ok {
		oaError(w, http.StatusNotFound, "invalid_request_error", fmt.Sprintf("The model `%s` does not exist", req.Model))
		return
	}
	s.record(Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Model: model, Messages: turns, Prompt: prompt})
	if o.Status != 0 {
		s.count(func(st *Stats) { st.Refused++ })
		oaError(w, o.Status, "server_error", errorText(o, r, o.StatusMessage))
		return
	}
	if n := textBytes(turns); o.ContextLength > 0 && n > o.ContextLength {
		oaError(w, http.StatusBadRequest, "BadRequestError", fmt.Sprintf("This model's maximum context length is %d tokens. "+
			"However, you requested %d tokens in the messages, Please reduce the length of the messages.", o.ContextLength, n))
		return
	}
	s.count(func(st *Stats) { st.Requests++ })
	if o.HangBeforeHeaders {
		s.hangBeforeHeaders(r.Context())
		return
	}
	maxTokens := req.MaxTokens
	if req.MaxCompletionTokens > 0 {
		maxTokens = req.MaxCompletionTokens
	}
	p := makePlan(o, model, turns, maxTokens)
	if !req.Stream || o.JSONForStream {
		s.openaiWhole(w, r, o, p, legacy)
		return
	}
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	s.openaiStream(w, r, o, p, legacy, includeUsage)
}

// The answer types write their fields in OpenAI's order (id, object,
// created, model, choices, usage), as real servers do: a pass-through
// proxy hands these bytes on unchanged.
type (
	oaUsage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	}
	oaDelta struct {
		Role    string  `json:"role,omitempty"`
		Content *string `json:"content"`
	}
	oaMessage struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	oaChoice struct {
		Index int `json:"index"`
		// One of these three, by endpoint and streaming.
		Delta   *oaDelta   `json:"delta,omitempty"`
		Message *oaMessage `json:"message,omitempty"`
		Text    *string    `json:"text,omitempty"`

		Logprobs     *struct{} `json:"logprobs,omitempty"`
		FinishReason *string   `json:"finish_reason"`
	}
	oaAnswer struct {
		ID      string     `json:"id"`
		Object  string     `json:"object"`
		Created int64      `json:"created"`
		Model   string     `json:"model"`
		Choices []oaChoice `json:"choices"`
		Usage   *oaUsage   `json:"usage,omitempty"`
	}
)

func usageOf(p plan, n int) *oaUsage {
	return &oaUsage{PromptTokens: p.prompt, CompletionTokens: n, TotalTokens: p.prompt + n}
}

func (s *Server) openaiWhole(w http.ResponseWriter, r *http.Request, o Options, p plan, legacy bool) {
	var text string
	for i, tok := range p.tokens {
		if !s.step(r.Context(), o, i) {
			return
		}
		text += tok
	}
	ans := oaAnswer{ID: "chatcmpl-test", Object: "chat.completion", Created: time.Now().Unix(), Model: p.model,
		Choices: []oaChoice{{FinishReason: &p.finish, Message: &oaMessage{Role: "assistant", Content: text}}},
		Usage:   usageOf(p, len(p.tokens))}
	if legacy {
		ans.ID, ans.Object = "cmpl-test", "text_completion"
		ans.Choices[0].Message, ans.Choices[0].Text = nil, &text
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ans)
	s.count(func(st *Stats) { st.Completed++ })
}

func (s *Server) openaiStream(w http.ResponseWriter, r *http.Request, o Options, p plan, legacy, includeUsage bool) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flush(w)
	created := time.Now().Unix()
	send := func(choices []oaChoice, usage *oaUsage) bool {
		ev := oaAnswer{ID: "chatcmpl-test", Object: "chat.completion.chunk", Created: created, Model: p.model,
			Choices: choices, Usage: usage}
		if legacy {
			ev.ID, ev.Object = "cmpl-test", "text_completion"
		}
		var b bytes.Buffer
		b.WriteString("data: ")
		_ = json.NewEncoder(&b).Encode(ev) // adds the first \n
		b.WriteString("\n")
		if _, err := w.Write(b.Bytes()); err != nil {
			return false
		}
		flush(w)
		return true
	}
	choice := func(content *string, role bool, finish *string) []oaChoice {
		if legacy {
			text := ""
			if content != nil {
				text = *content
			}
			return []oaChoice{{Text: &text, FinishReason: finish}}
		}
		d := &oaDelta{Content: content}
		if role || o.RepeatRole {
			d.Role = "assistant"
		}
		return []oaChoice{{Delta: d, FinishReason: finish}}
	}
	empty := ""
	if !legacy {
		first := &empty
		if o.NullContent {
			first = nil
		}
		if !send(choice(first, true, nil), nil) {
			return
		}
	}
	for i, tok := range p.tokens {
		if !s.midStreamFault(w, r, o, i) {
			return
		}
		if !s.step(r.Context(), o, i) {
			return
		}
		if !send(choice(&tok, false, nil), nil) {
			s.count(func(st *Stats) { st.Canceled++ })
			return
		}
	}
	if !s.midStreamFault(w, r, o, len(p.tokens)) {
		return
	}
	if o.Hang && o.FaultAfter >= len(p.tokens) && !s.step(r.Context(), o, o.FaultAfter) {
		return
	}
	var finishContent *string
	if !o.NullContent {
		finishContent = &empty
	}
	var usage *oaUsage
	if o.UsageInFinishChunk {
		usage = usageOf(p, len(p.tokens))
	}
	if !send(choice(finishContent, false, &p.finish), usage) {
		return
	}
	if includeUsage && !o.UsageInFinishChunk {
		if !send([]oaChoice{}, usageOf(p, len(p.tokens))) {
			return
		}
	}
	if !o.NoDone {
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
		flush(w)
	}
	s.count(func(st *Stats) { st.Completed++ })
	time.Sleep(o.LingerAfterDone)
}

// midStreamFault applies the faults that strike at token i; false means the
// response is over.
func (s *Server) midStreamFault(w http.ResponseWriter, r *http.Request, o Options, i int) bool {
	if i != o.FaultAfter {
		return true
	}
	switch {
	case o.CloseMidStream:
		abort()
	case o.EndEarly:
		return false
	case o.StreamError != "":
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": errorText(o, r, o.StreamError), "type": "server_error"}})
		_, _ = fmt.Fprintf(w, "data: %s\n\n", b)
		flush(w)
		return false
	}
	return true
}

func textBytes(turns []chat.Turn) int {
	n := 0
	for _, t := range turns {
		n += len(t.Content)
	}
	return n
}
