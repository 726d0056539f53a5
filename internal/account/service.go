package account

import (
	"context"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/chat"
)

// Password and username limits.
const (
	MinPasswordRunes = 8
	// MaxPasswordBytes bounds the work of hashing one.
	MaxPasswordBytes = 1024
	MaxUsernameBytes = 64
	MaxKeyNameRunes  = 100
)

// keyTouchEvery is how stale a key's last-used time may get: using a key
// writes to the database at most this often.
const keyTouchEvery = time.Minute

// Service is the account rules over a Store: signup, login and sessions,
// API keys, and what admins may do to accounts.
type Service struct {
	store Store
	cfg   Config
	hash  *hasher
	// users and addrs count failed logins per username and per client
	// address.
	users, addrs Limiter
	log          *slog.Logger
}

// NewService returns the account service over store. Zero fields of cfg
// take their defaults.
func NewService(store Store, cfg Config, log *slog.Logger) *Service {
	def := DefaultConfig()
	if cfg.Signup == "" {
		cfg.Signup = def.Signup
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = def.SessionTTL
	}
	if cfg.MaxLoginFailures <= 0 {
		cfg.MaxLoginFailures = def.MaxLoginFailures
	}
	if cfg.MaxAddressFailures <= 0 {
		cfg.MaxAddressFailures = def.MaxAddressFailures
	}
	if cfg.LoginFailureWindow <= 0 {
		cfg.LoginFailureWindow = def.LoginFailureWindow
	}
	if cfg.Password == (PasswordParams{}) {
		cfg.Password = def.Password
	}
	if cfg.MaxHashing <= 0 {
		cfg.MaxHashing = def.MaxHashing
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		store: store, cfg: cfg, log: log,
		hash:  newHasher(cfg.Password, cfg.MaxHashing),
		users: NewMemoryLimiter(cfg.MaxLoginFailures, cfg.LoginFailureWindow, cfg.Now),
		addrs: NewMemoryLimiter(cfg.MaxAddressFailures, cfg.LoginFailureWindow, cfg.Now),
	}
}

// SessionTTL is how long a session lives unused.
func (s *Service) SessionTTL() time.Duration { return s.cfg.SessionTTL }

// Local is the local user: who every request is under --auth none. It
// reads nothing, so that none mode works exactly as before accounts, even
// with the database down; Get reads the account itself.
func Local() User { return User{ID: LocalID, Role: RoleAdmin} }

// EnsureLocal makes sure the local user exists, for none mode.
func (s *Service) EnsureLocal(ctx context.Context) error { return s.store.EnsureLocal(ctx) }

// Get returns the account of u as stored now.
func (s *Service) Get(ctx context.Context, id string) (User, error) { return s.store.GetUser(ctx, id) }

// SignupOpen reports whether a signup would be accepted now: the first
// account can always sign up, later ones only while signup is open.
func (s *Service) SignupOpen(ctx context.Context) (bool, error) {
	policy, err := s.signupPolicy(ctx)
	if err != nil || policy == SignupOpen {
		return policy == SignupOpen, err
	}
	return s.store.Claimable(ctx)
}

// FirstSignupPending reports whether no account exists yet, so that the
// next signup makes the first admin.
func (s *Service) FirstSignupPending(ctx context.Context) (bool, error) {
	return s.store.Claimable(ctx)
}

