package account

import (
	"context"
	"sync"
	"time"
)

// Limiter counts failed attempts per key (a username, a client address)
// and says when a key has had too many. The in-process MemoryLimiter
// serves one api replica; a shared one (Redis) can take its place for
// several.
type Limiter interface {
	// Wait reports how long key must wait before its next attempt; 0
	// means it may try now.
	Wait(ctx context.Context, key string) (time.Duration, error)
	// Fail records a failed attempt by key.
	Fail(ctx context.Context, key string) error
	// Reset forgets key's failures, after a success.
	Reset(ctx context.Context, key string) error
}

// MemoryLimiter allows max failures per key within a sliding window.
type MemoryLimiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu       sync.Mutex
	failures map[string][]time.Time // per key, oldest first, at most max
	sweepAt  int                    // len(failures) that triggers the next sweep
}

// NewMemoryLimiter returns a limiter allowing max failures per key within
// window; now is its clock (nil: time.Now).
func NewMemoryLimiter(max int, window time.Duration, now func() time.Time) *MemoryLimiter {
	if now == nil {
		now = time.Now
	}
	return &MemoryLimiter{max: max, window: window, now: now, failures: map[string][]time.Time{}, sweepAt: 1024}
}

// Wait reports how long until key's oldest failure leaves the window, if
// key has max failures in it.
func (l *MemoryLimiter) Wait(_ context.Context, key string) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fs := l.recent(key)
	if len(fs) < l.max {
		return 0, nil
	}
	return fs[0].Add(l.window).Sub(l.now()), nil
}

// Fail records a failure of key now.
func (l *MemoryLimiter) Fail(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	fs := append(l.recent(key), l.now())
	if len(fs) > l.max { // only the newest max can matter
		fs = fs[len(fs)-l.max:]
	}
	l.failures[key] = fs
	if len(l.failures) >= l.sweepAt {
		l.sweep()
	}
	return nil
}

// Reset forgets key.
func (l *MemoryLimiter) Reset(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, key)
	return nil
}

// recent drops key's failures that have left the window and returns the
// rest.
func (l *MemoryLimiter) recent(key string) []time.Time {
	fs := l.failures[key]
	cut := l.now().Add(-l.window)
	i := 0
	for i < len(fs) && !fs[i].After(cut) {
		i++
	}
	if i == len(fs) {
		delete(l.failures, key)
		return nil
	}
	fs = fs[i:]
	l.failures[key] = fs
	return fs
}

// sweep forgets every key whose failures have all left the window, so
// that a stream of different usernames cannot grow the map without bound;
// the next sweep waits until the map has doubled again.
func (l *MemoryLimiter) sweep() {
	for key := range l.failures {
		l.recent(key)
	}
	l.sweepAt = max(1024, 2*len(l.failures))
}
