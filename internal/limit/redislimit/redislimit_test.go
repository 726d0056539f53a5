package redislimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/cluster/redistest"
	"github.com/parley-chat/parley/internal/limit/redislimit"
)

func client(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// Two replicas, one budget: what one spends the other cannot.
func TestRateIsSharedByReplicas(t *testing.T) {
	srv := redistest.Start(t)
	a := redislimit.NewRate(client(t, srv), 4, nil)
	b := redislimit.NewRate(client(t, srv), 4, nil)
	ctx := context.Background()
	for i, r := range []interface {
		Take(context.Context, string) error
	}{a, b, a, b} {
		if err := r.Take(ctx, "user:alice"); err != nil {
			t.Fatalf("request %d of 4: %v", i+1, err)
		}
	}
	for _, r := range []interface {
		Take(context.Context, string) error
	}{a, b} {
		err := r.Take(ctx, "user:alice")
		if chat.KindOf(err) != chat.KindRateLimited || chat.RetryAfterOf(err) <= 0 || chat.RetryAfterOf(err) > 15*time.Second {
			t.Fatalf("5th request of 4 a minute: %v (retry after %s)", err, chat.RetryAfterOf(err))
		}
	}
	if err := a.Take(ctx, "user:bob"); err != nil {
		t.Errorf("bob shares alice's budget: %v", err)
	}
}

// Running slots are one count across replicas; released ones come back,
// and those of a replica that died come back when their lease runs out.
func TestRunningIsSharedByReplicas(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a := redislimit.NewRunning(client(t, srv), 2, 300*time.Millisecond, nil)
	b := redislimit.NewRunning(client(t, srv), 2, 300*time.Millisecond, nil)
	freeA, err := a.Acquire(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	dying := client(t, srv)
	c := redislimit.NewRunning(dying, 2, 300*time.Millisecond, nil)
	freeC, err := c.Acquire(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer freeC() // stops its renewals; its Redis is gone by then
	if _, err := b.Acquire(ctx, "alice"); chat.KindOf(err) != chat.KindRateLimited {
		t.Fatalf("third slot of 2 on another replica: %v, want rate limited", err)
	}
	// Renewed past several leases, the slots stay taken.
	time.Sleep(time.Second)
	if _, err := b.Acquire(ctx, "alice"); chat.KindOf(err) != chat.KindRateLimited {
		t.Fatalf("slots lost although renewed: %v", err)
	}
	freeA()
	freeB, err := b.Acquire(ctx, "alice")
	if err != nil {
		t.Fatalf("after a release: %v", err)
	}
	// The replica holding the other slot dies: its renewals stop.
	dying.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		free, err := a.Acquire(ctx, "alice")
		if err == nil {
			free()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a dead replica's slot never came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	freeB()
}

// Without Redis each replica counts for itself: the limits hold, the api
// answers.
func TestWithoutRedisEachReplicaCounts(t *testing.T) {
	srv := redistest.Start(t)
	rdb := client(t, srv)
	srv.Kill()
	ctx := context.Background()
	r := redislimit.NewRate(rdb, 2, nil)
	for range 2 {
		if err := r.Take(ctx, "k"); err != nil {
			t.Fatalf("Redis down: %v, want the local count", err)
		}
	}
	if err := r.Take(ctx, "k"); chat.KindOf(err) != chat.KindRateLimited {
		t.Fatalf("Redis down, over the rate: %v", err)
	}
	run := redislimit.NewRunning(rdb, 1, time.Second, nil)
	free, err := run.Acquire(ctx, "k")
	if err != nil {
		t.Fatalf("Redis down: %v", err)
	}
	if _, err := run.Acquire(ctx, "k"); chat.KindOf(err) != chat.KindRateLimited {
		t.Fatalf("Redis down, over the running limit: %v", err)
	}
	free()
}
