// Package sqlite implements chat.Store on SQLite with the pure-Go driver
// modernc.org/sqlite (no cgo), for `parley serve` and single-node
// deployments. The schema comes from the embedded migrations/*.sql files,
// applied at Open.
//
// SQLite allows one writer at a time. Rather than let goroutines collide on
// the file lock (SQLITE_BUSY), every write goes through one dedicated
// connection, so writers queue in Go; reads use a separate pool and, thanks
// to WAL, never wait for the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

var _ chat.Store = (*DB)(nil)

// Options tune Open; the zero value is a sensible default.
type Options struct {
	// BusyTimeout is how long a statement waits for a lock held by another
	// process sharing the file (default 5s).
	BusyTimeout time.Duration
	// MaxReadConns bounds the read pool (default 4).
	MaxReadConns int
}

// DB is a chat.Store on one SQLite file.
type DB struct {
	write *sql.DB // exactly one connection: the single writer
	read  *sql.DB // read-only pool; the same as write for ":memory:"

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed, with its parent directories) the database
// at path and brings its schema up to date. path ":memory:" gives a private
// in-memory database, for tests and demos.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if strings.ContainsRune(path, '?') {
		// The driver splits its DSN at the first '?'.
		return nil, fmt.Errorf("sqlite: database path %q must not contain '?'", path)
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	if opts.MaxReadConns <= 0 {
		opts.MaxReadConns = 4
	}
	memory := path == ":memory:"
	if !memory {
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("sqlite: create directory for %s: %w", path, err)
			}
		}
	}

	common := url.Values{}
	common.Set("_busy_timeout", strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10))
	common.Set("_foreign_keys", "1")
	common.Set("_synchronous", "NORMAL")

	wq := cloneValues(common)
	if !memory {
		wq.Set("_journal_mode", "WAL")
	}
	// BEGIN IMMEDIATE takes the write lock up front: a deferred transaction
	// that reads and then writes can fail with SQLITE_BUSY without waiting
	// when another process wrote in between.
	wq.Set("_txlock", "immediate")
	write, err := sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	d := &DB{write: write, read: write}
	if err := d.migrate(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	if memory {
		return d, nil
	}

	rq := cloneValues(common)
	rq.Set("_query_only", "1")
	read, err := sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	read.SetMaxOpenConns(opts.MaxReadConns)
	read.SetMaxIdleConns(opts.MaxReadConns)
	if err := read.PingContext(ctx); err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	d.read = read
	return d, nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// migrate applies the pending migrations in one transaction, so a
// database is either fully upgraded or untouched.
func (d *DB) migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	tx, err := d.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+migrate.Table+` (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("create %s: %w", migrate.Table, err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+migrate.Table).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	pending, err := migrate.Pending(ms, current)
	if err != nil {
		return err
	}
	for _, m := range pending {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+migrate.Table+` (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("record migration %s: %w", m.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migrations: %w", err)
	}
	return nil
}

// Ping reports whether the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if d.closed.Load() {
		return errClosed()
	}
	var one int
	if err := d.read.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return classify(ctx, "ping database", err)
	}
	return nil
}

// Close closes both pools. Later calls return the first call's result.
func (d *DB) Close() error {
	d.closeOnce.Do(func() {
		d.closed.Store(true)
		var errs []error
		if d.read != d.write {
			errs = append(errs, d.read.Close())
		}
		errs = append(errs, d.write.Close())
		d.closeErr = errors.Join(errs...)
	})
	return d.closeErr
}

func errClosed() error {
	return chat.E(chat.KindUnavailable, "database unavailable", errors.New("sqlite: store is closed"))
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
	cause := fmt.Errorf("sqlite: %s: %w", what, err)
	if ctxErr := ctx.Err(); ctxErr != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctxErr, context.DeadlineExceeded) {
			return chat.E(chat.KindTimeout, "database timed out", errors.Join(cause, context.DeadlineExceeded))
		}
		return chat.E(chat.KindUnavailable, "request canceled", errors.Join(cause, context.Canceled))
	}
	if errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "sql: database is closed") {
		return chat.E(chat.KindUnavailable, "database unavailable", cause)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return chat.E(chat.KindConflict, "already exists", cause)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return chat.E(chat.KindNotFound, "conversation not found", cause)
		}
		switch se.Code() & 0xff { // primary result code
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return chat.E(chat.KindUnavailable, "database unavailable", cause)
		}
	}
	return chat.E(chat.KindInternal, "database error", cause)
}

// ms converts a stored millisecond timestamp.
func ms(v int64) time.Time { return time.UnixMilli(v).UTC() }

// now is the current time as stored.
func now() time.Time { return store.Now() }
