package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/chat"
)

var _ account.Store = (*DB)(nil)

const userColumns = `id, username, role, disabled, created_at`

func scanUser(r scanner) (account.User, error) {
	var u account.User
	err := r.Scan(&u.ID, &u.Username, &u.Role, &u.Disabled, scanTime(&u.CreatedAt))
	return u, err
}

// ready reports a closed store.
func (d *DB) ready() error {
	if d.closed.Load() {
		return d.dl.Closed()
	}
	return nil
}

// ClaimLocal makes the local user the first account, while no account has
// a password. The UPDATE re-checks that the local user has none, so of two
// signups racing for it exactly one claims it.
func (d *DB) ClaimLocal(ctx context.Context, username, passwordHash string) (account.User, bool, error) {
	if err := d.ready(); err != nil {
		return account.User{}, false, err
	}
	var u account.User
	claimed := false
	err := d.inTx(ctx, "claim local user", func(tx *sql.Tx) error {
		if ok, err := d.claimable(ctx, tx); err != nil || !ok {
			return err
		}
		if err := d.insertLocal(ctx, tx); err != nil {
			return err
		}
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, d.q(`UPDATE users SET username = ?, password_hash = ?,
				role = 'admin', disabled = ?, updated_at = ?
			WHERE id = ? AND password_hash = '' RETURNING `+userColumns),
			username, passwordHash, false, d.now(), account.LocalID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return usernameErr(d.classify(ctx, "claim local user", err))
		}
		claimed = true
		return nil
	})
	if err != nil || !claimed {
		return account.User{}, false, err
	}
	return u, true, nil
}

// Claimable reports whether no account has a password yet.
func (d *DB) Claimable(ctx context.Context) (bool, error) {
	if err := d.ready(); err != nil {
		return false, err
	}
	return d.claimable(ctx, d.read)
}

func (d *DB) claimable(ctx context.Context, db queryer) (bool, error) {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE password_hash <> ''`).Scan(&n); err != nil {
		return false, d.classify(ctx, "count accounts", err)
	}
	return n == 0, nil
}

// EnsureLocal creates the local user if it is missing.
func (d *DB) EnsureLocal(ctx context.Context) error {
	if err := d.ready(); err != nil {
		return err
	}
	return d.insertLocal(ctx, d.write)
}

func (d *DB) insertLocal(ctx context.Context, db execer) error {
	now := d.now()
	_, err := db.ExecContext(ctx, d.q(`INSERT INTO users (id, username, password_hash, role, disabled, created_at, updated_at)
		VALUES (?, '', '', 'admin', ?, ?, ?) ON CONFLICT (id) DO NOTHING`), account.LocalID, false, now, now)
	return d.classify(ctx, "create local user", err)
}

// CreateUser stores a new account.
func (d *DB) CreateUser(ctx context.Context, u account.User, passwordHash string) (account.User, error) {
	if err := d.ready(); err != nil {
		return account.User{}, err
	}
	u.ID = chat.NewID()
	u.CreatedAt = Now()
	_, err := d.write.ExecContext(ctx, d.q(`INSERT INTO users (`+userColumns+`, password_hash, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`),
		u.ID, u.Username, string(u.Role), u.Disabled, d.dl.Time(u.CreatedAt), passwordHash, d.dl.Time(u.CreatedAt))
	if err != nil {
		return account.User{}, usernameErr(d.classify(ctx, "create user", err))
	}
	return u, nil
}

// GetUser returns the account with id.
func (d *DB) GetUser(ctx context.Context, id string) (account.User, error) {
	if err := d.ready(); err != nil {
		return account.User{}, err
	}
	if !chat.ValidID(id) {
		return account.User{}, NotFound("user")
	}
	u, err := scanUser(d.read.QueryRowContext(ctx, d.q(`SELECT `+userColumns+` FROM users WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return account.User{}, NotFound("user")
	}
	return u, d.classify(ctx, "get user", err)
}

// UserByName returns the account named username and its password hash.
// The local user before it is claimed has no name and is never found.
func (d *DB) UserByName(ctx context.Context, username string) (account.User, string, error) {
	if err := d.ready(); err != nil {
		return account.User{}, "", err
	}
	if username == "" {
		return account.User{}, "", NotFound("user")
	}
	var u account.User
	var hash string
	err := d.read.QueryRowContext(ctx, d.q(`SELECT `+userColumns+`, password_hash FROM users WHERE username = ?`), username).
		Scan(&u.ID, &u.Username, &u.Role, &u.Disabled, scanTime(&u.CreatedAt), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return account.User{}, "", NotFound("user")
	}
	if err != nil {
		return account.User{}, "", d.classify(ctx, "get user", err)
	}
	return u, hash, nil
}

// ListUsers returns every account, oldest first.
func (d *DB) ListUsers(ctx context.Context) ([]account.User, error) {
	if err := d.ready(); err != nil {
		return nil, err
	}
	us, err := list(ctx, d, d.read, "list users", scanUser, `SELECT `+userColumns+` FROM users ORDER BY created_at, id`)
	if us == nil && err == nil {
		us = []account.User{}
	}
	return us, err
}

// UpdateUser applies p; disabling an account or changing its password ends
// its sessions in the same transaction.
func (d *DB) UpdateUser(ctx context.Context, id string, p account.UserPatch) (account.User, error) {
	if err := d.ready(); err != nil {
		return account.User{}, err
	}
	if !chat.ValidID(id) {
		return account.User{}, NotFound("user")
	}
	var role *string
	if p.Role != nil {
		r := string(*p.Role)
		role = &r
	}
	var u account.User
	err := d.inTx(ctx, "update user", func(tx *sql.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, d.q(`UPDATE users SET
				role = COALESCE(?, role),
				disabled = COALESCE(?, disabled),
				password_hash = COALESCE(?, password_hash),
				updated_at = ?
			WHERE id = ? RETURNING `+userColumns),
			role, p.Disabled, p.PasswordHash, d.now(), id))
		if errors.Is(err, sql.ErrNoRows) {
			return NotFound("user")
		}
		if err != nil {
			return d.classify(ctx, "update user", err)
		}
		if (p.Disabled != nil && *p.Disabled) || p.PasswordHash != nil {
			if _, err := tx.ExecContext(ctx, d.q(`DELETE FROM sessions WHERE user_id = ?`), id); err != nil {
				return d.classify(ctx, "end sessions", err)
			}
		}
		return nil
	})
	if err != nil {
		return account.User{}, err
	}
	return u, nil
}

// DeleteUser removes the account; its sessions, keys and conversations go
// with it (ON DELETE CASCADE, or SQLite's trigger for conversations).
func (d *DB) DeleteUser(ctx context.Context, id string) error {
	if err := d.ready(); err != nil {
		return err
	}
	if !chat.ValidID(id) {
		return NotFound("user")
	}
	return d.exec(ctx, d.write, "delete user", "user", `DELETE FROM users WHERE id = ?`, id)
}

// usernameErr gives a unique violation on users its meaning.
func usernameErr(err error) error {
	if chat.KindOf(err) == chat.KindConflict {
		return &chat.Error{Kind: chat.KindConflict, Code: "username_taken", Message: "this username is taken", Err: err}
	}
	return err
}
