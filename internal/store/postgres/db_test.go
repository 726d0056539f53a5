package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/sharedtest"
	"github.com/parley-chat/parley/internal/store/migrate"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// testURL returns the server to test against, or skips the test.
func testURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("PARLEY_TEST_POSTGRES_URL")
	if u == "" {
		sharedtest.Missing(t, "PARLEY_TEST_POSTGRES_URL not set; run .ci/postgres.sh and export the URL it prints to test the PostgreSQL store")
	}
	return u
}

// freshSchema creates an empty schema for one test and returns a URL whose
// connections use it, so tests are isolated from each other and from
// earlier runs; the schema is dropped afterwards.
func freshSchema(t testing.TB) string {
	t.Helper()
	base := testURL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("PARLEY_TEST_POSTGRES_URL: %v", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "parley_test_" + hex.EncodeToString(b[:])

	ctx := t.Context()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to PARLEY_TEST_POSTGRES_URL: %v", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func openURL(t *testing.T, u string) *DB {
	t.Helper()
	d, err := Open(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestConformance(t *testing.T) {
	testURL(t) // skip once here rather than in every subtest
	storetest.Run(t, func(t *testing.T) storetest.Store { return openURL(t, freshSchema(t)) })
}

func TestOpen(t *testing.T) {
	testURL(t)
	ms, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	storetest.RunOpen(t, func(t *testing.T) storetest.Database {
		u := freshSchema(t)
		return storetest.Database{
			Open:     func(ctx context.Context) (chat.Store, error) { return Open(ctx, u) },
			Versions: func(t *testing.T, st chat.Store) []int { return versions(t, st.(*DB)) },
			Record: func(t *testing.T, st chat.Store, v int) {
				if _, err := st.(*DB).pool.Exec(t.Context(), `INSERT INTO `+migrate.Table+` (version, name) VALUES ($1, 'future.sql')`, v); err != nil {
					t.Fatal(err)
				}
			},
			Latest: migrate.Latest(ms),
		}
	})
}

func versions(t *testing.T, d *DB) []int {
	t.Helper()
	rows, err := d.pool.Query(t.Context(), `SELECT version FROM `+migrate.Table+` ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{"garbage", "postgres://%zz", "invalid database URL"},
		// Nothing listens on port 1: fails fast with a connection error.
		{"unreachable", "postgres://parley:secret-password@127.0.0.1:1/parley?sslmode=disable&connect_timeout=2", "connect to 127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Open(t.Context(), tt.url)
			if err == nil {
				d.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open error = %v, want it to mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret-password") {
				t.Errorf("Open error leaks the password: %v", err)
			}
		})
	}
}

func BenchmarkStore(b *testing.B) {
	testURL(b)
	storetest.Bench(b, func(b *testing.B) chat.Store {
		d, err := Open(b.Context(), freshSchema(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { d.Close() })
		return d
	})
}

// A database written by the first schema version is upgraded in place:
// its rows are kept, and its conversations become the first admin's.
func TestUpgradeFromVersion1(t *testing.T) {
	u := freshSchema(t)
	ms, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	old, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := migrate.Apply(t.Context(), old, ms[:1], migrate.Target{Lock: dialect.MigrationLock,
		VersionTable: dialect.VersionTable, Bind: dialect.Bind, Time: dialect.Time}); err != nil {
		t.Fatal(err)
	}
	rows := storetest.NewV1Rows()
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO conversations (id, title, created_at, updated_at, next_seq) VALUES ($1, 'old', now(), now(), 2)`, []any{rows.ConversationID}},
		{`INSERT INTO messages (id, conversation_id, seq, role, content, status, created_at, updated_at)
			VALUES ($1, $2, 1, 'user', 'question', 'complete', now(), now()), ($3, $2, 2, 'assistant', 'partial', 'streaming', now(), now())`,
			[]any{rows.UserID, rows.ConversationID, rows.ReplyID}},
	} {
		if _, err := old.ExecContext(t.Context(), stmt.sql, stmt.args...); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()
	storetest.CheckUpgrade(t, openURL(t, u), rows)
}
