package modelhub

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Import copies the model file at src into dir under its own name (with
// .gguf added if it lacks it) and returns the new path. It is how a model
// fetched elsewhere gets onto a machine without internet. The caller has
// checked that src is a model; Import only moves bytes. A failed import
// leaves nothing behind; a file of the same name with other contents is
// never overwritten.
func Import(src, dir string, progress func(Progress)) (string, error) {
	name := filepath.Base(src)
	if !strings.EqualFold(filepath.Ext(name), ".gguf") {
		name += ".gguf"
	}
	dst := filepath.Join(dir, name)
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	srcInfo, err := in.Stat()
	if err != nil {
		return "", err
	}
	if dstInfo, err := os.Stat(dst); err == nil {
		if os.SameFile(srcInfo, dstInfo) {
			return dst, nil
		}
		same, err := sameContents(src, dst)
		if err != nil {
			return "", err
		}
		if !same {
			return "", fmt.Errorf("%s already holds a different %s; rename the file to import it under another name", dir, name)
		}
		return dst, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create models dir: %w", err)
	}
	partial := dst + ".partial"
	out, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", fmt.Errorf("import into %s: %w", dir, err)
	}
	h := sha256.New()
	if _, err := transfer(io.MultiWriter(out, h), in, 0, srcInfo.Size(), progress); err != nil {
		out.Close()
		os.Remove(partial)
		return "", fmt.Errorf("copy %s into %s: %w", src, dir, err)
	}
	if err := finish(out, partial, dst, hex.EncodeToString(h.Sum(nil))); err != nil {
		os.Remove(partial)
		return "", err
	}
	return dst, nil
}

func sameContents(a, b string) (bool, error) {
	var sums [2]string
	for i, p := range []string{a, b} {
		h := sha256.New()
		if _, err := hashFile(h, p); err != nil {
			return false, err
		}
		sums[i] = hex.EncodeToString(h.Sum(nil))
	}
	return sums[0] == sums[1], nil
}
