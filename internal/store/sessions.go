package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parley-chat/parley/internal/account"
)

// CreateSession stores s.
func (d *DB) CreateSession(ctx context.Context, s account.Session) error {
	if err := d.ready(); err != nil {
		return err
	}
	_, err := d.write.ExecContext(ctx, d.q(`INSERT INTO sessions (token_hash, user_id, created_at, renewed_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`),
		s.TokenHash, s.UserID, d.dl.Time(Time(s.CreatedAt, time.Now())), d.dl.Time(Time(s.RenewedAt, time.Now())),
		d.dl.Time(Time(s.ExpiresAt, time.Now())))
	return d.classify(ctx, "create session", err)
}

// SessionUser returns a live session and its enabled user, in one
// statement, so that a disabled user or an expired session is refused on
// the very next request.
func (d *DB) SessionUser(ctx context.Context, tokenHash string, now time.Time) (account.Session, account.User, error) {
	if err := d.ready(); err != nil {
		return account.Session{}, account.User{}, err
	}
	var s account.Session
	var u account.User
	err := d.read.QueryRowContext(ctx, d.q(`SELECT s.token_hash, s.user_id, s.created_at, s.renewed_at, s.expires_at,
			u.id, u.username, u.role, u.disabled, u.created_at
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ? AND s.expires_at > ? AND NOT u.disabled`), tokenHash, d.dl.Time(Time(now, now))).
		Scan(&s.TokenHash, &s.UserID, scanTime(&s.CreatedAt), scanTime(&s.RenewedAt), scanTime(&s.ExpiresAt),
			&u.ID, &u.Username, &u.Role, &u.Disabled, scanTime(&u.CreatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return account.Session{}, account.User{}, NotFound("session")
	}
	if err != nil {
		return account.Session{}, account.User{}, d.classify(ctx, "get session", err)
	}
	return s, u, nil
}

// RenewSession moves a session's expiry.
func (d *DB) RenewSession(ctx context.Context, tokenHash string, renewed, expires time.Time) error {
	if err := d.ready(); err != nil {
		return err
	}
	return d.exec(ctx, d.write, "renew session", "session", `UPDATE sessions SET renewed_at = ?, expires_at = ? WHERE token_hash = ?`,
		d.dl.Time(Time(renewed, renewed)), d.dl.Time(Time(expires, expires)), tokenHash)
}

// DeleteSession ends a session, if it exists.
func (d *DB) DeleteSession(ctx context.Context, tokenHash string) error {
	if err := d.ready(); err != nil {
		return err
	}
	_, err := d.write.ExecContext(ctx, d.q(`DELETE FROM sessions WHERE token_hash = ?`), tokenHash)
	return d.classify(ctx, "delete session", err)
}

// DeleteExpiredSessions removes the sessions expired at now.
func (d *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) error {
	if err := d.ready(); err != nil {
		return err
	}
	_, err := d.write.ExecContext(ctx, d.q(`DELETE FROM sessions WHERE expires_at <= ?`), d.dl.Time(Time(now, now)))
	return d.classify(ctx, "delete expired sessions", err)
}
