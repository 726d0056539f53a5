package modelhub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is Hugging Face; PARLEY_HF_ENDPOINT overrides it (mirrors,
// tests).
const DefaultBaseURL = "https://huggingface.co"

// ErrOffline marks a download that could not reach its server at all.
var ErrOffline = errors.New("server unreachable")

// Puller downloads model files.
type Puller struct {
	Dir     string
	BaseURL string
	Client  *http.Client
	// Progress, if set, is called when the transfer starts and as bytes
	// arrive.
	Progress func(Progress)
}

// Pull downloads ref into p.Dir and returns the file's path. The digest is
// checked against ref.SHA256 or what the server announces; a mismatch
// deletes the download. A failed pull leaves a .partial file only when the
// next pull can resume from it (the server takes byte ranges and some
// bytes arrived); its error then says so.
func (p *Puller) Pull(ctx context.Context, ref Ref) (string, error) {
	dst := filepath.Join(p.Dir, ref.LocalName())
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return "", fmt.Errorf("create models dir: %w", err)
	}
	partial := dst + ".partial"
	h := sha256.New()
	have, err := hashFile(h, partial) // what an earlier attempt fetched
	if err != nil {
		return "", err
	}
	kept := func() string {
		if have == 0 {
			return ""
		}
		return fmt.Sprintf("; the %s fetched so far are kept in %s and the next pull resumes there", HumanBytes(have), partial)
	}

	src := ref.URL(p.baseURL())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return "", err
	}
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := p.client().Do(req)
	if err != nil {
		return "", fmt.Errorf("%w%s", requestError(src, err), kept())
	}
	defer resp.Body.Close()
	total := int64(-1)
	restart := false
	switch resp.StatusCode {
	case http.StatusOK:
		restart = have > 0 // the server ignored Range: start over
		total = resp.ContentLength
	case http.StatusPartialContent:
		if resp.ContentLength >= 0 {
			total = have + resp.ContentLength
		}
	case http.StatusRequestedRangeNotSatisfiable: // already complete
		total = have
	case http.StatusNotFound:
		os.Remove(partial) // the file is gone: nothing to resume
		return "", fmt.Errorf("%s: not found (check the repository and file name)", src)
	case http.StatusUnauthorized, http.StatusForbidden:
		return "", fmt.Errorf("%s: HTTP %d (the repository may be gated; accept its licence on Hugging Face)%s", src, resp.StatusCode, kept())
	default:
		return "", fmt.Errorf("%s: HTTP %d%s", src, resp.StatusCode, kept())
	}
	resumable := resp.StatusCode == http.StatusPartialContent ||
		strings.Contains(resp.Header.Get("Accept-Ranges"), "bytes")
	want := ref.SHA256
	if want == "" {
		want = announcedSHA256(resp.Header)
	}
	f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", partial, err)
	}
	defer f.Close()
	if restart {
		have = 0
		h.Reset()
		if err := f.Truncate(0); err != nil {
			return "", err
		}
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		done, err := transfer(io.MultiWriter(f, h), resp.Body, have, total, p.Progress)
		if err == nil && total >= 0 && done != total {
			err = fmt.Errorf("the server sent %d of %d bytes", done, total)
		}
		if err != nil {
			f.Close()
			if resumable && done > 0 {
				return "", fmt.Errorf("download of %s interrupted at %s: %w; the part is kept in %s and the next pull resumes there",
					ref.File, HumanBytes(done), err, partial)
			}
			os.Remove(partial)
			return "", fmt.Errorf("download of %s failed: %w (the server cannot resume downloads, so nothing was kept)", ref.File, err)
		}
	}
	got := hex.EncodeToString(h.Sum(nil))
	if want != "" && !strings.EqualFold(got, want) {
		f.Close()
		os.Remove(partial)
		return "", fmt.Errorf("sha256 mismatch for %s: got %s, want %s (the download was deleted)", ref.File, got, want)
	}
	return dst, finish(f, partial, dst, got)
}

// hashFile feeds the file at path to h and returns its size; a missing
// file is empty.
func hashFile(h hash.Hash, path string) (int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return n, nil
}

// transfer copies src to dst, reporting progress from done (bytes already
// there) towards total, and returns the bytes there at the end.
func transfer(dst io.Writer, src io.Reader, done, total int64, progress func(Progress)) (int64, error) {
	start, resumed := time.Now(), done
	report := func() {
		if progress != nil {
			progress(Progress{Done: done, Total: total, Resumed: resumed, Elapsed: time.Since(start)})
		}
	}
	report()
	buf := make([]byte, 1<<20)
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				return done, fmt.Errorf("write: %w", err)
			}
			done += int64(n)
			report()
		}
		if rerr == io.EOF {
			return done, nil
		}
		if rerr != nil {
			return done, rerr
		}
	}
}

// finish makes the complete partial file the model file dst and records
// its digest beside it.
func finish(f *os.File, partial, dst, sum string) error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", partial, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", partial, err)
	}
	if err := os.Rename(partial, dst); err != nil {
		return fmt.Errorf("finish %s: %w", dst, err)
	}
	if err := os.WriteFile(dst+".sha256", []byte(sum+"\n"), 0o644); err != nil {
		return fmt.Errorf("record the digest of %s: %w", dst, err)
	}
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

// requestError tells "no network" (ErrOffline) from other failures.
func requestError(rawURL string, err error) error {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	if errors.As(err, &dnsErr) || errors.As(err, &opErr) {
		host := rawURL
		if u, perr := url.Parse(rawURL); perr == nil {
			host = u.Host
		}
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL is said once, as its host
		}
		return &offlineError{host: host, err: err}
	}
	return fmt.Errorf("download %s: %w", rawURL, err)
}

type offlineError struct {
	host string
	err  error
}

func (e *offlineError) Error() string {
	return fmt.Sprintf("cannot reach %s (offline?): %v", e.host, e.err)
}

func (e *offlineError) Unwrap() []error { return []error{ErrOffline, e.err} }

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
