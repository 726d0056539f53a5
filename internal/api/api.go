// Package api is the HTTP edge of Parley's api service: the seed's
// POST /chat, the conversation API under /api/conversations with its
// server-sent reply streams, accounts under /api/auth, /api/admin and
// /api/keys, and the mount point of the OpenAI-compatible /v1 routes.
// Every route but signup, login, logout and the auth options goes through
// auth's Require, and works on the conversations of the principal it
// names. Handlers are thin: they decode, call one method of
// conversation.Service or account.Service, and write JSON or SSE; every
// error goes back through httpx.WriteError. The rules themselves live in
// conversation and account.
package api

import (
	"log/slog"
	"net/http"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/conversation"
	"github.com/parley-chat/parley/internal/httpx"
)

// server holds the dependencies of the handlers.
type server struct {
	cfg      Config
	svc      *conversation.Service
	accounts *account.Service
	authn    *auth.Authenticator
	gen      chat.Generator
	log      *slog.Logger
}

// New returns the api service's routes: POST /chat, /api/conversations/...,
// GET /api/models (what gen, the generator behind svc, can serve),
// /api/auth/..., /api/admin/users/..., /api/admin/settings,
// /api/keys/... (over accounts) and
// /v1/... (delegated to v1, the OpenAI-compatible server the caller builds
// over gen; nil answers 404 there), all but the public auth routes behind
// authn. Unknown routes answer a JSON 404 and known routes with the wrong
// method a JSON 405.
//
// New adds neither httpx.Middleware (request ids, access log, recovery)
// nor the health endpoints: the caller wraps and mounts the handler once
// for everything the process serves.
func New(cfg Config, svc *conversation.Service, accounts *account.Service, authn *auth.Authenticator,
	gen chat.Generator, v1 http.Handler, log *slog.Logger) http.Handler {
	def := DefaultConfig()
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = def.MaxBodyBytes
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = def.KeepAlive
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{cfg: cfg, svc: svc, accounts: accounts, authn: authn, gen: gen, log: log}
	mux := http.NewServeMux()
	public := func(pattern string, h httpx.HandlerFunc) { mux.Handle(pattern, s.rated(httpx.Handle(log, h))) }
	handle := func(pattern string, h httpx.HandlerFunc) {
		mux.Handle(pattern, authn.Require(s.rated(httpx.Handle(log, h))))
	}

	public("POST /api/auth/signup", s.signup)
	public("POST /api/auth/login", s.login)
	public("POST /api/auth/logout", s.logout)
	public("GET /api/auth/options", s.authOptions)
	handle("GET /api/auth/me", s.me)

	handle("GET /api/admin/users", s.listUsers)
	handle("POST /api/admin/users", s.createUser)
	handle("PATCH /api/admin/users/{id}", s.updateUser)
	handle("DELETE /api/admin/users/{id}", s.deleteUser)
	handle("GET /api/admin/settings", s.getSettings)
	handle("PATCH /api/admin/settings", s.updateSettings)

	handle("POST /api/keys", s.createKey)
	handle("GET /api/keys", s.listKeys)
	handle("DELETE /api/keys/{id}", s.deleteKey)

	handle("POST /chat", s.chat)

	handle("POST /api/conversations", s.createConversation)
	handle("GET /api/conversations", s.listConversations)
	handle("POST /api/conversations/import", s.importConversation)
	handle("GET /api/conversations/{id}/export", s.exportConversation)
	handle("GET /api/conversations/{id}", s.getConversation)
	handle("PATCH /api/conversations/{id}", s.updateConversation)
	handle("DELETE /api/conversations/{id}", s.deleteConversation)
	handle("POST /api/conversations/{id}/messages", s.sendMessage)
	handle("POST /api/conversations/{id}/messages/{message_id}/edit", s.editMessage)
	handle("POST /api/conversations/{id}/messages/{message_id}/versions", s.selectVersion)
	handle("POST /api/conversations/{id}/regenerate", s.regenerate)
	handle("POST /api/conversations/{id}/continue", s.continueReply)
	handle("POST /api/conversations/{id}/undo", s.undo)
	handle("POST /api/conversations/{id}/clear", s.clear)
	handle("POST /api/conversations/{id}/stop", s.stop)
	handle("GET /api/conversations/{id}/stream", s.attach)
	handle("GET /api/models", s.models)

	if v1 == nil {
		v1 = httpx.NotFound(log)
	}
	mux.Handle("/v1/", authn.Require(s.rated(s.running(v1))))
	return fallback(mux, log)
}

// models lists what the model backend serves, for a model picker.
func (s *server) models(w http.ResponseWriter, r *http.Request) error {
	if s.gen == nil {
		return chat.Errorf(chat.KindUnavailable, "no model backend is configured")
	}
	models, err := s.gen.Models(r.Context())
	if err != nil {
		return err
	}
	if models == nil {
		models = []chat.ModelInfo{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"data": models})
	return nil
}

// fallback answers requests no pattern matches with OpenAI-style JSON
// instead of the mux's plain text: 405 (with Allow) when the path exists
// for other methods, else 404.
func fallback(mux *http.ServeMux, log *slog.Logger) http.Handler {
	notFound := httpx.NotFound(log)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r) // it, not h, fills in r.PathValue
			return
		}
		probe := &statusProbe{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if probe.status != http.StatusMethodNotAllowed {
			notFound.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Allow", probe.header.Get("Allow"))
		httpx.WriteJSON(w, http.StatusMethodNotAllowed, httpx.ErrorBody{Error: httpx.ErrorDetail{
			Message: "method " + r.Method + " not allowed for " + r.URL.Path,
			Type:    chat.KindInvalid.String(), Code: "method_not_allowed"}})
	})
}

// statusProbe records what the mux's own 404/405 handler would answer.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(code int)        { p.status = code }
