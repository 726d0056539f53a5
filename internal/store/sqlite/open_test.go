package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store/migrate"
	"github.com/parley-chat/parley/internal/store/storetest"
)

func TestConformanceInMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) chat.Store {
		d, err := Open(t.Context(), ":memory:", Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
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

func TestReopenKeepsDataAndSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	ctx := t.Context()
	d, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.CreateConversation(ctx, chat.Conversation{Title: "kept"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := d.AppendMessage(ctx, chat.Message{ConversationID: c.ID, Role: chat.RoleUser, Content: "still here"})
	if err != nil {
		t.Fatal(err)
	}
	first := schemaVersions(t, d)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	for i := range 2 { // reopening twice must apply nothing again
		d, err = Open(ctx, path, Options{})
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		if got := schemaVersions(t, d); len(got) != len(first) || len(got) == 0 {
			t.Fatalf("reopen %d: schema versions %v, want %v", i, got, first)
		}
		got, err := d.GetConversation(ctx, c.ID)
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		if got.Title != "kept" || len(got.Messages) != 1 || got.Messages[0].ID != m.ID || got.Messages[0].Content != "still here" {
			t.Fatalf("reopen %d: got %+v", i, got)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	ctx := t.Context()
	d, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// As if a newer parley had migrated this file.
	if _, err := d.write.ExecContext(ctx, `INSERT INTO `+migrate.Table+` (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	d.Close()
	_, err = Open(ctx, path, Options{})
	if err == nil || !strings.Contains(err.Error(), "newer than this binary supports") {
		t.Fatalf("Open of a newer schema = %v, want a clear refusal", err)
	}
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
	c, err := stores[0].CreateConversation(ctx, chat.Conversation{Title: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, d := range stores {
		wg.Go(func() {
			for range 30 {
				if _, err := d.AppendMessage(ctx, chat.Message{ConversationID: c.ID, Role: chat.RoleUser, Content: "x"}); err != nil {
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
	got, err := stores[1].GetConversation(ctx, c.ID)
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
