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
	"strings"

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
// New adds no httpx.Middleware (request ids, access log, recovery): the
// caller wraps the handler once for everything the process serves. Each
// of mounts adds the caller's own routes (the health endpoints) to the
// same mux: one mux, not one in front of another, keeps a request's
// stack short (see the stack note in httpx).
func New(cfg Config, svc *conversation.Service, accounts *account.Service, authn *auth.Authenticator,
	gen chat.Generator, v1 http.Handler, log *slog.Logger, mounts ...func(*http.ServeMux)) http.Handler {
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

	guarded := func(h http.Handler) http.Handler { return authn.Require(s.rated(s.running(h))) }
	switch v := v1.(type) {
	case nil:
		mux.Handle("/v1/", guarded(httpx.NotFound(log)))
	case mounter:
		v.Mount(mux, guarded)
	default:
		mux.Handle("/v1/", guarded(v1))
	}
	for _, mount := range mounts {
		mount(mux)
	}
	mux.Handle("/", unrouted(mux, log))
	return mux
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

// mounter is a /v1 server that can add its routes to the api's own mux
// (inference.Handler), sparing every request a mux of its own.
type mounter interface {
	Mount(mux *http.ServeMux, wrap func(http.Handler) http.Handler)
}

// unrouted answers requests no other pattern matches with OpenAI-style
// JSON instead of the mux's plain text: 405 (with Allow) when the path
// exists for other methods, else 404. It is the mux's catch-all, so the
// routes themselves pay nothing for it.
func unrouted(mux *http.ServeMux, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		probe := *r
		for _, m := range probedMethods {
			probe.Method = m
			if _, pattern := mux.Handler(&probe); pattern != "/" && pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			httpx.WriteError(w, r, log, &chat.Error{Kind: chat.KindNotFound, Code: "route_not_found",
				Message: "no route for " + r.Method + " " + r.URL.Path})
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		httpx.WriteJSON(w, http.StatusMethodNotAllowed, httpx.ErrorBody{Error: httpx.ErrorDetail{
			Message: "method " + r.Method + " not allowed for " + r.URL.Path,
			Type:    chat.KindInvalid.String(), Code: "method_not_allowed"}})
	})
}

// probedMethods are the methods an Allow header may name, in the order
// the mux's own 405 lists them.
var probedMethods = []string{http.MethodDelete, http.MethodGet, http.MethodHead, http.MethodPatch,
	http.MethodPost, http.MethodPut}
