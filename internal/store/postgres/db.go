// Package postgres opens the chat store (package store's DB) on
// PostgreSQL, for deployments that run several api replicas against one
// shared database. This package holds only what is PostgreSQL's own: the
// pgx connection pool, the schema files (migrations/*.sql, applied at Open
// under an advisory lock so that replicas starting together do not race)
// and the Dialect with its SQLSTATE codes.
//
// The shared core speaks database/sql, so pgx serves it through its stdlib
// adapter on top of a pgxpool: pool settings in the URL (pool_max_conns...)
// still apply, and pgx still prepares and caches each statement per
// connection.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

var _ chat.Store = (*DB)(nil)

// migrationLock is the pg_advisory_xact_lock key held while migrating
// ("parley" in ASCII). It is database-wide, so replicas using different
// schemas of one database also take turns, which is harmless.
const migrationLock int64 = 0x7061726c6579

// dialect is PostgreSQL for the shared core.
var dialect = store.Dialect{
	Name:        "postgres",
	Placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
	// timestamptz columns take the time itself.
	Time:     func(t time.Time) any { return t },
	Greatest: "GREATEST",
	ILike:    "ILIKE",
	// The time the statement started, by the server's clock.
	Now:     "statement_timestamp()",
	NowPlus: "(statement_timestamp() + CAST(? AS double precision) * interval '1 millisecond')",
	// Read committed would let messages change between the statements
	// that read a conversation and those that read its messages.
	ReadTx: &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
	Kind:   kind,
	// Held until commit or rollback: a second replica waits here, then
	// sees the version the first one recorded and applies nothing.
	MigrationLock: `SELECT pg_advisory_xact_lock(` + strconv.FormatInt(migrationLock, 10) + `)`,
	VersionTable: `CREATE TABLE IF NOT EXISTS ` + migrate.Table + ` (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`,
}

// DB is the chat store on a PostgreSQL connection pool.
type DB struct {
	*store.DB
	pool *pgxpool.Pool
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
	// The pgxpool keeps the idle connections; database/sql borrows one
	// per call.
	db := stdlib.OpenDBFromPool(pool)
	if err := dialect.Migrate(ctx, db, migrationFiles); err != nil {
		db.Close()
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &DB{DB: store.New(dialect, db, db), pool: pool}, nil
}

// Close closes the store, then the pool, waiting for connections in use
// to be returned. It may be called more than once.
func (d *DB) Close() error {
	err := d.DB.Close()
	d.pool.Close()
	return err
}

// kind classifies PostgreSQL's SQLSTATE codes and pgx's connection errors.
func kind(err error) chat.Kind {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return chat.KindConflict
		case pe.Code == "23503": // foreign_key_violation
			return chat.KindNotFound
		case pe.Code == "22021" || pe.Code == "22P05": // bad encoding
			return chat.KindInvalid
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"), // insufficient resources
			strings.HasPrefix(pe.Code, "57"), // operator intervention (shutdown, ...)
			strings.HasPrefix(pe.Code, "40"): // serialization failure, deadlock: retryable
			return chat.KindUnavailable
		}
		return chat.KindInternal
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		strings.Contains(err.Error(), "closed pool") || strings.Contains(err.Error(), "conn closed") {
		return chat.KindUnavailable
	}
	return chat.KindInternal
}
