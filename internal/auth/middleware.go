package auth

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/httpx"
)

// CookieName is the session cookie.
const CookieName = "parley_session"

// Authenticator is the api's authentication: Require guards its routes.
type Authenticator struct {
	mode     string
	accounts *account.Service
	proxies  []netip.Prefix
	log      *slog.Logger
}

// New returns the authenticator of mode (ModeNone or ModePassword, as
// resolved by Config.ModeFor) over accounts.
func New(cfg Config, mode string, accounts *account.Service, log *slog.Logger) (*Authenticator, error) {
	if mode != ModeNone && mode != ModePassword {
		return nil, chat.Errorf(chat.KindInternal, "unknown auth mode %q", mode)
	}
	proxies, err := httpx.ParsePrefixes(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Authenticator{mode: mode, accounts: accounts, proxies: proxies, log: log}, nil
}

// Mode is ModeNone or ModePassword.
func (a *Authenticator) Mode() string { return a.mode }

// ClientAddr is the address failed logins of r are counted against.
func (a *Authenticator) ClientAddr(r *http.Request) string { return httpx.ClientAddr(r, a.proxies) }

// Require passes on only requests whose principal is known, with it in
// their context: under ModeNone every request, as the local user; under
// ModePassword those with a live session cookie or a valid API key
// (Authorization: Bearer), which are checked against the database on every
// request, so that a logout, a deleted key or a disabled account counts
// from the next one on. Others get 401.
func (a *Authenticator) Require(next http.Handler) http.Handler {
	return &required{a: a, next: next}
}

// required is a handler behind Require (a type rather than a closure: see
// the stack note in httpx).
type required struct {
	a    *Authenticator
	next http.Handler
}

func (h *required) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r = h.a.authenticate(w, r); r != nil {
		h.next.ServeHTTP(w, r)
	}
}

// authenticate returns r with its principal in the context, or nil once
// it answered the failure. The principal lives in this frame, which is
// gone before the route runs: the stack under a route stays short (see
// the stack note in httpx).
func (a *Authenticator) authenticate(w http.ResponseWriter, r *http.Request) *http.Request {
	p, err := a.principal(w, r)
	if err != nil {
		httpx.WriteError(w, r, a.log, err)
		return nil
	}
	return r.WithContext(NewContext(r.Context(), p))
}

func (a *Authenticator) principal(w http.ResponseWriter, r *http.Request) (Principal, error) {
	if a.mode == ModeNone {
		// Credentials are not even looked at: clients that always send
		// one (OpenAI SDKs need some api_key) work as before.
		return Principal{User: account.Local(), Via: ViaLocal}, nil
	}
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return Principal{}, &chat.Error{Kind: chat.KindUnauthenticated, Code: "invalid_api_key",
				Message: "send an API key as Authorization: Bearer <key>"}
		}
		u, k, err := a.accounts.KeyUser(ctx, strings.TrimSpace(cred))
		if err != nil {
			return Principal{}, err
		}
		return Principal{User: u, Key: &k, Via: ViaKey}, nil
	}
	token := SessionToken(r)
	if token == "" {
		return Principal{}, &chat.Error{Kind: chat.KindUnauthenticated, Code: "not_signed_in",
			Message: "sign in first, or send an API key as Authorization: Bearer <key>"}
	}
	u, renewed, err := a.accounts.Session(ctx, token)
	if err != nil {
		if chat.KindOf(err) == chat.KindUnauthenticated {
			ClearSession(w, r) // the browser need not send it again
		}
		return Principal{}, err
	}
	if renewed {
		SetSession(w, r, token, a.accounts.SessionTTL())
	}
	return Principal{User: u, Via: ViaSession}, nil
}

// SessionToken returns the session cookie's token, or "".
func SessionToken(r *http.Request) string {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return ""
	}
	return c.Value
}

// SetSession sets the session cookie: not readable by scripts (HttpOnly),
// not sent with other sites' requests except top-level navigation
// (SameSite=Lax), HTTPS-only when the request came over HTTPS, and kept as
// long as the session lives unused.
func SetSession(w http.ResponseWriter, r *http.Request, token string, ttl time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: "/", MaxAge: int(ttl / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: httpx.Secure(r)})
}

// ClearSession tells the browser to drop the session cookie.
func ClearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: httpx.Secure(r)})
}