// Signup makes an account and signs it in, returning the session token.
// The first account becomes the admin and takes over everything the local
// user had; later ones get RoleUser, and only under --signup open.
func (s *Service) Signup(ctx context.Context, username, password string) (User, string, error) {
	username, err := checkUsername(username)
	if err != nil {
		return User{}, "", err
	}
	if err := checkPassword(password); err != nil {
		return User{}, "", err
	}
	// Refuse before hashing: a closed signup must cost nothing.
	policy, err := s.signupPolicy(ctx)
	if err != nil {
		return User{}, "", err
	}
	if policy != SignupOpen {
		first, err := s.store.Claimable(ctx)
		if err != nil {
			return User{}, "", err
		}
		if !first {
			return User{}, "", errSignupClosed()
		}
	}
	hash, err := s.hash.hash(ctx, password)
	if err != nil {
		return User{}, "", err
	}
	u, claimed, err := s.store.ClaimLocal(ctx, username, hash)
	if err != nil {
		return User{}, "", err
	}
	if !claimed {
		if policy != SignupOpen { // another signup claimed it meanwhile
			return User{}, "", errSignupClosed()
		}
		if u, err = s.store.CreateUser(ctx, User{Username: username, Role: RoleUser}, hash); err != nil {
			return User{}, "", err
		}
	}
	s.log.Info("account created", "user_id", u.ID, "username", u.Username, "role", u.Role, "first", claimed)
	token, err := s.startSession(ctx, u)
	return u, token, err
}

// Login checks a username and password and starts a session. Failures are
// counted per username and per client address (addr); past the limits,
// attempts are refused with KindRateLimited until the oldest failure has
// aged out, without checking the password.
func (s *Service) Login(ctx context.Context, username, password, addr string) (User, string, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	if len(username) > MaxUsernameBytes {
		// No account has so long a name; the throttle's key stays small.
		username = username[:MaxUsernameBytes+1]
	}
	userKey, addrKey := "user:"+username, "addr:"+addr
	if err := s.throttled(ctx, userKey, addrKey); err != nil {
		return User{}, "", err
	}
	u, hash, err := s.store.UserByName(ctx, username)
	if err != nil && chat.KindOf(err) != chat.KindNotFound {
		return User{}, "", err
	}
	if len(password) > MaxPasswordBytes {
		password = "" // never hash unbounded input; it cannot match anyway
		hash = ""
	}
	ok, err := s.hash.verify(ctx, password, hash) // also for unknown users, to take as long
	if err != nil {
		if ctx.Err() != nil {
			return User{}, "", err
		}
		s.log.Error("unreadable password hash", "user_id", u.ID, "err", err)
	}
	if !ok {
		for _, key := range []string{userKey, addrKey} {
			if err := s.usersOrAddrs(key).Fail(ctx, key); err != nil {
				s.log.Warn("count failed login", "err", err)
			}
		}
		s.log.Info("login failed", "username", username, "client", addr)
		return User{}, "", &chat.Error{Kind: chat.KindUnauthenticated, Code: "invalid_credentials", Message: "wrong username or password"}
	}
	if u.Disabled {
		return User{}, "", errDisabled()
	}
	if err := s.users.Reset(ctx, userKey); err != nil {
		s.log.Warn("reset failed logins", "err", err)
	}
	token, err := s.startSession(ctx, u)
	return u, token, err
}

// usersOrAddrs is the limiter of a throttle key.
func (s *Service) usersOrAddrs(key string) Limiter {
	if strings.HasPrefix(key, "user:") {
		return s.users
	}
	return s.addrs
}

// throttled refuses a login while its username or its address has had too
// many failures.
func (s *Service) throttled(ctx context.Context, keys ...string) error {
	var wait time.Duration
	for _, key := range keys {
		d, err := s.usersOrAddrs(key).Wait(ctx, key)
		if err != nil {
			return err
		}
		wait = max(wait, d)
	}
	if wait <= 0 {
		return nil
	}
	return &chat.Error{Kind: chat.KindRateLimited, Code: "too_many_login_attempts", RetryAfter: wait,
		Message: "too many failed logins; try again later"}
}

// startSession stores a new session of u and returns its token.
func (s *Service) startSession(ctx context.Context, u User) (string, error) {
	now := s.cfg.Now()
	// Each login sweeps the expired sessions, so that they do not pile up.
	if err := s.store.DeleteExpiredSessions(ctx, now); err != nil {
		s.log.Warn("delete expired sessions", "err", err)
	}
	token := newToken()
	err := s.store.CreateSession(ctx, Session{TokenHash: hashToken(token), UserID: u.ID,
		CreatedAt: now, RenewedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL)})
	if err != nil {
		return "", err
	}
	return token, nil
}

