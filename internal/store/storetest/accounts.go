package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/chat"
)

func userNames(us []account.User) []string {
	return ids(us, func(u account.User) string { return u.Username })
}

func (s suite) testUsers(t *testing.T) {
	st := s.open(t)
	before := time.Now().Add(-time.Second)
	alice := mustUser(t, st, "alice", account.RoleAdmin)
	if !chat.ValidID(alice.ID) || alice.Username != "alice" || alice.Role != account.RoleAdmin || alice.Disabled ||
		alice.CreatedAt.Before(before) || alice.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("created %+v", alice)
	}
	bob := mustUser(t, st, "bob", account.RoleUser)
	_, err := st.CreateUser(ctxT(t), account.User{Username: "alice", Role: account.RoleUser}, "h")
	wantKind(t, "CreateUser of a taken name", err, chat.KindConflict)
	if chat.CodeOf(err) != "username_taken" {
		t.Errorf("taken name: code %q", chat.CodeOf(err))
	}

	got, err := st.GetUser(ctxT(t), bob.ID)
	if err != nil || got != bob {
		t.Errorf("GetUser = %+v, %v; want %+v", got, err, bob)
	}
	got, hash, err := st.UserByName(ctxT(t), "alice")
	if err != nil || got != alice || hash != "hash-of-alice" {
		t.Errorf("UserByName = %+v %q, %v", got, hash, err)
	}
	// The unclaimed local user has no name, and cannot be found by one.
	_, _, err = st.UserByName(ctxT(t), "")
	wantKind(t, "UserByName(\"\")", err, chat.KindNotFound)
	_, _, err = st.UserByName(ctxT(t), "carol")
	wantKind(t, "UserByName of nobody", err, chat.KindNotFound)

	all, err := st.ListUsers(ctxT(t))
	if err != nil || !slices.Equal(userNames(all), []string{"", "alice", "bob"}) || all[0].ID != account.LocalID {
		t.Errorf("ListUsers = %v, %v; want the local user, alice, bob", userNames(all), err)
	}

	admin, yes, newHash := account.RoleAdmin, true, "new-hash"
	up, err := st.UpdateUser(ctxT(t), bob.ID, account.UserPatch{Role: &admin})
	if err != nil || up.Role != account.RoleAdmin || up.Disabled || up.Username != "bob" {
		t.Errorf("promoted %+v, %v", up, err)
	}
	up, err = st.UpdateUser(ctxT(t), bob.ID, account.UserPatch{Disabled: &yes, PasswordHash: &newHash})
	if err != nil || up.Role != account.RoleAdmin || !up.Disabled {
		t.Errorf("disabled %+v, %v", up, err)
	}
	if _, hash, _ := st.UserByName(ctxT(t), "bob"); hash != newHash {
		t.Errorf("password hash %q after the change", hash)
	}
	for _, id := range []string{chat.NewID(), "nope"} {
		_, err = st.UpdateUser(ctxT(t), id, account.UserPatch{Role: &admin})
		wantKind(t, "UpdateUser("+id+")", err, chat.KindNotFound)
		_, err = st.GetUser(ctxT(t), id)
		wantKind(t, "GetUser("+id+")", err, chat.KindNotFound)
		wantKind(t, "DeleteUser("+id+")", st.DeleteUser(ctxT(t), id), chat.KindNotFound)
	}
	if err := st.DeleteUser(ctxT(t), bob.ID); err != nil {
		t.Fatal(err)
	}
	_, err = st.GetUser(ctxT(t), bob.ID)
	wantKind(t, "GetUser of a deleted user", err, chat.KindNotFound)
	// The name is free again.
	mustUser(t, st, "bob", account.RoleUser)
}

