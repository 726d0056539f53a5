package tensor

import (
	"testing"

	"golang.org/x/sys/unix"
)

// guarded returns an n-byte slice that ends exactly where an inaccessible
// page begins, so a kernel reading one byte too far faults.
func guarded(t *testing.T, n int) []byte {
	t.Helper()
	ps := unix.Getpagesize()
	size := (n + ps - 1) / ps * ps
	mem, err := unix.Mmap(-1, 0, size+ps, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	t.Cleanup(func() { _ = unix.Munmap(mem) })
	if err := unix.Mprotect(mem[size:], unix.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	return mem[size-n : size : size]
}

// threadCPU is the calling OS thread's CPU time in nanoseconds. On this
// shared machine wall-clock benchmarks swing with other load; with the
// goroutine locked to its thread, CPU time per op measures the kernel.
func threadCPU() int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