// Logout ends the session of token, if it exists.
func (s *Service) Logout(ctx context.Context, token string) error {
	if !looksLikeToken(token) {
		return nil
	}
	return s.store.DeleteSession(ctx, hashToken(token))
}

// Session returns the user of a live session token. When the session's
// expiry has moved (it slides with use), renewed is true, so that the
// caller can renew the cookie too. An unknown or expired token, or a
// disabled user, is KindUnauthenticated.
func (s *Service) Session(ctx context.Context, token string) (u User, renewed bool, err error) {
	if !looksLikeToken(token) {
		return User{}, false, errNotSignedIn()
	}
	now := s.cfg.Now()
	sess, u, err := s.store.SessionUser(ctx, hashToken(token), now)
	if chat.KindOf(err) == chat.KindNotFound {
		return User{}, false, errNotSignedIn()
	}
	if err != nil {
		return User{}, false, err
	}
	// Renewing on every request would be a write per request; a tenth of
	// the lifetime (at most a minute) late is close enough.
	if now.Sub(sess.RenewedAt) >= min(s.cfg.SessionTTL/10, time.Minute) {
		if err := s.store.RenewSession(ctx, sess.TokenHash, now, now.Add(s.cfg.SessionTTL)); err != nil {
			s.log.Warn("renew session", "user_id", u.ID, "err", err)
		} else {
			renewed = true
		}
	}
	return u, renewed, nil
}

// KeyUser returns the user and key of an API key. An unknown or deleted
// key, or a disabled user, is KindUnauthenticated.
func (s *Service) KeyUser(ctx context.Context, key string) (User, Key, error) {
	if !looksLikeKey(key) {
		return User{}, Key{}, errBadKey()
	}
	k, u, err := s.store.KeyUser(ctx, hashToken(key))
	if chat.KindOf(err) == chat.KindNotFound {
		return User{}, Key{}, errBadKey()
	}
	if err != nil {
		return User{}, Key{}, err
	}
	now := s.cfg.Now()
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= keyTouchEvery {
		if err := s.store.TouchKey(ctx, k.ID, now); err != nil {
			s.log.Warn("record key use", "key_id", k.ID, "err", err)
		}
	}
	return u, k, nil
}

// checkUsername returns a username as stored (lower case), or why it
// cannot be one: 1 to 64 of a-z, 0-9 and . _ - @, so that names look alike
// in every database and cannot imitate each other with look-alike letters.
func checkUsername(name string) (string, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	bad := func(msg string) (string, error) {
		return "", &chat.Error{Kind: chat.KindInvalid, Code: "invalid_username", Message: msg}
	}
	if name == "" || len(name) > MaxUsernameBytes {
		return bad("a username has 1 to 64 characters")
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || strings.ContainsRune("._-@", r)) {
			return bad("a username may only have letters a-z, digits and . _ - @")
		}
	}
	return name, nil
}

// checkPassword refuses passwords that are too short, too long or not text.
func checkPassword(pw string) error {
	bad := func(msg string) error {
		return &chat.Error{Kind: chat.KindInvalid, Code: "invalid_password", Message: msg}
	}
	switch {
	case !utf8.ValidString(pw) || strings.ContainsRune(pw, 0):
		return bad("a password must be text")
	case utf8.RuneCountInString(pw) < MinPasswordRunes:
		return bad("a password needs at least 8 characters")
	case len(pw) > MaxPasswordBytes:
		return bad("a password may have at most 1024 bytes")
	}
	return nil
}

func errSignupClosed() error {
	return &chat.Error{Kind: chat.KindForbidden, Code: "signup_closed", Message: "signup is closed; ask an admin for an account"}
}

func errNotSignedIn() error {
	return &chat.Error{Kind: chat.KindUnauthenticated, Code: "not_signed_in", Message: "sign in first"}
}

func errBadKey() error {
	return &chat.Error{Kind: chat.KindUnauthenticated, Code: "invalid_api_key", Message: "the API key is not valid"}
}

func errDisabled() error {
	return &chat.Error{Kind: chat.KindForbidden, Code: "account_disabled", Message: "this account is disabled"}
}