// The first account claims the local user, with everything it owns; then
// nothing can claim it again.
func (s suite) testClaimLocal(t *testing.T) {
	st := s.open(t)
	local := st.For(account.LocalID)
	early := mustCreate(t, local, chat.Conversation{Title: "made before any account"})
	if ok, err := st.Claimable(ctxT(t)); !ok || err != nil {
		t.Fatalf("Claimable of a new database = %v, %v", ok, err)
	}
	u, claimed, err := st.ClaimLocal(ctxT(t), "root", "h1")
	if err != nil || !claimed || u.ID != account.LocalID || u.Username != "root" || u.Role != account.RoleAdmin {
		t.Fatalf("ClaimLocal = %+v, %v, %v", u, claimed, err)
	}
	if got := mustGet(t, st.For(u.ID), early.ID); got.Title != early.Title {
		t.Errorf("the first admin sees %+v", got)
	}
	if _, hash, err := st.UserByName(ctxT(t), "root"); err != nil || hash != "h1" {
		t.Errorf("UserByName(root) = %q, %v", hash, err)
	}
	if ok, err := st.Claimable(ctxT(t)); ok || err != nil {
		t.Errorf("Claimable after the claim = %v, %v", ok, err)
	}
	u, claimed, err = st.ClaimLocal(ctxT(t), "intruder", "h2")
	if err != nil || claimed {
		t.Errorf("second ClaimLocal = %+v, %v, %v; want nothing claimed", u, claimed, err)
	}
	if _, hash, _ := st.UserByName(ctxT(t), "root"); hash != "h1" {
		t.Errorf("the first admin's password changed to %q", hash)
	}

	// Once anyone has a password, a recreated local user cannot be claimed.
	other := mustUser(t, st, "other", account.RoleAdmin)
	if err := st.DeleteUser(ctxT(t), account.LocalID); err != nil {
		t.Fatal(err)
	}
	if err := st.EnsureLocal(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := st.EnsureLocal(ctxT(t)); err != nil { // again: nothing to do
		t.Fatal(err)
	}
	if got, err := st.GetUser(ctxT(t), account.LocalID); err != nil || got.Username != "" {
		t.Errorf("recreated local user %+v, %v", got, err)
	}
	if _, claimed, err := st.ClaimLocal(ctxT(t), "late", "h3"); claimed || err != nil {
		t.Errorf("ClaimLocal with %s present = %v, %v", other.Username, claimed, err)
	}
}

// Of signups racing for the first account, exactly one wins.
func (s suite) testConcurrentClaims(t *testing.T) {
	st := s.open(t)
	const n = 8
	var wg sync.WaitGroup
	won := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, won[i], errs[i] = st.ClaimLocal(ctxT(t), "admin"+string(rune('a'+i)), "h")
		})
	}
	wg.Wait()
	winners := 0
	for i := range n {
		if errs[i] != nil && chat.KindOf(errs[i]) != chat.KindUnavailable {
			t.Errorf("claim %d: %v", i, errs[i])
		}
		if won[i] {
			winners++
		}
	}
	if winners != 1 {
		t.Errorf("%d signups claimed the first account, want 1", winners)
	}
}

