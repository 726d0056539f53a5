// Package postgres implements chat.Store on PostgreSQL with pgx, for
// deployments that run several api replicas against one shared database.
// The schema comes from the embedded migrations/*.sql files, applied at Open
// under an advisory lock so that replicas starting together do not race.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

var _ chat.Store = (*DB)(nil)

// migrationLock is the pg_advisory_xact_lock key held while migrating
// ("parley" in ASCII). It is database-wide, so replicas using different
// schemas of one database also take turns, which is harmless.
const migrationLock int64 = 0x7061726c6579

// DB is a chat.Store on a PostgreSQL connection pool.
type DB struct {
	pool   *pgxpool.Pool
	closed atomic.Bool
}

// Open connects to the database at url (a postgres:// URL or a key=value
// DSN; pool settings such as pool_max_conns go in it too) and brings the
// schema up to date. A search_path parameter in the URL selects the schema
// the tables live in, e.g. to share one database between environments.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The error would echo the URL, password included.
		return nil, errors.New("postgres: invalid database URL")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: create pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	d := &DB{pool: pool}
	if err := d.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return d, nil
}

// migrate applies the pending migrations in one transaction, so a
// database is either fully upgraded or untouched.
func (d *DB) migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// Held until commit or rollback: a second replica waits here, then
	// sees the version the first one recorded and applies nothing.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("lock for migration: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+migrate.Table+` (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("create %s: %w", migrate.Table, err)
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+migrate.Table).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	pending, err := migrate.Pending(ms, current)
	if err != nil {
		return err
	}
	for _, m := range pending {
		// No arguments: pgx uses the simple protocol, which runs a file of
		// several statements.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+migrate.Table+` (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			return fmt.Errorf("record migration %s: %w", m.Name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit migrations: %w", err)
	}
	return nil
}

// Ping reports whether the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if d.closed.Load() {
		return errClosed()
	}
	return classify(ctx, "ping database", d.pool.Ping(ctx))
}

// Close closes the pool, waiting for connections in use to be returned.
// It may be called more than once.
func (d *DB) Close() error {
	d.closed.Store(true)
	d.pool.Close()
	return nil
}

func errClosed() error {
	return chat.E(chat.KindUnavailable, "database unavailable", errors.New("postgres: store is closed"))
}

// classify turns a driver error into a domain error. what says what was
// being done, for logs; clients only see the kind's generic message.
func classify(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	var ce *chat.Error
	if errors.As(err, &ce) {
		return err
	}
	cause := fmt.Errorf("postgres: %s: %w", what, err)
	if ctxErr := ctx.Err(); ctxErr != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctxErr, context.DeadlineExceeded) {
			return chat.E(chat.KindTimeout, "database timed out", errors.Join(cause, context.DeadlineExceeded))
		}
		return chat.E(chat.KindUnavailable, "request canceled", errors.Join(cause, context.Canceled))
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return chat.E(chat.KindConflict, "already exists", cause)
		case pe.Code == "23503": // foreign_key_violation
			return chat.E(chat.KindNotFound, "conversation not found", cause)
		case pe.Code == "22021" || pe.Code == "22P05": // bad encoding
			return chat.E(chat.KindInvalid, "text cannot be stored", cause)
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"), // insufficient resources
			strings.HasPrefix(pe.Code, "57"), // operator intervention (shutdown, ...)
			strings.HasPrefix(pe.Code, "40"): // serialization failure, deadlock: retryable
			return chat.E(chat.KindUnavailable, "database unavailable", cause)
		}
		return chat.E(chat.KindInternal, "database error", cause)
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		strings.Contains(err.Error(), "closed pool") || strings.Contains(err.Error(), "conn closed") {
		return chat.E(chat.KindUnavailable, "database unavailable", cause)
	}
	return chat.E(chat.KindInternal, "database error", cause)
}

// ts converts a stored timestamp to the domain's form.
func ts(t time.Time) time.Time { return t.UTC() }
