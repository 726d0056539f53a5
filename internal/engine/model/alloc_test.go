package model

import (
	"fmt"
	"testing"

	"github.com/parley-chat/parley/internal/engine/synth"
	"github.com/parley-chat/parley/internal/engine/tensor"
)

// TestDecodeDoesNotAllocate: a decoded token reuses the session's scratch,
// the pool's scratch and the cache's capacity, so it allocates nothing
// (garbage per token would be collector work in the hottest loop).
func TestDecodeDoesNotAllocate(t *testing.T) {
	for _, threads := range []int{1, 2} {
		for _, typ := range []tensor.Type{tensor.Q8_0, tensor.F32} {
			t.Run(fmt.Sprintf("%v/threads=%d", typ, threads), func(t *testing.T) {
				pool := tensor.NewPool(threads)
				defer pool.Close()
				// Big enough that the products split over the pool.
				m := newModel(t, synth.Net{Arch: "llama", Embd: 256, Layers: 2, Heads: 4, HeadsKV: 2, FFN: 512,
					Vocab: 1024, ContextLength: 256, Type: typ, Seed: 3}, Options{Pool: pool})
				m.parallelAttention = 1 // the parallel path too
				s, err := m.NewSession(128)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.Forward(prompt); err != nil {
					t.Fatal(err)
				}
				// Grow the cache once to the length the loop reaches.
				if _, err := s.Forward(make([]int, 40)); err != nil {
					t.Fatal(err)
				}
				s.Truncate(len(prompt))
				allocs := testing.AllocsPerRun(30, func() {
					if _, err := s.Forward([]int{3}); err != nil {
						t.Fatal(err)
					}
				})
				if allocs != 0 {
					t.Errorf("%v allocations per decoded token", allocs)
				}
			})
		}
	}
}
