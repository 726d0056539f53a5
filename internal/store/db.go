package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/parley-chat/parley/internal/chat"
)

// DB is chat.Store on database/sql: every query and row mapping, written
// once for all SQL databases. The sqlite and postgres packages open the
// connections, keep the schema files and give the Dialect.
type DB struct {
	dl    Dialect
	write *sql.DB // every statement that changes something
	read  *sql.DB // reads; may be write itself

	// bound caches Dialect.Bind per statement text: the statements are a
	// small fixed set, and binding each call would redo the same work.
	bound sync.Map // string → string

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var _ chat.Store = (*DB)(nil)

// New returns a store on two pools of one database, whose schema is up to
// date (see Migrate). Writes go to write and reads to read, so that a
// database with a single writer (SQLite) can give writes one connection
// while reads run beside it; pass the same pool twice otherwise. DB owns
// the pools: Close closes them.
func New(dl Dialect, write, read *sql.DB) *DB {
	return &DB{dl: dl, write: write, read: read}
}

// Ping reports whether the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if d.closed.Load() {
		return d.dl.Closed()
	}
	var one int
	return d.classify(ctx, "ping database", d.read.QueryRowContext(ctx, `SELECT 1`).Scan(&one))
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

// q returns query bound for the driver.
func (d *DB) q(query string) string {
	if d.dl.Placeholder == nil {
		return query
	}
	if b, ok := d.bound.Load(query); ok {
		return b.(string)
	}
	b := d.dl.Bind(query)
	d.bound.Store(query, b)
	return b
}

func (d *DB) classify(ctx context.Context, what string, err error) error {
	return d.dl.Classify(ctx, what, err)
}

// queryer is what reads need of a pool or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// execer is what writes need of a pool or a transaction.
type execer interface {
	queryer
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// inTx runs fn in a write transaction, committing only if fn succeeds.
func (d *DB) inTx(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	tx, err := d.write.BeginTx(ctx, nil)
	if err != nil {
		return d.classify(ctx, "begin "+what, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return d.classify(ctx, "commit "+what, tx.Commit())
}

// exec runs a write that must change a row, or reports missing (what
// was looked for) not found. what says what was being done, for logs.
func (d *DB) exec(ctx context.Context, db execer, what, missing, query string, args ...any) error {
	res, err := db.ExecContext(ctx, d.q(query), args...)
	if err != nil {
		return d.classify(ctx, what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return d.classify(ctx, what, err)
	}
	if n == 0 {
		return NotFound(missing)
	}
	return nil
}

// scanner is a row being read: *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// list reads every row of a query with scan.
func list[T any](ctx context.Context, d *DB, db queryer, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, d.q(query), args...)
	if err != nil {
		return nil, d.classify(ctx, what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, d.classify(ctx, what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, d.classify(ctx, what, err)
	}
	return out, nil
}

// now is the current time as bound to a statement.
func (d *DB) now() any { return d.dl.Time(Now()) }
