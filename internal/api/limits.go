package api

import (
	"net/http"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/httpx"
)

// rated refuses (429) a request over its key's rate: an API key's own,
// a signed-in user's, or, for everyone else (--auth none, the public auth
// routes), the client address's.
func (s *server) rated(next http.Handler) http.Handler {
	if s.cfg.Rate == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.cfg.Rate.Take(r.Context(), s.rateKey(r)); err != nil {
			httpx.WriteError(w, r, s.log, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) rateKey(r *http.Request) string {
	if p, ok := auth.From(r.Context()); ok {
		switch {
		case p.Via == auth.ViaKey && p.Key != nil:
			return "key:" + p.Key.ID
		case p.Via == auth.ViaSession:
			return "user:" + p.User.ID
		}
	}
	return "addr:" + s.authn.ClientAddr(r)
}

// running holds one of the user's running-reply slots while a /v1
// generation runs; it ends with its request, so it counts until then.
// Conversation replies take theirs in the conversation service.
func (s *server) running(next http.Handler) http.Handler {
	if s.cfg.Running == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || (r.URL.Path != "/v1/chat/completions" && r.URL.Path != "/v1/completions") {
			next.ServeHTTP(w, r)
			return
		}
		free, err := s.cfg.Running.Acquire(r.Context(), owner(r))
		if err != nil {
			httpx.WriteError(w, r, s.log, err)
			return
		}
		defer free()
		next.ServeHTTP(w, r)
	})
}
