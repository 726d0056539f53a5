package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/synth"
	"github.com/parley-chat/parley/internal/engine/tensor"
)

// TestBatchedGolden: the golden runs, all at once in eight slots, give
// llama.cpp's tokens, with the decode steps batched across slots.
func TestBatchedGolden(t *testing.T) {
	runs := golden(t)
	m := load(t, Options{Threads: 2, Parallel: len(runs)})
	// Every request takes its first token before any goes on, so all are
	// in their slots together and later steps run them as one batch.
	var started sync.WaitGroup
	started.Add(len(runs))
	gate := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, len(runs))
	for _, r := range runs {
		wg.Go(func() {
			var ids []int
			_, err := m.Generate(context.Background(), r.PromptIDs, Params{MaxTokens: r.NPredict}, func(id int) error {
				if len(ids) == 0 {
					started.Done()
					<-gate
				}
				ids = append(ids, id)
				return nil
			})
			if err == nil && !slices.Equal(ids, r.GeneratedIDs) {
				err = fmt.Errorf("prompt %q n=%d: got %v\nwant %v", r.Prompt, r.NPredict, ids, r.GeneratedIDs)
			}
			errs <- err
		})
	}
	started.Wait()
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	m.Close() // the scheduler has ended: its fields may be read
	if m.sched.peak < 4 {
		t.Errorf("at most %d sequences ran in one step, want the runs batched", m.sched.peak)
	}
}

