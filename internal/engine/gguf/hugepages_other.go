//go:build !linux

package gguf

import (
	"errors"
	"os"
)

var errNoHugePages = errors.New("transparent huge pages are a Linux feature")

// readHuge is unavailable here; Open maps the file instead.
func readHuge(*os.File, int64) ([]byte, func() error, error) {
	return nil, nil, errNoHugePages
}

func hugePageSize() (int64, error) { return 0, errNoHugePages }
