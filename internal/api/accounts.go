package api

import (
	"net/http"
	"time"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/httpx"
)

// credentials is the body of signup and login.
type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// userView is an account as the auth endpoints show it.
type userView struct {
	ID       string       `json:"id"`
	Username string       `json:"username"`
	Role     account.Role `json:"role"`
}

// signedIn is the answer of signup, login and me.
type signedIn struct {
	User userView `json:"user"`
}

func viewOf(u account.User) signedIn {
	return signedIn{User: userView{ID: u.ID, Username: u.Username, Role: u.Role}}
}

// principal is who the request comes from; Require put it there. A route
// outside Require gets the zero principal, whose empty user id no store
// accepts.
func principal(r *http.Request) auth.Principal {
	p, _ := auth.From(r.Context())
	return p
}

// owner is the user whose conversations a request works on.
func owner(r *http.Request) string { return principal(r).User.ID }

func (s *server) signup(w http.ResponseWriter, r *http.Request) error {
	var b credentials
	if err := httpx.DecodeJSON(r, &b, s.cfg.MaxBodyBytes); err != nil {
		return err
	}
	u, token, err := s.accounts.Signup(r.Context(), b.Username, b.Password)
	if err != nil {
		return err
	}
	auth.SetSession(w, r, token, s.accounts.SessionTTL())
	httpx.WriteJSON(w, http.StatusCreated, viewOf(u))
	return nil
}

func (s *server) login(w http.ResponseWriter, r *http.Request) error {
	var b credentials
	if err := httpx.DecodeJSON(r, &b, s.cfg.MaxBodyBytes); err != nil {
		return err
	}
	u, token, err := s.accounts.Login(r.Context(), b.Username, b.Password, s.authn.ClientAddr(r))
	if err != nil {
		return err
	}
	auth.SetSession(w, r, token, s.accounts.SessionTTL())
	httpx.WriteJSON(w, http.StatusOK, viewOf(u))
	return nil
}

// logout ends the session server-side, whether or not it is still valid,
// and drops the cookie.
func (s *server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := s.accounts.Logout(r.Context(), auth.SessionToken(r)); err != nil {
		return err
	}
	auth.ClearSession(w, r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// authOptions tells a client (the UI's sign-in page) what to offer:
// signup when it would be accepted, and setup while no account exists, so
// that the next signup makes the first admin.
func (s *server) authOptions(w http.ResponseWriter, r *http.Request) error {
	open, err := s.accounts.SignupOpen(r.Context())
	if err != nil {
		return err
	}
	setup, err := s.accounts.FirstSignupPending(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"auth": s.authn.Mode(), "signup": open, "setup": setup})
	return nil
}

func (s *server) me(w http.ResponseWriter, r *http.Request) error {
	u, err := s.accounts.Get(r.Context(), owner(r))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, viewOf(u))
	return nil
}

// adminUserBody is the body of POST /api/admin/users.
type adminUserBody struct {
	Username string       `json:"username"`
	Password string       `json:"password"`
	Role     account.Role `json:"role"`
}

// adminPatchBody is the body of PATCH /api/admin/users/{id}.
type adminPatchBody struct {
	Role     *account.Role `json:"role"`
	Disabled *bool         `json:"disabled"`
	Password *string       `json:"password"`
}

func (s *server) listUsers(w http.ResponseWriter, r *http.Request) error {
	us, err := s.accounts.ListUsers(r.Context(), principal(r).User)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"data": us})
	return nil
}

func (s *server) createUser(w http.ResponseWriter, r *http.Request) error {
	var b adminUserBody
	if err := httpx.DecodeJSON(r, &b, s.cfg.MaxBodyBytes); err != nil {
		return err
	}
	if b.Role == "" {
		b.Role = account.RoleUser
	}
	u, err := s.accounts.CreateUser(r.Context(), principal(r).User, b.Username, b.Password, b.Role)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, u)
	return nil
}

func (s *server) updateUser(w http.ResponseWriter, r *http.Request) error {
	var b adminPatchBody
	if err := httpx.DecodeJSON(r, &b, s.cfg.MaxBodyBytes); err != nil {
		return err
	}
	u, err := s.accounts.UpdateUser(r.Context(), principal(r).User, r.PathValue("id"),
		account.Patch{Role: b.Role, Disabled: b.Disabled, Password: b.Password})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (s *server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	if err := s.accounts.DeleteUser(r.Context(), principal(r).User, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) getSettings(w http.ResponseWriter, r *http.Request) error {
	st, err := s.accounts.Settings(r.Context(), principal(r).User)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, st)
	return nil
}

func (s *server) updateSettings(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Signup *string `json:"signup"`
	}
	if err := httpx.DecodeJSON(r, &b, s.cfg.MaxBodyBytes); err != nil {
		return err
	}
	st, err := s.accounts.UpdateSettings(r.Context(), principal(r).User, account.SettingsPatch{Signup: b.Signup})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, st)
	return nil
}

// newKey is the answer of POST /api/keys: the only time the key is shown.
type newKey struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Key       string    `json:"key"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *server) createKey(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Name string `json:"name"`
	}
	if err := httpx.DecodeJSON(r, &b, s.cfg.MaxBodyBytes); err != nil {
		return err
	}
	k, secret, err := s.accounts.CreateKey(r.Context(), principal(r).User, b.Name)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, newKey{ID: k.ID, Name: k.Name, Key: secret, CreatedAt: k.CreatedAt})
	return nil
}

func (s *server) listKeys(w http.ResponseWriter, r *http.Request) error {
	ks, err := s.accounts.ListKeys(r.Context(), principal(r).User)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"data": ks})
	return nil
}

func (s *server) deleteKey(w http.ResponseWriter, r *http.Request) error {
	if err := s.accounts.DeleteKey(r.Context(), principal(r).User, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
