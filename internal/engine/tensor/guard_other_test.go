//go:build !linux

package tensor

import "testing"

// guarded has no guard page off Linux; the tests still run on plain memory.
func guarded(t *testing.T, n int) []byte { return make([]byte, n) }

func threadCPU() int64 { return 0 }
