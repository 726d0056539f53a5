package tensor

import (
	"sync"
	"sync/atomic"
)

// Pool is a fixed set of worker goroutines that split kernels by rows.
// The goroutine calling a kernel works too, so NewPool(n) runs n-way
// parallel with n-1 helper goroutines. A Pool may be used by several
// goroutines at once; Close stops the helpers, after which calls run on the
// calling goroutine alone (Close must not race with calls in flight). A nil
// *Pool runs every kernel on the calling goroutine.
type Pool struct {
	threads int
	jobs    chan *job
	workers sync.WaitGroup
	close   sync.Once
	closed  atomic.Bool
	scratch sync.Pool // *q8Act buffers reused across calls
}

// job is one kernel call cut into chunks that workers claim with an atomic
// counter. The caller waits for chunks, not for workers: a helper that is
// slow to wake (the machine is busy) finds nothing left and drops the job,
// so it never delays the call; a preempted helper delays it by one chunk.
type job struct {
	fn      func(lo, hi int)
	total   int
	chunk   int
	next    atomic.Int64
	pending sync.WaitGroup // one count per chunk
}

// NewPool starts a pool of n-way parallelism (n < 1 is taken as 1).
func NewPool(n int) *Pool {
	n = max(n, 1)
	p := &Pool{threads: n, jobs: make(chan *job, n)}
	for i := 1; i < n; i++ {
		p.workers.Add(1)
		go p.work()
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
		close(p.jobs)
		p.workers.Wait()
	})
}

func (p *Pool) work() {
	defer p.workers.Done()
	for j := range p.jobs {
		j.run()
	}
}

func (j *job) run() {
	for {
		lo := int(j.next.Add(int64(j.chunk))) - j.chunk
		if lo >= j.total {
			return
		}
		j.fn(lo, min(lo+j.chunk, j.total))
		j.pending.Done()
	}
}

// parallel calls fn over [0,total) in chunks of `chunk` items, using the
// pool's helpers and the calling goroutine; it returns when all are done.
func (p *Pool) parallel(total, chunk int, fn func(lo, hi int)) {
	chunks := (total + chunk - 1) / chunk
	if p == nil || p.threads == 1 || chunks <= 1 || p.closed.Load() {
		fn(0, total)
		return
	}
	j := &job{fn: fn, total: total, chunk: chunk}
	j.pending.Add(chunks)
	helpers := min(p.threads-1, chunks-1)
offer:
	for range helpers {
		select {
		case p.jobs <- j:
		default: // helpers are backlogged with other calls' jobs
			break offer
		}
	}
	j.run()
	j.pending.Wait()
}

// rowChunk picks a chunk of rows for rows of rowWork bytes of weights each
// (times the vectors they meet): about eight chunks per thread so the atomic
// counter balances uneven progress, at least minChunkWork bytes so waking a
// helper pays off (tiny models run single-threaded), rounded to 16 rows so
// chunks never share a cache line of dst.
func (p *Pool) rowChunk(rows, rowWork int) int {
	c := rows / (8 * p.Threads())
	c = max(c, minChunkWork/max(rowWork, 1))
	c = (c + 15) &^ 15
	return max(c, 16)
}

// minChunkWork is the least work worth handing to a helper: ~1µs of
// streaming at in-cache speeds, comparable to waking a parked goroutine.
const minChunkWork = 16 << 10

func (p *Pool) getAct(n int) *q8Act {
	if p != nil {
		if a, ok := p.scratch.Get().(*q8Act); ok && cap(a.qs) >= n {
			a.qs = a.qs[:n]
			a.d = a.d[:n/32]
			a.sum = a.sum[:n/32]
			a.s = a.s[:n/32]
			a.sum16 = a.sum16[:n/16]
			return a
		}
	}
	a := newQ8Act(n)
	return &a
}

func (p *Pool) putAct(a *q8Act) {
	if p != nil {
		p.scratch.Put(a)
	}
}
