// Package sqlite opens the chat store (package store's DB) on SQLite with
// the pure-Go driver modernc.org/sqlite (no cgo), for `parley serve` and
// single-node deployments. This package holds only what is SQLite's own:
// the connections, the schema files (migrations/*.sql, applied at Open)
// and the Dialect with its error codes.
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
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

var _ chat.Store = (*DB)(nil)

// dialect is SQLite for the shared core. Times are stored as Unix
// milliseconds in INTEGER columns, so they sort as integers and round-trip
// exactly.
var dialect = store.Dialect{
	Name: "sqlite",
	Time: func(t time.Time) any { return t.UnixMilli() },
	// MAX with two arguments is SQLite's scalar maximum.
	Greatest: "MAX",
	// LIKE is case-insensitive for ASCII in SQLite (the driver has no
	// ICU), which is what a search box needs most.
	ILike: "LIKE",
	// Unix milliseconds, as Time stores them.
	Now:     "CAST(unixepoch('subsec') * 1000 AS INTEGER)",
	NowPlus: "(CAST(unixepoch('subsec') * 1000 AS INTEGER) + ?)",
	// A read transaction in WAL mode already sees one snapshot.
	ReadTx: nil,
	Kind:   kind,
	// The write connection begins every transaction IMMEDIATE (see Open),
	// which takes the file's write lock up front.
	MigrationLock: "",
	VersionTable: `CREATE TABLE IF NOT EXISTS ` + migrate.Table + ` (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	)`,
}

// Options tune Open; zero fields take their flags' defaults.
type Options struct {
	// BusyTimeout is how long a statement waits for a lock held by another
	// process sharing the file.
	BusyTimeout time.Duration
	// MaxReadConns bounds the read pool.
	MaxReadConns int
	// Sync is how hard a commit reaches the disk: SyncNormal or SyncFull.
	// See the constants.
	Sync string
}

// The durability settings (PRAGMA synchronous) Options.Sync takes.
const (
	// SyncNormal (WAL + synchronous=NORMAL): a commit survives a crash of
	// the process, but the last commits before a power cut or kernel crash
	// may be lost (never corrupting the file); the WAL is synced at each
	// checkpoint, not at each commit.
	SyncNormal = "normal"
	// SyncFull (WAL + synchronous=FULL): the WAL is synced at every
	// commit, so a committed write survives a power cut too, at the cost
	// of an fsync per write.
	SyncFull = "full"
)

// DB is the chat store on one SQLite file.
type DB struct {
	*store.DB
	write *sql.DB // exactly one connection: the single writer
	read  *sql.DB // read-only pool; the same as write for ":memory:"
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
	def := cmdline.Defaults((*Options).RegisterFlags)
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = def.BusyTimeout
	}
	if opts.MaxReadConns <= 0 {
		opts.MaxReadConns = def.MaxReadConns
	}
	if opts.Sync == "" {
		opts.Sync = def.Sync
	}
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
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
	common.Set("_synchronous", strings.ToUpper(opts.Sync))

	wq := cloneValues(common)
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

	if !memory {
		if err := enableWAL(ctx, write, opts.BusyTimeout); err != nil {
			write.Close()
			return nil, fmt.Errorf("sqlite: %s: %w", path, err)
		}
	}
	if err := dialect.Migrate(ctx, write, migrationFiles); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	if memory {
		return &DB{DB: store.New(dialect, write, write), write: write, read: write}, nil
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
	return &DB{DB: store.New(dialect, write, read), write: write, read: read}, nil
}

// enableWAL switches the database to WAL mode, which the file then keeps.
// The switch is retried until wait has passed: SQLite does not call the
// busy handler for it, so while another process holds a lock on a new
// database (replicas starting together, one of them creating the schema)
// it fails at once with SQLITE_BUSY, whatever the busy timeout. (For the
// migration itself BEGIN IMMEDIATE and the busy timeout do wait.)
func enableWAL(ctx context.Context, db *sql.DB, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	pause := 5 * time.Millisecond
	for {
		var mode string
		err := db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
		if err == nil {
			if !strings.EqualFold(mode, "wal") {
				return fmt.Errorf("journal mode is %s, not wal", mode)
			}
			return nil
		}
		if !busy(err) || time.Now().Add(pause).After(deadline) {
			return fmt.Errorf("switch to WAL: %w", err)
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return fmt.Errorf("switch to WAL: %w", ctx.Err())
		}
		pause = min(2*pause, 100*time.Millisecond)
	}
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// busy reports whether err is SQLite's "another connection holds the lock".
func busy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_BUSY || se.Code()&0xff == sqlite3.SQLITE_LOCKED)
}

// kind classifies SQLite's result codes.
func kind(err error) chat.Kind {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return chat.KindInternal
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return chat.KindConflict
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY,
		// The only trigger that refuses anything stands in for the foreign
		// key of conversations.owner_id (see 0003_accounts.sql).
		sqlite3.SQLITE_CONSTRAINT_TRIGGER:
		return chat.KindNotFound
	}
	switch se.Code() & 0xff { // primary result code
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
		return chat.KindUnavailable
	}
	return chat.KindInternal
}
