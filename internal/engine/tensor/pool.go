package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Pool is a fixed set of worker goroutines that split kernels by rows.
// The goroutine calling a kernel works too, so NewPool(n) runs n-way
// parallel with n-1 helper goroutines. A Pool may be used by several
// goroutines at once (one call at a time is spread over the helpers; a
// call arriving meanwhile runs on its own goroutine); Close stops the
// helpers, after which calls run on the calling goroutine alone (Close must
// not race with calls in flight). A nil *Pool runs every kernel on the
// calling goroutine.
//
// A token of decoding is a few hundred calls of 10-100µs each, so waking a
// parked goroutine per call (a futex round trip, 5-50µs) would cost as much
// as the work. Helpers therefore spin on an atomic word for a while after
// each call, like OpenMP's workers do, and park only when the pool has been
// idle for spinFor.
type Pool struct {
	threads int
	// mu is held by the call that owns the helpers; it also guards task
	// and the matMul scratch.
	mu   sync.Mutex
	seq  uint64 // calls dispatched, under mu
	task task
	// The atomics sit on cache lines of their own: idle helpers poll word
	// while the working threads update next and done.
	_    [64]byte
	word atomic.Uint64 // seq<<1 | 1 while the call seq is open to helpers
	_    [56]byte
	// active counts helpers inside the open call; the owner waits for it to
	// drop to zero before the task can be reused.
	active atomic.Int32
	_      [60]byte
	next   atomic.Int64 // first unclaimed item
	_      [56]byte
	done   atomic.Int64 // chunks finished
	_      [56]byte

	// ownerSleeping says the owner stopped spinning for the last chunk
	// and waits for a token on ownerWake from whoever finishes it.
	ownerSleeping atomic.Bool
	ownerWake     chan struct{}

	sleeping []atomic.Bool   // helper i is parked (or about to be)
	wake     []chan struct{} // one token per park
	workers  sync.WaitGroup
	close    sync.Once
	closed   atomic.Bool

	mm matMulJob // scratch of the owning MatMul call
	at attnJob   // scratch of the owning Attend call
}

// Runner is work split into items [0, total): Run does items [lo, hi).
// Different ranges must be independent.
type Runner interface {
	Run(lo, hi int)
}

// runFunc adapts a function to Runner.
type runFunc func(lo, hi int)

func (f runFunc) Run(lo, hi int) { f(lo, hi) }

// task is one call cut into chunks that threads claim with an atomic
// counter. The owner waits for chunks, not for helpers: a helper that is
// slow to come finds nothing left, so it never delays the call; a
// preempted helper delays it by one chunk.
type task struct {
	r            Runner
	total, chunk int
	chunks       int64
}

// spinFor is how long an idle helper polls for the next call before
// parking: longer than the gaps between the calls of one token (attention,
// sampling), short enough not to burn a core for long after a request.
const spinFor = 200 * time.Microsecond

// NewPool starts a pool of n-way parallelism (n < 1 is taken as 1).
func NewPool(n int) *Pool {
	n = max(n, 1)
	p := &Pool{threads: n, sleeping: make([]atomic.Bool, n-1), wake: make([]chan struct{}, n-1),
		ownerWake: make(chan struct{}, 1)}
	for i := range n - 1 {
		p.wake[i] = make(chan struct{}, 1)
		p.workers.Add(1)
		go p.work(i)
	}
	return p
}

// Threads is the pool's parallelism (1 for a nil Pool).
func (p *Pool) Threads() int {
	if p == nil {
		return 1
	}
	return p.threads
}

// Close stops the worker goroutines and waits for them to exit. It is safe to
// call more than once.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.close.Do(func() {
		p.closed.Store(true)
		p.wakeAll()
		p.workers.Wait()
	})
}

func (p *Pool) wakeAll() {
	for i := range p.sleeping {
		if p.sleeping[i].CompareAndSwap(true, false) {
			p.wake[i] <- struct{}{}
		}
	}
}

