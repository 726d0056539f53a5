package modelhub

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// feed sends a 100 MiB transfer at 10 MiB/s, one update a second.
func feed(update func(Progress)) {
	const total = 100 << 20
	for s := 0; s <= 10; s++ {
		update(Progress{Done: int64(s) * total / 10, Total: total, Elapsed: time.Duration(s) * time.Second})
	}
}

// Off a terminal the progress is a plain line every few seconds; on one,
// a bar redrawn in place. Both show the speed and the time left.
func TestPrinter(t *testing.T) {
	var plain bytes.Buffer
	feed(NewPrinter(&plain, "pulling m.gguf", false).Update)
	want := []string{
		"pulling m.gguf: 0 B of 100.0 MiB (0%)",
		"pulling m.gguf: 50.0 MiB of 100.0 MiB (50%), 10.0 MiB/s, 5s left",
		"pulling m.gguf: 100.0 MiB in 10s, 10.0 MiB/s",
	}
	if got := strings.Split(strings.TrimSuffix(plain.String(), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("plain progress:\n%s\nwant:\n%s", plain.String(), strings.Join(want, "\n"))
	}

	var term bytes.Buffer
	feed(NewPrinter(&term, "pulling m.gguf", true).Update)
	out := term.String()
	if strings.Count(out, "\r") != 11 || strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") ||
		!strings.Contains(out, "\rpulling m.gguf [============            ] 50.0 MiB of 100.0 MiB (50%), 10.0 MiB/s, 5s left\x1b[K") {
		t.Errorf("terminal progress: %q", out)
	}

	var resumed bytes.Buffer
	pr := NewPrinter(&resumed, "pulling m.gguf", true)
	pr.Update(Progress{Done: 40 << 20, Resumed: 40 << 20, Total: 100 << 20})
	pr.Update(Progress{Done: 60 << 20, Resumed: 40 << 20, Total: 100 << 20, Elapsed: time.Second})
	pr.End()
	if out := resumed.String(); !strings.HasPrefix(out, "pulling m.gguf: resuming the earlier download at 40.0 MiB\n") ||
		!strings.Contains(out, "20.0 MiB/s, 2s left") || !strings.HasSuffix(out, "\n") {
		t.Errorf("resumed progress: %q", out)
	}
}

func TestLogProgress(t *testing.T) {
	var buf bytes.Buffer
	feed(LogProgress(slog.New(slog.NewTextHandler(&buf, nil)), "m.gguf"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "percent=50 speed=\"10.0 MiB/s\" eta=5s") {
		t.Errorf("log progress:\n%s", buf.String())
	}
}
