// Package limit is how much of Parley one user, API key or client address
// may use at once: a request rate (a token bucket per key) and a number of
// replies running at the same time. Both are interfaces, so that replicas
// can share their counts (a Redis-backed implementation); the ones here
// count within one process. Refusals are *chat.Error of KindRateLimited
// with the time after which trying again can succeed, which the HTTP edge
// turns into 429 and Retry-After.
package limit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/cmdline"
)

// Rate decides whether one more request of a key may go now.
type Rate interface {
	// Take spends one request of key's budget, or returns a
	// KindRateLimited error saying when the next one will be there.
	Take(ctx context.Context, key string) error
}

// Running counts what runs at once per key (replies per user).
type Running interface {
	// Acquire takes one of key's slots until release is called (once;
	// more calls do nothing), or returns a KindRateLimited error when all
	// are taken.
	Acquire(ctx context.Context, key string) (release func(), err error)
}

// Config holds the limits.
type Config struct {
	// RatePerMinute is how many requests one key may make per minute, in
	// bursts of up to as many; 0: no limit.
	RatePerMinute int
	// MaxRunning is how many replies one user may have running at once;
	// 0: no limit.
	MaxRunning int
}

// RegisterFlags binds c to its flags, each declaring its default.
func (c *Config) RegisterFlags(f *cmdline.Flags) {
	f.Int(&c.RatePerMinute, "rate-limit", 600, "requests per minute one user, API key or (unsigned-in) client address may make, at most that many at once; over it: 429 with Retry-After (0: no limit)")
	f.Int(&c.MaxRunning, "max-running-replies", 3, "replies one user may have running at once, abandoned streams included until they end; more: 429 (0: no limit)")
}

// DefaultConfig returns the flags' defaults.
func DefaultConfig() Config { return cmdline.Defaults((*Config).RegisterFlags) }

// Validate reports negative limits.
func (c Config) Validate() error {
	if c.RatePerMinute < 0 || c.MaxRunning < 0 {
		return errors.New("--rate-limit and --max-running-replies must not be negative (0: no limit)")
	}
	return nil
}

// NewRate returns the in-process Rate of perMinute requests per key (nil
// for 0: no limit). now is the clock (nil: time.Now).
func NewRate(perMinute int, now func() time.Time) Rate {
	if perMinute <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &localRate{capacity: float64(perMinute), perSec: float64(perMinute) / 60, now: now, buckets: map[string]*bucket{}}
}

// maxBuckets is how many keys are remembered before full buckets (keys
// idle long enough to have their whole budget back) are forgotten.
const maxBuckets = 10000

type localRate struct {
	capacity, perSec float64
	now              func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func (l *localRate) Take(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.forgetFull(now)
		}
		b = &bucket{tokens: l.capacity, at: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.capacity, b.tokens+now.Sub(b.at).Seconds()*l.perSec)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	wait := time.Duration((1 - b.tokens) / l.perSec * float64(time.Second))
	secs := (wait + time.Second - 1) / time.Second
	return &chat.Error{Kind: chat.KindRateLimited, Code: "rate_limit_exceeded", RetryAfter: wait,
		Message: fmt.Sprintf("too many requests: at most %d a minute; try again in %d s", int(l.capacity), secs)}
}

// forgetFull drops the buckets that have refilled: forgetting them
// changes nothing.
func (l *localRate) forgetFull(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.perSec >= l.capacity {
			delete(l.buckets, k)
		}
	}
}

// NewRunning returns the in-process Running of max slots per key (nil for
// 0: no limit).
func NewRunning(max int) Running {
	if max <= 0 {
		return nil
	}
	return &localRunning{max: max, n: map[string]int{}}
}

type localRunning struct {
	max int

	mu sync.Mutex
	n  map[string]int
}

func (l *localRunning) Acquire(_ context.Context, key string) (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[key] >= l.max {
		return nil, &chat.Error{Kind: chat.KindRateLimited, Code: "too_many_running_replies", RetryAfter: 5 * time.Second,
			Message: fmt.Sprintf("%d replies of yours are running already; wait for one to end, or stop one", l.max)}
	}
	l.n[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.n[key]--; l.n[key] <= 0 {
				delete(l.n, key)
			}
		})
	}, nil
}