// work is helper i: join every call it sees open, spin between calls,
// park after spinFor of idleness.
func (p *Pool) work(i int) {
	defer p.workers.Done()
	var last uint64 // the last call seen, so a closed call is not rejoined
	idleSince := time.Now()
	for spins := 0; ; spins++ {
		w := p.word.Load()
		if w&1 == 1 && w>>1 != last {
			last = w >> 1
			p.active.Add(1)
			// The owner closes the call before waiting for active to be
			// zero, so if the call is still open here, the owner waits
			// for us and the task stays put.
			if p.word.Load() == w {
				p.task.runChunks(p)
			}
			p.active.Add(-1)
			spins, idleSince = 0, time.Now()
			continue
		}
		if p.closed.Load() {
			return
		}
		cpuRelax()
		// Yield now and then (other goroutines may need this P), but
		// rarely: Gosched takes the scheduler's lock.
		if spins&4095 != 4095 {
			continue
		}
		runtime.Gosched()
		if time.Since(idleSince) < spinFor {
			continue
		}
		p.sleeping[i].Store(true)
		// Re-check after announcing the park: a call opened before the
		// store was not seen by its owner's wake.
		if w := p.word.Load(); (w&1 == 1 && w>>1 != last) || p.closed.Load() {
			if !p.sleeping[i].CompareAndSwap(true, false) {
				<-p.wake[i] // a waker won the race and sent a token
			}
		} else {
			<-p.wake[i]
		}
		spins, idleSince = 0, time.Now()
	}
}

func (t *task) runChunks(p *Pool) {
	for {
		lo := int(p.next.Add(int64(t.chunk))) - t.chunk
		if lo >= t.total {
			return
		}
		t.r.Run(lo, min(lo+t.chunk, t.total))
		if p.done.Add(1) == t.chunks && p.ownerSleeping.CompareAndSwap(true, false) {
			p.ownerWake <- struct{}{}
		}
	}
}

// Run calls r.Run over [0, total) in chunks of chunk items (at least 1),
// on the pool's helpers and the calling goroutine, and returns when all
// are done.
func (p *Pool) Run(total, chunk int, r Runner) {
	chunk = max(chunk, 1)
	chunks := (total + chunk - 1) / chunk
	if total <= 0 {
		return
	}
	if p == nil || p.threads == 1 || chunks <= 1 || p.closed.Load() || !p.mu.TryLock() {
		r.Run(0, total)
		return
	}
	p.runLocked(total, chunk, r)
	p.mu.Unlock()
}

// runLocked is Run for the owner of p.mu.
func (p *Pool) runLocked(total, chunk int, r Runner) {
	chunks := (total + chunk - 1) / chunk
	if chunks <= 1 || p.closed.Load() {
		r.Run(0, total)
		return
	}
	p.task = task{r: r, total: total, chunk: chunk, chunks: int64(chunks)}
	p.next.Store(0)
	p.done.Store(0)
	p.seq++
	w := p.seq<<1 | 1
	p.word.Store(w)
	p.wakeAll()
	p.task.runChunks(p)
	p.waitChunks()
	p.word.Store(w &^ 1)
	for spins := 1; p.active.Load() != 0; spins++ {
		cpuRelax()
		if spins&1023 == 0 {
			runtime.Gosched()
		}
	}
	p.task.r = nil
}

// ownerSpins is how many polls the owner makes for the helpers' last
// chunks before blocking (~20-50µs): when the machine is oversubscribed
// a helper may be descheduled mid-chunk, and an owner spinning then would
// take the core it needs.
const ownerSpins = 1 << 10

// waitChunks returns when every chunk of the open call is done.
func (p *Pool) waitChunks() {
	for spins := 0; p.done.Load() < p.task.chunks; spins++ {
		if spins < ownerSpins {
			cpuRelax()
			continue
		}
		p.ownerSleeping.Store(true)
		if p.done.Load() == p.task.chunks {
			if !p.ownerSleeping.CompareAndSwap(true, false) {
				<-p.ownerWake // the finisher won the race and sent a token
			}
			return
		}
		<-p.ownerWake
		return
	}
}

// parallel is Run for a function.
func (p *Pool) parallel(total, chunk int, fn func(lo, hi int)) {
	p.Run(total, chunk, runFunc(fn))
}
