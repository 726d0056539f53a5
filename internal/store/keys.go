package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/chat"
)

const keyColumns = `id, user_id, name, created_at, last_used_at`

func scanKey(r scanner) (account.Key, error) {
	var k account.Key
	err := r.Scan(&k.ID, &k.UserID, &k.Name, scanTime(&k.CreatedAt), scanOptionalTime(&k.LastUsedAt))
	return k, err
}

// CreateKey stores k and the hash of its key.
func (d *DB) CreateKey(ctx context.Context, k account.Key, keyHash string) (account.Key, error) {
	if err := d.ready(); err != nil {
		return account.Key{}, err
	}
	if err := checkText("name", k.Name); err != nil {
		return account.Key{}, err
	}
	k.ID, k.CreatedAt, k.LastUsedAt = chat.NewID(), Now(), nil
	_, err := d.write.ExecContext(ctx, d.q(`INSERT INTO api_keys (id, user_id, name, key_hash, created_at) VALUES (?, ?, ?, ?, ?)`),
		k.ID, k.UserID, k.Name, keyHash, d.dl.Time(k.CreatedAt))
	if err != nil {
		err = d.classify(ctx, "create key", err)
		if chat.KindOf(err) == chat.KindNotFound { // the reference to users
			return account.Key{}, NotFound("user")
		}
		return account.Key{}, err
	}
	return k, nil
}

// ListKeys returns the keys of userID, oldest first.
func (d *DB) ListKeys(ctx context.Context, userID string) ([]account.Key, error) {
	if err := d.ready(); err != nil {
		return nil, err
	}
	ks, err := list(ctx, d, d.read, "list keys", scanKey,
		`SELECT `+keyColumns+` FROM api_keys WHERE user_id = ? ORDER BY created_at, id`, userID)
	if ks == nil && err == nil {
		ks = []account.Key{}
	}
	return ks, err
}

// DeleteKey removes one of userID's keys.
func (d *DB) DeleteKey(ctx context.Context, userID, id string) error {
	if err := d.ready(); err != nil {
		return err
	}
	if !chat.ValidID(id) {
		return NotFound("key")
	}
	return d.exec(ctx, d.write, "delete key", "key", `DELETE FROM api_keys WHERE id = ? AND user_id = ?`, id, userID)
}

// KeyUser returns the key with keyHash and its enabled user, in one
// statement, so that a deleted key or a disabled user is refused on the
// very next request.
func (d *DB) KeyUser(ctx context.Context, keyHash string) (account.Key, account.User, error) {
	if err := d.ready(); err != nil {
		return account.Key{}, account.User{}, err
	}
	var k account.Key
	var u account.User
	err := d.read.QueryRowContext(ctx, d.q(`SELECT k.id, k.user_id, k.name, k.created_at, k.last_used_at,
			u.id, u.username, u.role, u.disabled, u.created_at
		FROM api_keys k JOIN users u ON u.id = k.user_id
		WHERE k.key_hash = ? AND NOT u.disabled`), keyHash).
		Scan(&k.ID, &k.UserID, &k.Name, scanTime(&k.CreatedAt), scanOptionalTime(&k.LastUsedAt),
			&u.ID, &u.Username, &u.Role, &u.Disabled, scanTime(&u.CreatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return account.Key{}, account.User{}, NotFound("key")
	}
	if err != nil {
		return account.Key{}, account.User{}, d.classify(ctx, "get key", err)
	}
	return k, u, nil
}

// TouchKey records when a key was last used.
func (d *DB) TouchKey(ctx context.Context, id string, at time.Time) error {
	if err := d.ready(); err != nil {
		return err
	}
	return d.exec(ctx, d.write, "touch key", "key", `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, d.dl.Time(Time(at, at)), id)
}
