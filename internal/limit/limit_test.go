package limit_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/limit"
)

func TestRateRefusesOverBudgetAndRefills(t *testing.T) {
	now := time.Unix(1000, 0)
	r := limit.NewRate(60, func() time.Time { return now }) // one a second, 60 at once
	ctx := context.Background()
	for i := range 60 {
		if err := r.Take(ctx, "alice"); err != nil {
			t.Fatalf("request %d of the burst refused: %v", i+1, err)
		}
	}
	err := r.Take(ctx, "alice")
	if chat.KindOf(err) != chat.KindRateLimited {
		t.Fatalf("61st request at once: %v, want rate limited", err)
	}
	if d := chat.RetryAfterOf(err); d <= 0 || d > time.Second {
		t.Errorf("retry after %s, want (0, 1s]", d)
	}
	if err := r.Take(ctx, "bob"); err != nil {
		t.Errorf("another key shares alice's budget: %v", err)
	}
	now = now.Add(time.Second)
	if err := r.Take(ctx, "alice"); err != nil {
		t.Errorf("a second later: %v, want one request back", err)
	}
	if err := r.Take(ctx, "alice"); chat.KindOf(err) != chat.KindRateLimited {
		t.Errorf("and only one: %v", err)
	}
	if limit.NewRate(0, nil) != nil {
		t.Error("--rate-limit 0 made a limiter")
	}
}

func TestRunningCountsUntilReleased(t *testing.T) {
	r := limit.NewRunning(2)
	ctx := context.Background()
	a, err := r.Acquire(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Acquire(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Acquire(ctx, "alice"); chat.KindOf(err) != chat.KindRateLimited {
		t.Fatalf("third running reply: %v, want rate limited", err)
	}
	if free, err := r.Acquire(ctx, "bob"); err != nil {
		t.Fatalf("bob held up by alice: %v", err)
	} else {
		free()
	}
	a()
	a() // a second release frees nothing more
	c, err := r.Acquire(ctx, "alice")
	if err != nil {
		t.Fatalf("after one ended: %v", err)
	}
	if _, err := r.Acquire(ctx, "alice"); chat.KindOf(err) != chat.KindRateLimited {
		t.Fatalf("double release freed two slots: %v", err)
	}
	b()
	c()
	if limit.NewRunning(0) != nil {
		t.Error("--max-running-replies 0 made a limiter")
	}
}
