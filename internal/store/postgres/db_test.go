package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/sharedtest"
	"github.com/parley-chat/parley/internal/store/migrate"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// testURL returns the server to test against, or skips the test.
func testURL(t *testing.T) string {
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
func freshSchema(t *testing.T) string {
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
	storetest.Run(t, func(t *testing.T) chat.Store { return openURL(t, freshSchema(t)) })
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

func TestReopenKeepsDataAndSchema(t *testing.T) {
	u := freshSchema(t)
	ctx := t.Context()
	d, err := Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.CreateConversation(ctx, chat.Conversation{Title: "kept"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.AppendMessage(ctx, chat.Message{ConversationID: c.ID, Role: chat.RoleUser, Content: "still here"}); err != nil {
		t.Fatal(err)
	}
	first := versions(t, d)
	d.Close()
	for i := range 2 {
		d := openURL(t, u)
		if got := versions(t, d); len(got) == 0 || len(got) != len(first) {
			t.Fatalf("reopen %d: versions %v, want %v", i, got, first)
		}
		got, err := d.GetConversation(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Title != "kept" || len(got.Messages) != 1 || got.Messages[0].Content != "still here" {
			t.Fatalf("reopen %d: got %+v", i, got)
		}
		d.Close()
	}
}

// Replicas starting at the same moment against an empty database: without
// the advisory lock they would race on CREATE TABLE and fail.
func TestConcurrentOpen(t *testing.T) {
	u := freshSchema(t)
	const replicas = 5
	var wg sync.WaitGroup
	errs := make(chan error, replicas)
	dbs := make(chan *DB, replicas)
	for range replicas {
		wg.Go(func() {
			d, err := Open(t.Context(), u)
			if err != nil {
				errs <- err
				return
			}
			dbs <- d
		})
	}
	wg.Wait()
	close(errs)
	close(dbs)
	for err := range errs {
		t.Error(err)
	}
	var last *DB
	for d := range dbs {
		t.Cleanup(func() { d.Close() })
		last = d
	}
	if last == nil {
		t.Fatal("no replica opened")
	}
	ms, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if got := versions(t, last); len(got) != len(ms) {
		t.Errorf("versions recorded = %v, want each of %d exactly once", got, len(ms))
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	u := freshSchema(t)
	d := openURL(t, u)
	if _, err := d.pool.Exec(t.Context(), `INSERT INTO `+migrate.Table+` (version, name) VALUES (9999, '9999_future.sql')`); err != nil {
		t.Fatal(err)
	}
	d.Close()
	_, err := Open(t.Context(), u)
	if err == nil || !strings.Contains(err.Error(), "newer than this binary supports") {
		t.Fatalf("Open of a newer schema = %v, want a clear refusal", err)
	}
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
