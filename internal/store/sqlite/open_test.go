package sqlite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store/migrate"
	"github.com/parley-chat/parley/internal/store/storetest"
)

func TestConformanceInMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		d, err := Open(t.Context(), ":memory:", Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	})
}

func TestOpen(t *testing.T) {
	ms, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	storetest.RunOpen(t, func(t *testing.T) storetest.Database {
		path := filepath.Join(t.TempDir(), "parley.db")
		return storetest.Database{
			Open: func(ctx context.Context) (chat.Store, error) { return Open(ctx, path, Options{}) },
			Versions: func(t *testing.T, st chat.Store) []int {
				return schemaVersions(t, st.(*DB))
			},
			Record: func(t *testing.T, st chat.Store, v int) {
				if _, err := st.(*DB).write.ExecContext(t.Context(), `INSERT INTO `+migrate.Table+` (version, name, applied_at) VALUES (?, 'future.sql', 0)`, v); err != nil {
					t.Fatal(err)
				}
			},
			Latest: migrate.Latest(ms),
		}
	})
}

func schemaVersions(t *testing.T, d *DB) []int {
	t.Helper()
	rows, err := d.read.QueryContext(t.Context(), `SELECT version FROM `+migrate.Table+` ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "not.db")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("this is not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
	}{
		{"empty path", ""},
		{"question mark", filepath.Join(dir, "a?b.db")},
		{"not a database", notDB},
		{"parent is a file", filepath.Join(blocker, "x.db")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Open(t.Context(), tt.path, Options{})
			if err == nil {
				d.Close()
				t.Fatalf("Open(%q) succeeded, want an error", tt.path)
			}
		})
	}
}

func TestPragmas(t *testing.T) {
	d := openTemp(t)
	tests := []struct {
		db     string
		pragma string
		want   string
	}{
		{"write", "journal_mode", "wal"},
		{"write", "foreign_keys", "1"},
		{"write", "synchronous", "1"}, // NORMAL
		{"write", "busy_timeout", "5000"},
		{"read", "foreign_keys", "1"},
		{"read", "query_only", "1"},
		{"read", "busy_timeout", "5000"},
	}
	for _, tt := range tests {
		pool := d.write
		if tt.db == "read" {
			pool = d.read
		}
		var got string
		if err := pool.QueryRowContext(t.Context(), "PRAGMA "+tt.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%s PRAGMA %s = %s, want %s", tt.db, tt.pragma, got, tt.want)
		}
	}
}

// Two stores on the same file (as two processes would be) both write
// without SQLITE_BUSY errors: busy_timeout and BEGIN IMMEDIATE make the
// second one wait for the file lock.
func TestTwoHandlesOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	ctx := t.Context()
	var stores []*DB
	for range 2 {
		d, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		stores = append(stores, d)
	}
	c, err := stores[0].For(account.LocalID).CreateConversation(ctx, chat.Conversation{Title: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, d := range stores {
		wg.Go(func() {
			for range 30 {
				if _, err := d.For(account.LocalID).AppendMessage(ctx, chat.Message{ConversationID: c.ID, Role: chat.RoleUser, Content: "x"}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := stores[1].For(account.LocalID).GetConversation(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 60 {
		t.Errorf("got %d messages, want 60", len(got.Messages))
	}
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) chat.Store {
		d, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { d.Close() })
		return d
	})
}

// A replica that starts while another holds the new database's write lock
// (it is creating the schema) waits for it instead of failing: SQLite does
// not call the busy handler for the switch to WAL, which made some of many
// api processes started together on a fresh file exit with "database is
// locked".
func TestOpenWaitsForAnotherWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, stmt := range []string{"BEGIN IMMEDIATE", "CREATE TABLE elsewhere (x)"} {
		if _, err := conn.ExecContext(t.Context(), stmt); err != nil {
			t.Fatal(err)
		}
	}
	opened := make(chan error, 1)
	go func() {
		d, err := Open(t.Context(), path, Options{})
		if err == nil {
			d.Close()
		}
		opened <- err
	}()
	select {
	case err := <-opened:
		t.Fatalf("Open returned while another connection held the write lock: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := conn.ExecContext(t.Context(), "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if err := <-opened; err != nil {
		t.Fatalf("Open after the lock was released: %v", err)
	}
}

// Many replicas opening one fresh file at the same moment all succeed.
func TestManyOpenAtOnce(t *testing.T) {
	for round := range 10 {
		path := filepath.Join(t.TempDir(), "parley.db")
		var wg sync.WaitGroup
		errs := make([]error, 32)
		for i := range errs {
			wg.Go(func() {
				d, err := Open(t.Context(), path, Options{})
				if err == nil {
					err = d.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d, replica %d: %v", round, i, err)
			}
		}
	}
}

// --sqlite-sync full makes every commit sync the WAL; the default is NORMAL.
func TestSync(t *testing.T) {
	for _, tt := range []struct{ sync, want string }{{"", "1"}, {SyncNormal, "1"}, {SyncFull, "2"}} {
		d, err := Open(t.Context(), filepath.Join(t.TempDir(), "parley.db"), Options{Sync: tt.sync})
		if err != nil {
			t.Fatal(err)
		}
		for _, pool := range []*sql.DB{d.write, d.read} {
			var got string
			if err := pool.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Sync %q: PRAGMA synchronous = %s, want %s", tt.sync, got, tt.want)
			}
		}
		d.Close()
	}
	if d, err := Open(t.Context(), filepath.Join(t.TempDir(), "parley.db"), Options{Sync: "off"}); err == nil {
		d.Close()
		t.Error(`Sync "off" accepted`)
	}
}

// A database written by the first schema version is upgraded in place:
// its rows are kept, and its conversations become the first admin's.
func TestUpgradeFromVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	ms, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	old, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := migrate.Apply(t.Context(), old, ms[:1], migrate.Target{VersionTable: dialect.VersionTable, Bind: dialect.Bind, Time: dialect.Time}); err != nil {
		t.Fatal(err)
	}
	rows := storetest.NewV1Rows()
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO conversations (id, title, created_at, updated_at, next_seq) VALUES (?, 'old', 1, 1, 2)`, []any{rows.ConversationID}},
		{`INSERT INTO messages (id, conversation_id, seq, role, content, status, created_at, updated_at)
			VALUES (?, ?, 1, 'user', 'question', 'complete', 1, 1), (?, ?, 2, 'assistant', 'partial', 'streaming', 1, 1)`,
			[]any{rows.UserID, rows.ConversationID, rows.ReplyID, rows.ConversationID}},
	} {
		if _, err := old.ExecContext(t.Context(), stmt.sql, stmt.args...); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()
	d, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	storetest.CheckUpgrade(t, d, rows)
}