func (s suite) testSessions(t *testing.T) {
	st := s.open(t)
	alice, bob := mustUser(t, st, "alice", account.RoleUser), mustUser(t, st, "bob", account.RoleUser)
	t0 := base
	sess := func(hash string, u account.User, ttl time.Duration) account.Session {
		s := account.Session{TokenHash: hash, UserID: u.ID, CreatedAt: t0, RenewedAt: t0, ExpiresAt: t0.Add(ttl)}
		if err := st.CreateSession(ctxT(t), s); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		return s
	}
	a1 := sess("a1", alice, time.Hour)
	sess("a2", alice, time.Minute)
	sess("b1", bob, time.Hour)
	lookup := func(hash string, at time.Time) (account.User, error) {
		_, u, err := st.SessionUser(ctxT(t), hash, at)
		return u, err
	}
	if u, err := lookup("a1", t0.Add(time.Minute)); err != nil || u != alice {
		t.Errorf("SessionUser(a1) = %+v, %v", u, err)
	}
	if got, _, err := st.SessionUser(ctxT(t), "a1", t0); err != nil || got.UserID != alice.ID ||
		!got.ExpiresAt.Equal(a1.ExpiresAt) || !got.RenewedAt.Equal(t0) {
		t.Errorf("session %+v, %v", got, err)
	}
	_, err := lookup("a1", t0.Add(time.Hour)) // expiry is exclusive
	wantKind(t, "an expired session", err, chat.KindNotFound)
	_, err = lookup("nope", t0)
	wantKind(t, "an unknown session", err, chat.KindNotFound)

	// Renewing moves the end.
	if err := st.RenewSession(ctxT(t), "a1", t0.Add(50*time.Minute), t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if u, err := lookup("a1", t0.Add(90*time.Minute)); err != nil || u.ID != alice.ID {
		t.Errorf("renewed session: %+v, %v", u, err)
	}
	wantKind(t, "RenewSession of nothing", st.RenewSession(ctxT(t), "nope", t0, t0), chat.KindNotFound)

	// Expired sessions are swept; live ones stay.
	if err := st.DeleteExpiredSessions(ctxT(t), t0.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	_, err = lookup("a2", t0)
	wantKind(t, "a swept session", err, chat.KindNotFound)
	if _, err := lookup("b1", t0); err != nil {
		t.Errorf("bob's session swept: %v", err)
	}

	// A disabled user's sessions stop at once and stay ended.
	yes, no := true, false
	if _, err := st.UpdateUser(ctxT(t), alice.ID, account.UserPatch{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	_, err = lookup("a1", t0)
	wantKind(t, "a disabled user's session", err, chat.KindNotFound)
	if _, err := st.UpdateUser(ctxT(t), alice.ID, account.UserPatch{Disabled: &no}); err != nil {
		t.Fatal(err)
	}
	_, err = lookup("a1", t0)
	wantKind(t, "a session of a user disabled and enabled again", err, chat.KindNotFound)

	// A new password ends the sessions too.
	sess("a3", alice, time.Hour)
	h := "new"
	if _, err := st.UpdateUser(ctxT(t), alice.ID, account.UserPatch{PasswordHash: &h}); err != nil {
		t.Fatal(err)
	}
	_, err = lookup("a3", t0)
	wantKind(t, "a session from before a password change", err, chat.KindNotFound)

	// Logout, twice; then the user goes and takes the rest.
	if err := st.DeleteSession(ctxT(t), "b1"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteSession(ctxT(t), "b1"); err != nil {
		t.Errorf("second DeleteSession: %v", err)
	}
	_, err = lookup("b1", t0)
	wantKind(t, "a session logged out", err, chat.KindNotFound)
	sess("b2", bob, time.Hour)
	if err := st.DeleteUser(ctxT(t), bob.ID); err != nil {
		t.Fatal(err)
	}
	_, err = lookup("b2", t0)
	wantKind(t, "a deleted user's session", err, chat.KindNotFound)
	// A session cannot name a user that does not exist.
	err = st.CreateSession(ctxT(t), account.Session{TokenHash: "x", UserID: bob.ID, CreatedAt: t0, RenewedAt: t0, ExpiresAt: t0.Add(time.Hour)})
	wantKind(t, "CreateSession of a deleted user", err, chat.KindNotFound)
}

func (s suite) testKeys(t *testing.T) {
	st := s.open(t)
	alice, bob := mustUser(t, st, "alice", account.RoleUser), mustUser(t, st, "bob", account.RoleUser)
	k1, err := st.CreateKey(ctxT(t), account.Key{UserID: alice.ID, Name: "laptop script"}, "k1")
	if err != nil || !chat.ValidID(k1.ID) || k1.Name != "laptop script" || k1.LastUsedAt != nil || k1.UserID != alice.ID {
		t.Fatalf("CreateKey = %+v, %v", k1, err)
	}
	k2, _ := st.CreateKey(ctxT(t), account.Key{UserID: alice.ID, Name: "ci"}, "k2")
	kb, _ := st.CreateKey(ctxT(t), account.Key{UserID: bob.ID, Name: "bob's"}, "kb")
	_, err = st.CreateKey(ctxT(t), account.Key{UserID: bob.ID, Name: "same hash"}, "kb")
	wantKind(t, "CreateKey with a hash in use", err, chat.KindConflict)
	_, err = st.CreateKey(ctxT(t), account.Key{UserID: chat.NewID(), Name: "nobody's"}, "kn")
	wantKind(t, "CreateKey of nobody", err, chat.KindNotFound)

	ks, err := st.ListKeys(ctxT(t), alice.ID)
	if err != nil || !slices.Equal(ids(ks, func(k account.Key) string { return k.ID }), []string{k1.ID, k2.ID}) {
		t.Errorf("alice's keys %+v, %v", ks, err)
	}
	k, u, err := st.KeyUser(ctxT(t), "k1")
	if err != nil || u != alice || k.ID != k1.ID || k.Name != k1.Name {
		t.Errorf("KeyUser(k1) = %+v %+v, %v", k, u, err)
	}
	if err := st.TouchKey(ctxT(t), k1.ID, base); err != nil {
		t.Fatal(err)
	}
	if k, _, _ := st.KeyUser(ctxT(t), "k1"); k.LastUsedAt == nil || !k.LastUsedAt.Equal(base) {
		t.Errorf("last used %v, want %v", k.LastUsedAt, base)
	}
	_, _, err = st.KeyUser(ctxT(t), "unknown")
	wantKind(t, "KeyUser of an unknown key", err, chat.KindNotFound)

	// Bob cannot delete Alice's key; she can, and it stops working.
	wantKind(t, "bob's DeleteKey of alice's", st.DeleteKey(ctxT(t), bob.ID, k1.ID), chat.KindNotFound)
	if _, _, err := st.KeyUser(ctxT(t), "k1"); err != nil {
		t.Errorf("alice's key after bob's attempt: %v", err)
	}
	if err := st.DeleteKey(ctxT(t), alice.ID, k1.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = st.KeyUser(ctxT(t), "k1")
	wantKind(t, "a deleted key", err, chat.KindNotFound)
	wantKind(t, "DeleteKey again", st.DeleteKey(ctxT(t), alice.ID, k1.ID), chat.KindNotFound)
	wantKind(t, "DeleteKey of a malformed id", st.DeleteKey(ctxT(t), alice.ID, "x"), chat.KindNotFound)

	// A disabled user's keys stop at once, and work again when enabled.
	yes, no := true, false
	st.UpdateUser(ctxT(t), alice.ID, account.UserPatch{Disabled: &yes})
	_, _, err = st.KeyUser(ctxT(t), "k2")
	wantKind(t, "a disabled user's key", err, chat.KindNotFound)
	st.UpdateUser(ctxT(t), alice.ID, account.UserPatch{Disabled: &no})
	if _, _, err := st.KeyUser(ctxT(t), "k2"); err != nil {
		t.Errorf("key of a re-enabled user: %v", err)
	}
	// Deleting the user deletes the keys.
	if err := st.DeleteUser(ctxT(t), bob.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = st.KeyUser(ctxT(t), "kb")
	wantKind(t, "a deleted user's key", err, chat.KindNotFound)
	if ks, err := st.ListKeys(ctxT(t), bob.ID); err != nil || len(ks) != 0 {
		t.Errorf("a deleted user's keys: %v, %v", ks, err)
	}
	_ = kb
}

func (s suite) testSettings(t *testing.T) {
	st := s.open(t)
	if v, ok, err := st.Setting(ctxT(t), "signup"); err != nil || ok || v != "" {
		t.Fatalf("a setting never set: %q, %v, %v", v, ok, err)
	}
	for _, want := range []string{"open", "closed", "open"} {
		if err := st.SetSetting(ctxT(t), "signup", want); err != nil {
			t.Fatalf("SetSetting(%q): %v", want, err)
		}
		if v, ok, err := st.Setting(ctxT(t), "signup"); err != nil || !ok || v != want {
			t.Fatalf("after SetSetting(%q): %q, %v, %v", want, v, ok, err)
		}
	}
	// Settings are independent of each other.
	if err := st.SetSetting(ctxT(t), "other", "x"); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := st.Setting(ctxT(t), "signup"); v != "open" {
		t.Errorf("signup after setting another: %q", v)
	}
	wantKind(t, "a NUL in a value", st.SetSetting(ctxT(t), "signup", "a\x00b"), chat.KindInvalid)
}
