package modelhub

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Progress is how far a download or an import has come.
type Progress struct {
	Done  int64 // bytes of the file so far
	Total int64 // -1 when unknown
	// Resumed is what an earlier attempt had fetched: it counts in Done
	// but not in the speed.
	Resumed int64
	// Elapsed is the time since this attempt started.
	Elapsed time.Duration
}

// Rate is this attempt's average speed in bytes per second (0 before
// anything arrived).
func (p Progress) Rate() float64 {
	if p.Elapsed <= 0 || p.Done <= p.Resumed {
		return 0
	}
	return float64(p.Done-p.Resumed) / p.Elapsed.Seconds()
}

// ETA is the time left at the average speed; false while unknown.
func (p Progress) ETA() (time.Duration, bool) {
	r := p.Rate()
	if p.Total < 0 || r <= 0 {
		return 0, false
	}
	return time.Duration(float64(p.Total-p.Done) / r * float64(time.Second)), true
}

// Finished reports whether all of a known size has arrived.
func (p Progress) Finished() bool { return p.Total >= 0 && p.Done >= p.Total }

// String is the progress for people: "167.3 MiB of 398.0 MiB (42%),
// 12.3 MiB/s, 19s left", and at the end "398.0 MiB in 32s, 12.4 MiB/s".
func (p Progress) String() string {
	var b strings.Builder
	b.WriteString(HumanBytes(p.Done))
	switch {
	case p.Finished():
		fmt.Fprintf(&b, " in %v", p.Elapsed.Round(100*time.Millisecond))
	case p.Total > 0:
		fmt.Fprintf(&b, " of %s (%d%%)", HumanBytes(p.Total), p.Done*100/p.Total)
	}
	if r := p.Rate(); r > 0 {
		fmt.Fprintf(&b, ", %s/s", HumanBytes(int64(r)))
	}
	if eta, ok := p.ETA(); ok && !p.Finished() {
		fmt.Fprintf(&b, ", %v left", eta.Round(time.Second))
	}
	return b.String()
}

// Intervals between progress reports: a terminal line is redrawn in place
// often; a line in a log file or a pipe is written every few seconds so
// that the output stays readable.
const (
	TerminalInterval = 100 * time.Millisecond
	PlainInterval    = 5 * time.Second
)

// throttle decides which progress updates are shown: the first, the last,
// and one per interval in between. It measures time by Progress.Elapsed,
// so it needs no clock of its own.
type throttle struct {
	every   time.Duration
	last    time.Duration
	started bool
}

func (t *throttle) due(p Progress) bool {
	if t.started && !p.Finished() && p.Elapsed-t.last < t.every {
		return false
	}
	t.started, t.last = true, p.Elapsed
	return true
}

// Printer shows a transfer's progress on a writer: on a terminal as one
// line with a bar, redrawn in place; elsewhere as a plain line every few
// seconds.
type Printer struct {
	w        io.Writer
	label    string
	terminal bool
	throttle throttle
	open     bool // a terminal line awaits its newline
	resumed  bool // the resume has been announced
}

// NewPrinter returns a Printer labelling its lines with label ("pulling
// x.gguf"); terminal says whether w is one.
func NewPrinter(w io.Writer, label string, terminal bool) *Printer {
	every := PlainInterval
	if terminal {
		every = TerminalInterval
	}
	return &Printer{w: w, label: label, terminal: terminal, throttle: throttle{every: every}}
}

// Update is a Puller's or Import's progress callback.
func (p *Printer) Update(pr Progress) {
	if pr.Resumed > 0 && !p.resumed {
		p.resumed = true
		p.End()
		fmt.Fprintf(p.w, "%s: resuming the earlier download at %s\n", p.label, HumanBytes(pr.Resumed))
	}
	if !p.throttle.due(pr) {
		return
	}
	if !p.terminal {
		fmt.Fprintf(p.w, "%s: %s\n", p.label, pr)
		return
	}
	const width = 24
	bar := ""
	if pr.Total > 0 {
		n := int(min(pr.Done, pr.Total) * width / pr.Total)
		bar = "[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "] "
	}
	// \x1b[K clears what a longer earlier line left on the right.
	fmt.Fprintf(p.w, "\r%s %s%s\x1b[K", p.label, bar, pr)
	p.open = true
	if pr.Finished() {
		p.End()
	}
}

// End ends a terminal line a failed transfer left open, so that what is
// printed next starts on a line of its own.
func (p *Printer) End() {
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
}

// LogProgress reports a transfer in log, every few seconds, with its speed
// and the time left: a model service pulling its model on first start.
func LogProgress(log *slog.Logger, file string) func(Progress) {
	t := throttle{every: PlainInterval}
	return func(p Progress) {
		if p.Resumed > 0 && !t.started {
			log.Info("resuming the earlier download", "file", file, "bytes", p.Resumed)
		}
		if !t.due(p) {
			return
		}
		attrs := []any{"file", file, "bytes", p.Done, "total", p.Total}
		if p.Total > 0 {
			attrs = append(attrs, "percent", p.Done*100/p.Total)
		}
		if r := p.Rate(); r > 0 {
			attrs = append(attrs, "speed", HumanBytes(int64(r))+"/s")
		}
		if eta, ok := p.ETA(); ok {
			attrs = append(attrs, "eta", eta.Round(time.Second).String())
		}
		log.Info("downloading", attrs...)
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
