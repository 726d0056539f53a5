// Package account is who may use Parley: users with a role and a password,
// the sessions a browser signs in with and the API keys programs use,
// signup and login (with throttling), what an admin may do to other
// accounts, and the settings an admin changes at run time (whether signup
// is open). It knows nothing of HTTP: package auth turns a request into
// one of these accounts, package api exposes the operations.
//
// Secrets are never stored: passwords as argon2id hashes, session tokens
// and API keys as SHA-256 hashes, looked up by hash.
package account

import (
	"context"
	"time"
)

// Role is what a user may do beyond their own conversations.
type Role string

const (
	// RoleAdmin may also manage every account.
	RoleAdmin Role = "admin"
	// RoleUser has their own conversations and keys only.
	RoleUser Role = "user"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleUser }

// LocalID is the id of the local user: who every request is under
// --auth none, and the owner of the conversations stored before accounts
// existed. The row exists from the migration on; the first account signed
// up claims it (gets its name and password), so that everything made in
// none mode, or before, is the first admin's.
const LocalID = "00000000-0000-0000-0000-000000000000"

// User is an account as shown to clients; the password hash never leaves
// the store except for a login check.
type User struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Role      Role      `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

// Admin reports whether u may manage accounts.
func (u User) Admin() bool { return u.Role == RoleAdmin }

// Key is an API key as listed; the key itself is shown once, when made.
type Key struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	// UserID is the key's owner.
	UserID string `json:"-"`
}

// Session is a signed-in browser, known by the hash of its cookie's token.
type Session struct {
	TokenHash string
	UserID    string
	CreatedAt time.Time
	// RenewedAt is when ExpiresAt last moved.
	RenewedAt time.Time
	ExpiresAt time.Time
}

// UserPatch changes some fields of an account; nil means "leave as is".
type UserPatch struct {
	Role         *Role
	Disabled     *bool
	PasswordHash *string
}

// Store keeps accounts, sessions and keys. Implementations return
// *chat.Error values: KindNotFound for unknown ids, KindConflict for a
// username that is taken, KindUnavailable when the database is down.
type Store interface {
	// ClaimLocal gives the local user username and passwordHash, making
	// it the first account, but only while no account has a password;
	// claimed is false (and nothing changes) otherwise. It recreates the
	// local user if it was deleted.
	ClaimLocal(ctx context.Context, username, passwordHash string) (u User, claimed bool, err error)
	// Claimable reports whether ClaimLocal would claim now: no account
	// has a password.
	Claimable(ctx context.Context) (bool, error)
	// EnsureLocal creates the local user, without a name or password, if
	// it does not exist.
	EnsureLocal(ctx context.Context) error
	// CreateUser stores a new account; ID and CreatedAt are filled in.
	CreateUser(ctx context.Context, u User, passwordHash string) (User, error)
	// GetUser returns the account with id.
	GetUser(ctx context.Context, id string) (User, error)
	// UserByName returns the account named username with its password
	// hash, for a login.
	UserByName(ctx context.Context, username string) (User, string, error)
	// ListUsers returns every account, oldest first.
	ListUsers(ctx context.Context) ([]User, error)
	// UpdateUser applies p. Disabling an account or changing its password
	// also ends its sessions.
	UpdateUser(ctx context.Context, id string, p UserPatch) (User, error)
	// DeleteUser removes the account with its sessions, keys and
	// conversations.
	DeleteUser(ctx context.Context, id string) error

	// CreateSession stores s.
	CreateSession(ctx context.Context, s Session) error
	// SessionUser returns the session whose token hashes to tokenHash and
	// its user, if it has not expired at now and the user is not
	// disabled; KindNotFound otherwise.
	SessionUser(ctx context.Context, tokenHash string, now time.Time) (Session, User, error)
	// RenewSession moves the expiry of a session.
	RenewSession(ctx context.Context, tokenHash string, renewed, expires time.Time) error
	// DeleteSession ends a session; ending one that does not exist is not
	// an error.
	DeleteSession(ctx context.Context, tokenHash string) error
	// DeleteExpiredSessions removes the sessions expired at now.
	DeleteExpiredSessions(ctx context.Context, now time.Time) error

	// CreateKey stores k with the hash of its key; ID and CreatedAt are
	// filled in.
	CreateKey(ctx context.Context, k Key, keyHash string) (Key, error)
	// ListKeys returns the keys of userID, oldest first.
	ListKeys(ctx context.Context, userID string) ([]Key, error)
	// DeleteKey removes key id of userID; another user's key is
	// KindNotFound.
	DeleteKey(ctx context.Context, userID, id string) error
	// KeyUser returns the key that hashes to keyHash and its user, if the
	// user is not disabled; KindNotFound otherwise.
	KeyUser(ctx context.Context, keyHash string) (Key, User, error)
	// TouchKey records that key id was used at at.
	TouchKey(ctx context.Context, id string, at time.Time) error

	// Setting returns the stored value of the setting name; ok is false
	// when it was never set.
	Setting(ctx context.Context, name string) (value string, ok bool, err error)
	// SetSetting stores value as the setting name.
	SetSetting(ctx context.Context, name, value string) error
}
