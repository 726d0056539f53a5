//go:build !unix

package gguf

import (
	"errors"
	"os"
)

// mapFile is unavailable here; Open falls back to reading the file.
func mapFile(*os.File, int64) ([]byte, func() error, error) {
	return nil, nil, errors.New("mmap not supported on this platform")
}
