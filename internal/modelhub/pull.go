package modelhub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is Hugging Face; PARLEY_HF_ENDPOINT overrides it (mirrors,
// tests).
const DefaultBaseURL = "https://huggingface.co"

// Puller downloads model files.
type Puller struct {
	Dir     string
	BaseURL string
	Client  *http.Client
	// Progress, if set, is called as bytes arrive (done of total; total
	// is -1 when unknown).
	Progress func(done, total int64)
}

// Pull downloads ref into p.Dir and returns the file's path. An
// interrupted download continues from its .partial file. The digest is
// checked against ref.SHA256 or what the server announces; a mismatch
// deletes the download.
func (p *Puller) Pull(ctx context.Context, ref Ref) (string, error) {
	dst := filepath.Join(p.Dir, ref.LocalName())
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return "", fmt.Errorf("create models dir: %w", err)
	}
	partial := dst + ".partial"
	f, err := os.OpenFile(partial, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", partial, err)
	}
	defer f.Close()
	h := sha256.New()
	have, err := io.Copy(h, f) // hash what an earlier attempt fetched
	if err != nil {
		return "", fmt.Errorf("read %s: %w", partial, err)
	}

	url := ref.URL(p.baseURL())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := p.client().Do(req)
	if err != nil {
		return "", offlineError(url, err)
	}
	defer resp.Body.Close()
	total := int64(-1)
	switch resp.StatusCode {
	case http.StatusOK:
		if have > 0 { // the server ignored Range: start over
			if err := restart(f, h); err != nil {
				return "", err
			}
			have = 0
		}
		total = resp.ContentLength
	case http.StatusPartialContent:
		if resp.ContentLength >= 0 {
			total = have + resp.ContentLength
		}
	case http.StatusRequestedRangeNotSatisfiable: // already complete
		total = have
	case http.StatusNotFound:
		return "", fmt.Errorf("%s: not found (check the repository and file name)", url)
	case http.StatusUnauthorized, http.StatusForbidden:
		return "", fmt.Errorf("%s: HTTP %d (the repository may be gated; accept its licence on Hugging Face)", url, resp.StatusCode)
	default:
		return "", fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	want := ref.SHA256
	if want == "" {
		want = announcedSHA256(resp.Header)
	}
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		w := io.MultiWriter(f, h)
		done := have
		buf := make([]byte, 1<<20)
		for {
			n, rerr := resp.Body.Read(buf)
			if n > 0 {
				if _, err := w.Write(buf[:n]); err != nil {
					return "", fmt.Errorf("write %s: %w", partial, err)
				}
				done += int64(n)
				if p.Progress != nil {
					p.Progress(done, total)
				}
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				return "", fmt.Errorf("download interrupted at %d bytes (run pull again to resume): %w", done, rerr)
			}
		}
		if total >= 0 && done != total {
			return "", fmt.Errorf("download incomplete: %d of %d bytes (run pull again to resume)", done, total)
		}
	}
	got := hex.EncodeToString(h.Sum(nil))
	if want != "" && !strings.EqualFold(got, want) {
		f.Close()
		os.Remove(partial)
		return "", fmt.Errorf("sha256 mismatch for %s: got %s, want %s (the download was deleted)", ref.File, got, want)
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := os.Rename(partial, dst); err != nil {
		return "", fmt.Errorf("finish download: %w", err)
	}
	if err := os.WriteFile(dst+".sha256", []byte(got+"\n"), 0o644); err != nil {
		return "", err
	}
	return dst, nil
}

func restart(f *os.File, h interface{ Reset() }) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	h.Reset()
	return nil
}

// announcedSHA256 reads the digest Hugging Face sends for LFS files.
func announcedSHA256(h http.Header) string {
	for _, k := range []string{"X-Linked-Etag", "X-Sha256"} {
		v := strings.Trim(h.Get(k), `"`)
		if len(v) == 64 {
			if _, err := hex.DecodeString(v); err == nil {
				return v
			}
		}
	}
	return ""
}

func offlineError(url string, err error) error {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	if errors.As(err, &dnsErr) || errors.As(err, &opErr) {
		return fmt.Errorf("cannot reach %s (offline?): %w; copy a .gguf file into the models directory or pass --model PATH instead", url, err)
	}
	return fmt.Errorf("download %s: %w", url, err)
}

func (p *Puller) baseURL() string {
	if p.BaseURL != "" {
		return p.BaseURL
	}
	return DefaultBaseURL
}

func (p *Puller) client() *http.Client {
	if p.Client != nil {
		return p.Client
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
	t.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: t}
}

// ProgressBar returns a Progress function drawing a one-line bar on w.
func ProgressBar(w io.Writer, label string) func(done, total int64) {
	var last time.Time
	return func(done, total int64) {
		now := time.Now()
		if now.Sub(last) < 100*time.Millisecond && done != total {
			return
		}
		last = now
		if total <= 0 {
			fmt.Fprintf(w, "\r%s %s", label, HumanBytes(done))
			return
		}
		const width = 30
		n := int(done * width / total)
		fmt.Fprintf(w, "\r%s [%s%s] %5.1f%% %s/%s", label, strings.Repeat("=", n), strings.Repeat(" ", width-n),
			float64(done)*100/float64(total), HumanBytes(done), HumanBytes(total))
		if done == total {
			fmt.Fprintln(w)
		}
	}
}

// HumanBytes formats a byte count for people: 1.5 MiB, 2.00 GiB.
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d B", n)
	}
}
