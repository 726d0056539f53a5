//go:build !unix

package engine

import "time"

// cpuTime is unknown here; the cpu-ms/tok metric reads 0.
func cpuTime() time.Duration { return 0 }
