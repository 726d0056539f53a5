package storetest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/chat"
)

// Database is one database that stores are opened on again and again, as
// by restarts and by replicas starting together.
type Database struct {
	// Open opens a new store on the database, migrating it.
	Open func(ctx context.Context) (chat.Store, error)
	// Versions returns the schema versions recorded in st's database, in
	// order.
	Versions func(t *testing.T, st chat.Store) []int
	// Record marks version v applied in st's database, as a newer binary
	// would.
	Record func(t *testing.T, st chat.Store, v int)
	// Latest is the version this binary's migrations bring a database to.
	Latest int
}

// RunOpen checks what happens when stores open a database: the schema is
// applied once however many open it at the same moment, reopening keeps
// everything, and a schema newer than the binary is refused. fresh must
// return a new, empty database for each call.
func RunOpen(t *testing.T, fresh func(t *testing.T) Database) {
	t.Run("Reopen", func(t *testing.T) { testReopen(t, fresh(t)) })
	t.Run("ConcurrentOpen", func(t *testing.T) { testConcurrentOpen(t, fresh(t)) })
	t.Run("NewerSchemaRefused", func(t *testing.T) { testNewerSchemaRefused(t, fresh(t)) })
}

func openDB(t *testing.T, db Database) chat.Store {
	t.Helper()
	st, err := db.Open(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func allVersions(latest int) []int {
	vs := make([]int, latest)
	for i := range vs {
		vs[i] = i + 1
	}
	return vs
}

func testReopen(t *testing.T, db Database) {
	st := openDB(t, db)
	c := mustCreate(t, st.For(account.LocalID), chat.Conversation{Title: "kept"})
	m := mustAppend(t, st.For(account.LocalID), chat.Message{ConversationID: c.ID, Role: chat.RoleUser, Content: "still here"})
	if got := db.Versions(t, st); !slices.Equal(got, allVersions(db.Latest)) {
		t.Fatalf("schema versions %v, want 1 to %d", got, db.Latest)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // reopening twice must apply nothing again
		st := openDB(t, db)
		if got := db.Versions(t, st); !slices.Equal(got, allVersions(db.Latest)) {
			t.Fatalf("reopen %d: schema versions %v, want 1 to %d", i, got, db.Latest)
		}
		got := mustGet(t, st.For(account.LocalID), c.ID)
		if got.Title != "kept" || len(got.Messages) != 1 || got.Messages[0].ID != m.ID || got.Messages[0].Content != "still here" {
			t.Fatalf("reopen %d: got %+v", i, got)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// Replicas starting at the same moment against an empty database: without
// a lock around migrating they would race on CREATE TABLE and fail.
func testConcurrentOpen(t *testing.T, db Database) {
	const replicas = 6
	var wg sync.WaitGroup
	stores := make([]chat.Store, replicas)
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Go(func() { stores[i], errs[i] = db.Open(ctxT(t)) })
	}
	wg.Wait()
	for i, st := range stores {
		if errs[i] != nil {
			t.Errorf("replica %d: %v", i, errs[i])
			continue
		}
		t.Cleanup(func() { st.Close() })
		// Each replica works, and sees what the others wrote.
		mustCreate(t, st.For(account.LocalID), chat.Conversation{Title: "from a replica"})
		if got := db.Versions(t, st); !slices.Equal(got, allVersions(db.Latest)) {
			t.Errorf("replica %d: schema versions %v, want each of 1 to %d once", i, got, db.Latest)
		}
	}
	if t.Failed() {
		return
	}
	all, _ := listAll(t, stores[0].For(account.LocalID), chat.ListOptions{})
	if len(all) != replicas {
		t.Errorf("listed %d conversations, want one from each of %d replicas", len(all), replicas)
	}
}

func testNewerSchemaRefused(t *testing.T, db Database) {
	st := openDB(t, db)
	db.Record(t, st, 9999) // as if a newer parley had migrated this database
	st.Close()
	st, err := db.Open(ctxT(t))
	if err == nil {
		st.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "newer than this binary supports") {
		t.Fatalf("Open of a newer schema = %v, want a clear refusal", err)
	}
}

// checkUpgradedOwnership checks the conversations ids of a database made
// before accounts existed, now opened as st: they belong to the local
// user, the first account to sign up (ClaimLocal) gets them, and a later
// account sees none of them.
func checkUpgradedOwnership(t *testing.T, st Store, ids []string) {
	t.Helper()
	all, _ := listAll(t, st.For(account.LocalID), chat.ListOptions{})
	if got := convIDs(all); !sameSet(got, ids) {
		t.Fatalf("the local user lists %v after the upgrade, want %v", got, ids)
	}
	admin, claimed, err := st.ClaimLocal(ctxT(t), "first", "hash")
	if err != nil || !claimed || admin.Role != account.RoleAdmin {
		t.Fatalf("first signup after the upgrade: %+v, %v, %v", admin, claimed, err)
	}
	for _, id := range ids {
		mustGet(t, st.For(admin.ID), id)
	}
	later := mustUser(t, st, "later", account.RoleUser)
	if all, _ := listAll(t, st.For(later.ID), chat.ListOptions{}); len(all) != 0 {
		t.Errorf("a later account lists %v", convIDs(all))
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
