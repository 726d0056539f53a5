package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store/migrate"
)

// Dialect is what differs between the SQL databases DB runs on. The core
// writes every statement once, with ? placeholders and the SQL both
// databases share (RETURNING, row values, ON DELETE CASCADE); a Dialect
// fills in the rest.
type Dialect struct {
	// Name prefixes the causes of errors, which reach the logs only.
	Name string
	// Placeholder is the nth (from 1) statement parameter for a driver
	// that numbers them, such as PostgreSQL's "$1"; nil keeps "?".
	Placeholder func(n int) string
	// Time is a stored time (UTC, milliseconds) as bound to a statement:
	// Unix milliseconds for an INTEGER column, or the time.Time itself for
	// a timestamp column. Reading back accepts both (see scanTime).
	Time func(t time.Time) any
	// Greatest is the SQL function giving the larger of two values: MAX
	// in SQLite, GREATEST in PostgreSQL.
	Greatest string
	// ILike is the case-insensitive LIKE operator (at least for ASCII).
	ILike string
	// Now is an SQL expression for the database's current time as stored
	// (Time's form). Leases are timed by it rather than by each process,
	// so that replicas on several machines share one clock.
	Now string
	// NowPlus is an SQL expression for Now plus ? milliseconds.
	NowPlus string
	// ReadTx are the options of a transaction that reads several
	// statements from one snapshot; nil for the driver's default.
	ReadTx *sql.TxOptions
	// Kind classifies a driver error beyond what database/sql and the
	// context say: constraint violations, lost connections, a busy or
	// broken file. It returns KindInternal for anything it does not know.
	Kind func(err error) chat.Kind

	// MigrationLock, when set, is run first in the migration transaction
	// and returns only once no other process is migrating the database.
	// Empty when beginning a transaction already excludes other writers.
	MigrationLock string
	// VersionTable creates migrate.Table if it does not exist yet.
	VersionTable string
}

// Bind rewrites a statement written with ? placeholders for the driver.
// A '?' inside a string literal is left alone.
func (dl *Dialect) Bind(query string) string {
	if dl.Placeholder == nil {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n, quoted := 0, false
	for i := 0; i < len(query); i++ {
		switch c := query[i]; {
		case c == '\'':
			quoted = !quoted // '' inside a literal toggles twice
			b.WriteByte(c)
		case c == '?' && !quoted:
			n++
			b.WriteString(dl.Placeholder(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Classify turns an error from the driver into a domain error. what says
// what was being done, for logs; clients see only the kind's generic
// message. Domain errors pass through unchanged.
func (dl *Dialect) Classify(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	var ce *chat.Error
	if errors.As(err, &ce) {
		return err
	}
	cause := fmt.Errorf("%s: %s: %w", dl.Name, what, err)
	if ctxErr := ctx.Err(); ctxErr != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctxErr, context.DeadlineExceeded) {
			return chat.E(chat.KindTimeout, "database timed out", errors.Join(cause, context.DeadlineExceeded))
		}
		return chat.E(chat.KindUnavailable, "request canceled", errors.Join(cause, context.Canceled))
	}
	// database/sql's own "sql: database is closed" has no sentinel.
	if errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "sql: database is closed") {
		return chat.E(chat.KindUnavailable, "database unavailable", cause)
	}
	switch k := dl.Kind(err); k {
	case chat.KindConflict:
		return chat.E(k, "already exists", cause)
	case chat.KindNotFound: // a foreign key pointing nowhere
		return chat.E(k, "not found", cause)
	case chat.KindInvalid:
		return chat.E(k, "text cannot be stored", cause)
	case chat.KindUnavailable:
		return chat.E(k, "database unavailable", cause)
	}
	return chat.E(chat.KindInternal, "database error", cause)
}

// Closed is the error of every call on a closed store.
func (dl *Dialect) Closed() error {
	return chat.E(chat.KindUnavailable, "database unavailable", fmt.Errorf("%s: store is closed", dl.Name))
}

// timeDest scans a stored time in either of the forms Dialect.Time binds.
type timeDest struct{ t *time.Time }

func (d timeDest) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		*d.t = time.UnixMilli(v).UTC()
	case time.Time:
		*d.t = v.UTC()
	default:
		return fmt.Errorf("stored time has type %T", src)
	}
	return nil
}

func scanTime(t *time.Time) timeDest { return timeDest{t} }

// optionalTimeDest scans a stored time that may be NULL (never happened).
type optionalTimeDest struct{ t **time.Time }

func (d optionalTimeDest) Scan(src any) error {
	if src == nil {
		*d.t = nil
		return nil
	}
	var t time.Time
	if err := scanTime(&t).Scan(src); err != nil {
		return err
	}
	*d.t = &t
	return nil
}

func scanOptionalTime(t **time.Time) optionalTimeDest { return optionalTimeDest{t} }

// Migrate brings the schema of db up to date with the numbered files
// migrations/*.sql of files (see package migrate).
func (dl *Dialect) Migrate(ctx context.Context, db *sql.DB, files fs.FS) error {
	ms, err := migrate.Load(files, "migrations")
	if err != nil {
		return err
	}
	return migrate.Apply(ctx, db, ms, migrate.Target{
		Lock:         dl.MigrationLock,
		VersionTable: dl.VersionTable,
		Bind:         dl.Bind,
		Time:         dl.Time,
	})
}
