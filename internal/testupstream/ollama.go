package testupstream

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

type olRequest struct {
	Model    string      `json:"model"`
	Messages []chat.Turn `json:"messages"`
	Prompt   string      `json:"prompt"`
	Raw      bool        `json:"raw"`
	Stream   *bool       `json:"stream"`
	Options  struct {
		NumPredict int `json:"num_predict"`
	} `json:"options"`
}

func olError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (s *Server) ollamaTags(w http.ResponseWriter, r *http.Request) {
	o := s.snapshot()
	if !authorized(o, r) {
		olError(w, http.StatusUnauthorized, errorText(o, r, "unauthorized"))
		return
	}
	if o.ModelsStatus != 0 {
		olError(w, o.ModelsStatus, errorText(o, r, "models unavailable"))
		return
	}
	models := make([]map[string]any, 0, len(o.Models))
	for _, m := range o.Models {
		models = append(models, map[string]any{"name": m, "model": m, "modified_at": "2024-01-01T00:00:00Z", "size": 1})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"models": models})
}

func (s *Server) ollamaChat(w http.ResponseWriter, r *http.Request)     { s.ollamaGen(w, r, false) }
func (s *Server) ollamaGenerate(w http.ResponseWriter, r *http.Request) { s.ollamaGen(w, r, true) }

func (s *Server) ollamaGen(w http.ResponseWriter, r *http.Request, generate bool) {
	o := s.snapshot()
	if !authorized(o, r) {
		olError(w, http.StatusUnauthorized, errorText(o, r, "unauthorized"))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var req olRequest
	if err := json.Unmarshal(body, &req); err != nil {
		olError(w, http.StatusBadRequest, "invalid JSON")
		return
	}
	turns := req.Messages
	if generate {
		turns = []chat.Turn{{Role: chat.RoleUser, Content: req.Prompt}}
	} else if len(turns) == 0 {
		olError(w, http.StatusBadRequest, "messages are required")
		return
	}
	if req.Model == "" {
		olError(w, http.StatusBadRequest, "model is required")
		return
	}
	model, ok := o.resolveModel(req.Model)
	if !ok {
		olError(w, http.StatusNotFound, fmt.Sprintf("model '%s' not found, try pulling it first", req.Model))
		return
	}
	s.record(Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Model: model, Messages: turns, Prompt: req.Prompt})
	if o.Status != 0 {
		s.count(func(st *Stats) { st.Refused++ })
		olError(w, o.Status, errorText(o, r, o.StatusMessage))
		return
	}
	s.count(func(st *Stats) { st.Requests++ })
	if o.HangBeforeHeaders {
		s.hangBeforeHeaders(r.Context())
		return
	}
	p := makePlan(o, model, turns, req.Options.NumPredict)
	line := func(content string, done bool) map[string]any {
		m := map[string]any{"model": model, "created_at": time.Now().UTC().Format(time.RFC3339Nano), "done": done}
		if generate {
			m["response"] = content
		} else {
			m["message"] = map[string]any{"role": "assistant", "content": content}
		}
		if done {
			m["done_reason"] = p.finish
			m["prompt_eval_count"] = p.prompt
			m["eval_count"] = len(p.tokens)
			m["total_duration"] = 1000
		}
		return m
	}
	if req.Stream != nil && !*req.Stream {
		var text string
		for i, tok := range p.tokens {
			if !s.step(r.Context(), o, i) {
				return
			}
			text += tok
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(line(text, true))
		s.count(func(st *Stats) { st.Completed++ })
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	flush(w)
	enc := json.NewEncoder(w)
	fault := func(i int) bool {
		if i != o.FaultAfter {
			return true
		}
		switch {
		case o.CloseMidStream:
			abort()
		case o.EndEarly:
			return false
		case o.StreamError != "":
			_ = enc.Encode(map[string]string{"error": errorText(o, r, o.StreamError)})
			flush(w)
			return false
		}
		return true
	}
	for i, tok := range p.tokens {
		if !fault(i) || !s.step(r.Context(), o, i) {
			return
		}
		if err := enc.Encode(line(tok, false)); err != nil {
			s.count(func(st *Stats) { st.Canceled++ })
			return
		}
		flush(w)
	}
	if !fault(len(p.tokens)) {
		return
	}
	if o.Hang && o.FaultAfter >= len(p.tokens) && !s.step(r.Context(), o, o.FaultAfter) {
		return
	}
	if !o.NoDone {
		_ = enc.Encode(line("", true))
		flush(w)
	}
	s.count(func(st *Stats) { st.Completed++ })
}
