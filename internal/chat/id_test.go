package chat

import (
	"sync"
	"testing"
	"time"
)

func TestNewIDOrderedWithinAMillisecond(t *testing.T) {
	now := time.Now()
	prev := newIDAt(now)
	for i := 0; i < 10000; i++ { // far more than 4096: the counter carries into the time
		id := newIDAt(now)
		if !ValidID(id) {
			t.Fatalf("invalid id %q", id)
		}
		if id <= prev {
			t.Fatalf("id %d: %s does not sort after %s", i, id, prev)
		}
		prev = id
	}
}

func TestNewIDConcurrentUnique(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for i := 0; i < 1000; i++ {
				id := NewID()
				mu.Lock()
				if seen[id] {
					t.Errorf("duplicate id %s", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
