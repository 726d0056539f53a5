// Software prefetch for the weight-streaming kernels. The hardware
// prefetchers alone leave a mat-vec waiting on memory on some hosts (seen
// on a 2-core Xeon VM with a large shared L3: 7.7 GB/s streaming a Q8_0
// matrix, 20 GB/s with these hints), so each kernel asks for the weights
// PF_AHEAD bytes past those it reads: one hint per 64-byte line it
// consumes. Rows of a product are contiguous, so running past a row's end
// warms the next rows; a hint past the matrix end never faults.
#define PF_AHEAD 4096
#define PF1(r) PREFETCHT0 PF_AHEAD(r)
#define PF2(r) PF1(r) \
	PREFETCHT0 (PF_AHEAD+64)(r)
#define PF3(r) PF2(r) \
	PREFETCHT0 (PF_AHEAD+128)(r)
#define PF4(r) PF3(r) \
	PREFETCHT0 (PF_AHEAD+192)(r)

// The Q8_0 row kernel runs nearer: on a 2-core Xeon VM with AMX (2026-12),
// SmolLM2-135M Q8_0 decoded at 90-94 tok/s on one thread with hints 4 KiB
// ahead and 103-106 at 3 KiB (2 KiB: as fast on one thread, 5-10% slower
// on two); other kernels showed no such difference.
#define PF_AHEAD_Q8 3072
#define PF4Q8(r) PREFETCHT0 PF_AHEAD_Q8(r) \
	PREFETCHT0 (PF_AHEAD_Q8+64)(r) \
	PREFETCHT0 (PF_AHEAD_Q8+128)(r) \
	PREFETCHT0 (PF_AHEAD_Q8+192)(r)
