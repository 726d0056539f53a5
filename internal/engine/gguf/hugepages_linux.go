package gguf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// readHuge reads size bytes of fh into private anonymous memory advised
// for transparent huge pages, read-only once filled. A decode step streams
// every weight once; over a file mapping's 4 KiB pages the CPU's prefetchers
// stop at each page and the TLB misses every 4 KiB, and the same loop ran
// 12-35% slower (docs/BENCHMARKS.md). It fails with errNoHugePages, for
// OpenIn to map the file, when the kernel has no transparent huge pages or
// has them turned off, or when the copy would take more than half the
// memory free: anonymous memory cannot be given back under pressure (no
// swap, usually), where a mapping's pages can be dropped and read again,
// so a model that nearly fills memory, or more, runs from the mapping.
func readHuge(fh *os.File, size int64) ([]byte, func() error, error) {
	huge, err := hugePageSize()
	if err != nil {
		return nil, nil, err
	}
	if free, ok := freeMemory(); ok && size > free/2 {
		return nil, nil, fmt.Errorf("%w: a copy of %d MiB would take over half of the %d MiB free", errNoHugePages, size>>20, max(free, 0)>>20)
	}
	n := (size + huge - 1) / huge * huge
	if n+huge != int64(int(n+huge)) {
		return nil, nil, fmt.Errorf("%w: cannot hold %d bytes", errNoHugePages, size)
	}
	// One huge page more than needed, to start the buffer on a boundary.
	raw, err := unix.Mmap(-1, 0, int(n+huge), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: mmap %d bytes: %v", errNoHugePages, n+huge, err)
	}
	release := func() error { return unix.Munmap(raw) }
	fail := func(err error) ([]byte, func() error, error) {
		_ = release()
		return nil, nil, err
	}
	skip := (huge - int64(uintptr(unsafe.Pointer(&raw[0])))%huge) % huge
	buf := raw[skip : skip+n]
	if err := unix.Madvise(buf, unix.MADV_HUGEPAGE); err != nil {
		return fail(fmt.Errorf("%w: madvise: %v", errNoHugePages, err))
	}
	if _, err := io.ReadFull(io.NewSectionReader(fh, 0, size), buf[:size]); err != nil {
		return fail(fmt.Errorf("read: %w", err))
	}
	// Weights are never written: a stray write faults, as with the mapping.
	if err := unix.Mprotect(buf, unix.PROT_READ); err != nil {
		return fail(fmt.Errorf("%w: mprotect: %v", errNoHugePages, err))
	}
	return buf[:size:size], release, nil
}

var errNoHugePages = errors.New("transparent huge pages are not available")

// freeMemory is what this process may still take: the system's
// MemAvailable, or less under its cgroup's (v2) memory limit, as in a
// container or a systemd unit with MemoryMax. ok is false when neither can
// be read.
func freeMemory() (free int64, ok bool) {
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range bytes.Lines(b) {
			if rest, found := bytes.CutPrefix(line, []byte("MemAvailable:")); found {
				if f := bytes.Fields(rest); len(f) == 2 {
					if kb, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
						free, ok = kb<<10, true
					}
				}
				break
			}
		}
	}
	dir := "/sys/fs/cgroup"
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		for line := range bytes.Lines(b) {
			if path, found := bytes.CutPrefix(bytes.TrimSpace(line), []byte("0::")); found {
				dir += string(path) // the unified hierarchy's line
			}
		}
	}
	limit, err1 := readInt(dir + "/memory.max") // "max" when unlimited
	used, err2 := readInt(dir + "/memory.current")
	if err1 == nil && err2 == nil && (!ok || limit-used < free) {
		free, ok = limit-used, true
	}
	return free, ok
}

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
}

// hugePageSize is the PMD size the kernel backs transparent huge pages
// with (2 MiB on x86-64), or an error when they are off.
func hugePageSize() (int64, error) {
	const dir = "/sys/kernel/mm/transparent_hugepage/"
	mode, err := os.ReadFile(dir + "enabled")
	if err != nil || bytes.Contains(mode, []byte("[never]")) {
		return 0, errNoHugePages
	}
	b, err := os.ReadFile(dir + "hpage_pmd_size")
	if err != nil {
		return 0, errNoHugePages
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil || n <= 0 || n&(n-1) != 0 {
		return 0, errNoHugePages
	}
	return n, nil
}
