// Package migrate is the schema migration scheme shared by the SQL stores:
// numbered SQL files (0001_init.sql, 0002_....sql) embedded in each store,
// applied in order inside one transaction at open, and recorded in a
// schema_migrations table. This package only reads and checks the files and
// versions; each store runs them with its own driver, because the SQL and the
// locking differ per database.
package migrate

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
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
