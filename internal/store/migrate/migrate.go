// Package migrate is the schema migration scheme shared by the SQL stores:
// numbered SQL files (0001_init.sql, 0002_....sql) embedded in each store,
// applied in order inside one transaction at open, and recorded in a
// schema_migrations table. Apply runs them through database/sql; what
// differs per database (the version table's types, how processes starting
// together take turns, placeholders) comes in a Target.
package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Table is the name of the version table every store keeps.
const Table = "schema_migrations"

// Migration is one versioned schema change.
type Migration struct {
	Version int
	Name    string // file name, e.g. "0001_init.sql"
	SQL     string
}

// Load reads the *.sql files of dir in fsys. Names must start with a
// positive version number followed by '_' ("0001_init.sql"); versions must
// run 1, 2, 3... without gaps or repeats, so that a missing or duplicated
// file fails loudly at build/test time instead of at a customer's upgrade.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %q: name must be NNNN_description.sql", e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", e.Name(), err)
		}
		ms = append(ms, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %q: expected version %d (versions must be 1, 2, 3... without gaps)", m.Name, i+1)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no migrations in %q", dir)
	}
	return ms, nil
}

// Latest is the version the migrations bring a database to.
func Latest(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// Pending returns the migrations a database at version current still needs,
// or an error if the database was written by a newer binary: running old
// code on a newer schema could silently lose data, so it is refused.
func Pending(ms []Migration, current int) ([]Migration, error) {
	if latest := Latest(ms); current > latest {
		return nil, fmt.Errorf("database schema version %d is newer than this binary supports (%d): upgrade parley or use another database", current, latest)
	}
	return ms[current:], nil
}

// Target is what Apply needs to know of the database it migrates.
type Target struct {
	// Lock, when set, is run first in the migration transaction and must
	// return only once no other process is migrating (PostgreSQL's advisory
	// lock). Empty when beginning the transaction already excludes other
	// writers (SQLite's BEGIN IMMEDIATE).
	Lock string
	// VersionTable creates Table, with columns version, name and
	// applied_at, if it does not exist yet.
	VersionTable string
	// Bind rewrites a statement written with ? placeholders for the driver.
	Bind func(query string) string
	// Time is a time as the driver stores it.
	Time func(time.Time) any
}

// Apply brings db up to ms in one transaction, so that a database is
// either fully upgraded or untouched; several processes starting together
// take turns, and the later ones find nothing left to do.
func Apply(ctx context.Context, db *sql.DB, ms []Migration, t Target) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback()
	if t.Lock != "" {
		if _, err := tx.ExecContext(ctx, t.Lock); err != nil {
			return fmt.Errorf("lock for migration: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, t.VersionTable); err != nil {
		return fmt.Errorf("create %s: %w", Table, err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+Table).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	pending, err := Pending(ms, current)
	if err != nil {
		return err
	}
	record := t.Bind(`INSERT INTO ` + Table + ` (version, name, applied_at) VALUES (?, ?, ?)`)
	for _, m := range pending {
		// Without arguments, so that drivers with two protocols (pgx) use
		// the one that runs a file of several statements.
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, record, m.Version, m.Name, t.Time(time.Now().UTC().Truncate(time.Millisecond))); err != nil {
			return fmt.Errorf("record migration %s: %w", m.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migrations: %w", err)
	}
	return nil
}
