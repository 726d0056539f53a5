package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"
)

// benchModel is the one model the mock upstream serves.
const benchModel = "bench-model"

// answers are the mock upstream's replies, rendered once: a benchmark of
// the proxy must not measure the upstream's JSON encoding.
type answers struct {
	whole  []byte   // the non-streamed chat completion
	chunks [][]byte // the streamed one, event by event, [DONE] last
	models []byte
}

func newAnswers(tokens int) answers {
	var a answers
	type delta struct {
		Role    string  `json:"role,omitempty"`
		Content *string `json:"content"`
	}
	type choice struct {
		Index        int       `json:"index"`
		Delta        *delta    `json:"delta,omitempty"`
		Message      *delta    `json:"message,omitempty"`
		FinishReason *string   `json:"finish_reason"`
		Logprobs     *struct{} `json:"logprobs"`
	}
	type usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	}
	type answer struct {
		ID                string   `json:"id"`
		Object            string   `json:"object"`
		Created           int64    `json:"created"`
		Model             string   `json:"model"`
		SystemFingerprint string   `json:"system_fingerprint"`
		Choices           []choice `json:"choices"`
		Usage             *usage   `json:"usage,omitempty"`
	}
	ptr := func(s string) *string { return &s }
	text := strings.TrimSpace(strings.Repeat(" word", tokens))
	u := &usage{PromptTokens: 24, CompletionTokens: tokens, TotalTokens: 24 + tokens}
	base := answer{ID: "chatcmpl-bench0123456789", Object: "chat.completion", Created: time.Now().Unix(),
		Model: benchModel, SystemFingerprint: "fp_bench"}
	whole := base
	whole.Choices = []choice{{Message: &delta{Role: "assistant", Content: &text}, FinishReason: ptr("stop")}}
	whole.Usage = u
	a.whole, _ = json.Marshal(whole)
	event := func(choices []choice, u *usage) {
		c := base
		c.Object, c.Choices, c.Usage = "chat.completion.chunk", choices, u
		b, _ := json.Marshal(c)
		a.chunks = append(a.chunks, append(append([]byte("data: "), b...), "\n\n"...))
	}
	event([]choice{{Delta: &delta{Role: "assistant", Content: ptr("")}}}, nil)
	for i := range tokens {
		word := " word"
		if i == 0 {
			word = "word"
		}
		event([]choice{{Delta: &delta{Content: ptr(word)}}}, nil)
	}
	event([]choice{{Delta: &delta{}, FinishReason: ptr("stop")}}, nil)
	event([]choice{}, u)
	a.chunks = append(a.chunks, []byte("data: [DONE]\n\n"))
	a.models = fmt.Appendf(nil, `{"object":"list","data":[{"id":%q,"object":"model","created":1700000000,"owned_by":"bench"}]}`, benchModel)
	return a
}

// runUpstream is the mock OpenAI-compatible server: it answers every chat
// completion at once with the same reply, streamed (one write and flush
// per event, as a server generating tokens does) or whole.
func runUpstream(args []string) error {
	fs := flag.NewFlagSet("upstream", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	tokens := fs.Int("tokens", 16, "tokens per answer")
	_ = fs.Parse(args)
	a := newAnswers(*tokens)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(a.models)
	})
	chat := func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		if !bytes.Contains(body, []byte(`"stream":true`)) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(a.whole)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		f := w.(http.Flusher)
		for _, c := range a.chunks {
			if _, err := w.Write(c); err != nil {
				return
			}
			f.Flush()
		}
	}
	mux.HandleFunc("POST /v1/chat/completions", chat)
	return serve(*addr, mux)
}

// runFloor is the floor: Go's httputil.ReverseProxy in front of the
// upstream, untouched but for an idle pool as large as Parley's (with
// Go's default of 2 idle connections per host it would measure dialing).
func runFloor(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	upstream := fs.String("upstream", "", "upstream base URL")
	_ = fs.Parse(args)
	u, err := url.Parse(*upstream)
	if err != nil {
		return err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 1024, 256
	rp.Transport = t
	return serve(*addr, rp)
}

func serve(addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Printf("listening on %s", ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	return srv.Serve(ln)
}
