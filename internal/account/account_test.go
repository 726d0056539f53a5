package account

import (
	"context"
	"strings"
	"testing"
	"time"
)

var cheap = PasswordParams{Memory: 64, Time: 1, Threads: 1}

func TestPasswordHash(t *testing.T) {
	h := newHasher(cheap, 2)
	ctx := t.Context()
	enc, err := h.hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(enc, "correct horse") {
		t.Fatalf("hash %q", enc)
	}
	if again, _ := h.hash(ctx, "correct horse"); again == enc {
		t.Error("two hashes of one password are equal: no salt")
	}
	for pw, want := range map[string]bool{"correct horse": true, "correct hors": false, "Correct horse": false, "": false} {
		if ok, err := h.verify(ctx, pw, enc); ok != want || err != nil {
			t.Errorf("verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	// A hash names its own cost: one made with other costs still verifies.
	other := newHasher(PasswordParams{Memory: 128, Time: 2, Threads: 2}, 1)
	if ok, err := other.verify(ctx, "correct horse", enc); !ok || err != nil {
		t.Errorf("verify with other costs = %v, %v", ok, err)
	}
	// No password set matches nothing, without an error.
	if ok, err := h.verify(ctx, "", ""); ok || err != nil {
		t.Errorf("verify against no password = %v, %v", ok, err)
	}
	for _, bad := range []string{
		"plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=999999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$c2hvcnQ",
	} {
		if ok, err := h.verify(ctx, "x", bad); ok || err == nil {
			t.Errorf("verify against %q = %v, %v; want an error", bad, ok, err)
		}
	}
}

// The default costs work (and are what OWASP asks for at least).
func TestDefaultPasswordParams(t *testing.T) {
	if p := DefaultPasswordParams; p.Memory < 19*1024 || p.Time < 2 || p.Threads < 1 {
		t.Fatalf("defaults %+v are below OWASP's minimum", p)
	}
	h := newHasher(DefaultPasswordParams, 1)
	enc, err := h.hash(t.Context(), "a long passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := h.verify(t.Context(), "a long passphrase", enc); !ok || err != nil {
		t.Fatalf("verify = %v, %v", ok, err)
	}
}

// At most MaxHashing hashes run at once; a waiting one gives up with its
// context.
func TestHashingBounded(t *testing.T) {
	h := newHasher(cheap, 1)
	release, err := h.acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := h.hash(ctx, "password1"); err == nil {
		t.Fatal("a hash ran while the only slot was taken")
	}
	release()
	if _, err := h.hash(t.Context(), "password1"); err != nil {
		t.Fatal(err)
	}
}

func TestTokens(t *testing.T) {
	a, b := newToken(), newToken()
	if a == b || len(a) != 43 || !looksLikeToken(a) {
		t.Fatalf("tokens %q %q", a, b)
	}
	k := newKey()
	if !strings.HasPrefix(k, "pk-") || !looksLikeKey(k) || looksLikeKey(a) || looksLikeToken(k) {
		t.Fatalf("key %q", k)
	}
	for _, bad := range []string{"", "pk-", "pk-short", k + "A", "sk-" + a, "pk-" + strings.Repeat("*", 43)} {
		if looksLikeKey(bad) {
			t.Errorf("looksLikeKey(%q)", bad)
		}
	}
	if hashToken(a) == hashToken(b) || len(hashToken(a)) != 64 || hashToken(a) == a {
		t.Errorf("hashToken(%q) = %q", a, hashToken(a))
	}
}

func TestMemoryLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewMemoryLimiter(3, 10*time.Minute, func() time.Time { return now })
	ctx := t.Context()
	wait := func(key string) time.Duration {
		d, err := l.Wait(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for i := range 3 {
		if d := wait("a"); d != 0 {
			t.Fatalf("after %d failures: wait %v", i, d)
		}
		l.Fail(ctx, "a")
		now = now.Add(time.Minute)
	}
	if d := wait("a"); d != 7*time.Minute {
		t.Fatalf("after 3 failures: wait %v, want 7m (until the first is 10m old)", d)
	}
	if d := wait("b"); d != 0 {
		t.Fatalf("another key waits %v", d)
	}
	now = now.Add(7 * time.Minute)
	if d := wait("a"); d != 0 {
		t.Fatalf("once the first failure aged out: wait %v", d)
	}
	l.Fail(ctx, "a") // three in the window again: 2nd, 3rd and this one
	if d := wait("a"); d != time.Minute {
		t.Fatalf("sliding window: wait %v, want 1m", d)
	}
	l.Reset(ctx, "a")
	if d := wait("a"); d != 0 {
		t.Fatalf("after Reset: wait %v", d)
	}
}

// A flood of different keys does not grow the limiter without bound: keys
// whose failures aged out are swept.
func TestMemoryLimiterForgets(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewMemoryLimiter(5, time.Minute, func() time.Time { return now })
	for i := range 100_000 {
		l.Fail(t.Context(), "user:"+string(rune(i)))
		if i%1000 == 999 {
			now = now.Add(2 * time.Minute)
		}
	}
	l.mu.Lock()
	n := len(l.failures)
	l.mu.Unlock()
	if n > 3000 {
		t.Fatalf("%d keys kept; the aged-out ones were not swept", n)
	}
}

func TestUsernameAndPasswordRules(t *testing.T) {
	for in, want := range map[string]string{"alice": "alice", "  Bob.Smith@example.com ": "bob.smith@example.com", "a_b-c": "a_b-c", "7": "7"} {
		if got, err := checkUsername(in); err != nil || got != want {
			t.Errorf("checkUsername(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "   ", "al ice", "alíce", "аlice", "a/b", "a\x00", strings.Repeat("a", 65)} {
		if _, err := checkUsername(bad); err == nil {
			t.Errorf("checkUsername(%q) accepted", bad)
		}
	}
	for _, ok := range []string{"12345678", "ünïcödé!", strings.Repeat("p", 1024)} {
		if err := checkPassword(ok); err != nil {
			t.Errorf("checkPassword(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "1234567", "ü234567", strings.Repeat("p", 1025), "bad\xffutf8!", "nul\x00inside"} {
		if err := checkPassword(bad); err == nil {
			t.Errorf("checkPassword(%q) accepted", bad)
		}
	}
}
