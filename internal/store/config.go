package store

import (
	"errors"
	"path/filepath"
	"strings"

	"github.com/parley-chat/parley/internal/cmdline"
)

// Config names the database. Which dialect opens it is the caller's
// choice (internal/app), by Postgres; the dialects' own options (such as
// sqlite.Options) register their flags themselves.
type Config struct {
	// Database is a SQLite file path (optionally prefixed "sqlite:") or a
	// postgres:// URL.
	Database string
}

// RegisterFlags binds c to its flags, each declaring its default.
func (c *Config) RegisterFlags(f *cmdline.Flags) {
	f.String(&c.Database, "database", filepath.Join("data", "parley.db"), "SQLite file path, or a postgres:// URL")
}

// Validate reports a configuration that names no database.
func (c Config) Validate() error {
	if strings.TrimSpace(c.Database) == "" {
		return errors.New("--database must name a SQLite file or a postgres:// URL")
	}
	return nil
}

// Postgres reports whether Database is a PostgreSQL URL.
func (c Config) Postgres() bool {
	return strings.HasPrefix(c.Database, "postgres://") || strings.HasPrefix(c.Database, "postgresql://")
}

// SQLitePath is Database as a SQLite file path.
func (c Config) SQLitePath() string { return strings.TrimPrefix(c.Database, "sqlite:") }