// synthModel is a random-weight model of typ, large enough that batched
// products take the GEMM kernels.
func synthModel(t *testing.T, typ tensor.Type, opts Options) *Model {
	t.Helper()
	var buf bytes.Buffer
	err := synth.WriteNet(&buf, synth.Net{Arch: "llama", Embd: 256, Layers: 2, Heads: 4, HeadsKV: 2,
		FFN: 512, Vocab: 512, ContextLength: 256, Type: typ, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(f, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestBatchedMatchesSingle: requests run together in one batch (decode
// rows and prompt chunks of another size mixed) give the tokens each gives
// alone. Prompt chunks of another size take other kernels (the GEMM's
// sums run in another order than the row kernels'; decode steps of up to
// 8 Q8_0 rows are exact, TestRowsNMatchesRows), so logits agree to
// rounding only: F32
// weights keep this random model's greedy choices clear of ties, while
// quantized weights (activations and scales rounded per block, K-quants
// decoded per 32 instead of summed per 256) can flip a near-tie of a
// random model; TestBatchedGolden checks a real model batched.
func TestBatchedMatchesSingle(t *testing.T) {
	for _, typ := range []tensor.Type{tensor.F32} {
		t.Run(typ.String(), func(t *testing.T) {
			prompts := make([][]int, 6)
			for i := range prompts {
				for j := range 3 + 17*i { // one long prompt is chunked between decode steps
					prompts[i] = append(prompts[i], (i*31+j*7)%512)
				}
			}
			single := synthModel(t, typ, Options{Threads: 2})
			var want [][]int
			for _, p := range prompts {
				ids, _, err := collect(context.Background(), single, p, Params{MaxTokens: 24})
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, ids)
			}
			batched := synthModel(t, typ, Options{Threads: 2, Parallel: 4, BatchSize: 32})
			got := make([][]int, len(prompts))
			errs := make([]error, len(prompts))
			var wg sync.WaitGroup
			for i, p := range prompts {
				wg.Go(func() { got[i], _, errs[i] = collect(context.Background(), batched, p, Params{MaxTokens: 24}) })
			}
			wg.Wait()
			for i := range prompts {
				if errs[i] != nil {
					t.Fatal(errs[i])
				}
				if !slices.Equal(got[i], want[i]) {
					t.Errorf("prompt %d batched: %v\nalone: %v", i, got[i], want[i])
				}
			}
		})
	}
}

// TestCancelFreesSlot: a caller that goes away frees its slot at the next
// step, and the slot serves the next request, reusing the prompt it holds.
func TestCancelFreesSlot(t *testing.T) {
	r := golden(t)[1]
	m := load(t, Options{Threads: 1, ContextLength: 512})
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := m.Generate(ctx, r.PromptIDs, Params{}, func(int) error {
		if n++; n == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		m.mu.Lock()
		running := m.running
		m.mu.Unlock()
		if running == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cancelled request still holds its slot")
		}
	}
	// Without cancellation it would have run to the full context.
	if held := len(m.sched.slots[0].cached); held > len(r.PromptIDs)+3+readAhead+1 {
		t.Errorf("the slot went on to %d tokens after its caller left", held)
	}
	ids, res, err := collect(context.Background(), m, r.PromptIDs, Params{MaxTokens: r.NPredict})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, r.GeneratedIDs) {
		t.Errorf("after the cancelled run: %v\nwant %v", ids, r.GeneratedIDs)
	}
	if res.CachedTokens != len(r.PromptIDs)-1 {
		t.Errorf("cached tokens %d, want %d (all but the last prompt token)", res.CachedTokens, len(r.PromptIDs)-1)
	}
}

// TestQueueFull: with every slot busy and the queue full a request fails
// at once with ErrBusy; a queued request gives up when its context ends.
func TestQueueFull(t *testing.T) {
	for _, maxQueue := range []int{NoQueue, 1} {
		t.Run(fmt.Sprint("max-queue=", maxQueue), func(t *testing.T) {
			m := load(t, Options{Threads: 1, Parallel: 1, MaxQueue: maxQueue})
			// The first request holds the slot: its reader stops at its
			// first token, which pauses the slot.
			first, release := make(chan struct{}), make(chan struct{})
			done := make(chan error, 1)
			go func() {
				once := false
				_, err := m.Generate(context.Background(), []int{1}, Params{MaxTokens: 40}, func(int) error {
					if !once {
						once = true
						close(first)
						<-release
					}
					return nil
				})
				done <- err
			}()
			<-first
			var queued chan error
			if maxQueue > 0 {
				ctx, cancel := context.WithCancel(context.Background())
				queued = make(chan error, 1)
				go func() {
					_, err := m.Generate(ctx, []int{1, 2}, Params{MaxTokens: 4}, func(int) error { return nil })
					queued <- err
				}()
				for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
					m.mu.Lock()
					n := len(m.queue)
					m.mu.Unlock()
					if n == 1 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatal("the second request never queued")
					}
				}
				defer func() {
					cancel()
					if err := <-queued; !errors.Is(err, context.Canceled) {
						t.Errorf("queued request after cancel: %v", err)
					}
					close(release)
					if err := <-done; err != nil {
						t.Error(err)
					}
				}()
			} else {
				defer func() {
					close(release)
					if err := <-done; err != nil {
						t.Error(err)
					}
				}()
			}
			if _, err := m.Generate(context.Background(), []int{1, 3}, Params{MaxTokens: 1}, func(int) error { return nil }); !errors.Is(err, ErrBusy) {
				t.Errorf("request over the limit: %v, want ErrBusy", err)
			}
		})
	}
}

func TestKVBytes(t *testing.T) {
	m := load(t, Options{Threads: 1, Parallel: 3, ContextLength: 100})
	c := m.Config()
	if want := int64(3 * 100 * c.Layers * 2 * c.HeadsKV * c.HeadDim * 4); m.KVBytes() != want || m.Parallel() != 3 {
		t.Errorf("KVBytes %d, want %d", m.KVBytes(), want)
	}
}

// TestSlotKeepsItsConversation: a prompt that shares only its beginning
// with a slot's tokens goes to another free slot, so the first
// conversation's next turn still finds its cache.
func TestSlotKeepsItsConversation(t *testing.T) {
	runs := golden(t)
	a, b := runs[0], runs[2] // "Once upon a time", "Lily wanted to": only BOS in common
	m := load(t, Options{Threads: 1, Parallel: 2})
	for _, r := range []goldenRun{a, b} {
		if _, _, err := collect(context.Background(), m, r.PromptIDs, Params{MaxTokens: r.NPredict}); err != nil {
			t.Fatal(err)
		}
	}
	next := append(slices.Clone(a.PromptIDs), a.GeneratedIDs[:10]...)
	ids, res, err := collect(context.Background(), m, next, Params{MaxTokens: 6})
	if err != nil {
		t.Fatal(err)
	}
	if res.CachedTokens != len(next)-1 {
		t.Errorf("the next turn found %d of %d tokens cached, want all but the last", res.CachedTokens, len(next))
	}
	if !slices.Equal(ids, a.GeneratedIDs[10:16]) {
		t.Errorf("next turn %v, want %v", ids, a.GeneratedIDs[10:16])
	}
}

// servesGoldenBatched loads stories260K with one slot per 16-token golden
// run and KV caches of typ, and checks that the runs, all at once, give
// llama.cpp's tokens.
func servesGoldenBatched(t *testing.T, typ tensor.Type) (m *Model, runs int) {
	t.Helper()
	var rs []goldenRun
	for _, r := range golden(t) {
		if r.NPredict == 16 {
			rs = append(rs, r)
		}
	}
	m = load(t, Options{Threads: 2, Parallel: len(rs), KVType: typ})
	var wg sync.WaitGroup
	errs := make([]error, len(rs))
	for i, r := range rs {
		wg.Go(func() {
			ids, _, err := collect(context.Background(), m, r.PromptIDs, Params{MaxTokens: r.NPredict})
			if err == nil && !slices.Equal(ids, r.GeneratedIDs) {
				err = fmt.Errorf("prompt %q: %v\nwant %v", r.Prompt, ids, r.GeneratedIDs)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	return m, len(rs)
}

// TestF16KVSlots: slots with F16 caches (read as stored by the batched
// decode step) serve the golden runs batched, in half the memory.
func TestF16KVSlots(t *testing.T) {
	m, runs := servesGoldenBatched(t, tensor.F16)
	if f32 := load(t, Options{Threads: 1, Parallel: runs}); 2*m.KVBytes() != f32.KVBytes() {
		t.Errorf("f16 slots take %d bytes, f32 %d", m.KVBytes(), f32.KVBytes())
	}
}

// TestQ8KVSlots: slots with Q8_0 caches serve the golden runs batched,
// and a model whose key width is not whole blocks is refused at load.
func TestQ8KVSlots(t *testing.T) {
	m, runs := servesGoldenBatched(t, tensor.Q8_0)
	f32 := load(t, Options{Threads: 1, Parallel: runs})
	if m.KVBytes()*3 > f32.KVBytes() {
		t.Errorf("q8_0 slots take %d bytes, f32 %d", m.KVBytes(), f32.KVBytes())
	}
	var buf bytes.Buffer
	if err := synth.WriteNet(&buf, synth.Net{Arch: "llama", Embd: 48, Layers: 1, Heads: 2, HeadsKV: 2,
		FFN: 32, Vocab: 8, ContextLength: 32, Type: tensor.F32}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if m, err := New(f, Options{Threads: 1, KVType: tensor.Q8_0}); err == nil {
		m.Close()
		t.Error("a q8_0 cache of 48-wide keys accepted")
	}
}
