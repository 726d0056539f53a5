// Command testsummary is CI tooling, not part of Parley: it reads
// `go test -json` on stdin and prints what plain `go test` would — a line
// per package and the output of every failed test — then the count of
// tests that passed, failed and skipped, each skipped test with its reason,
// and the slowest packages. A test reports something worth seeing even when
// it passes (the fault matrix's table) by logging a line that starts with
// "== "; those lines are printed at the end too. .ci/run pipes the README's test command into
// it, so that a run that skips is visible as one. It exits 1 when a test or
// package failed or the input held no results.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output and build-fail events
	Test       string
	Output     string
	Elapsed    float64
}

type key struct{ pkg, test string }

type skip struct {
	pkg, test, reason string
}

type pkgTime struct {
	pkg     string
	elapsed float64
}

// summary accumulates the stream.
type summary struct {
	out                    io.Writer
	output                 map[key][]string // output of tests still running, and of packages
	passed, failed         int
	skipped                []skip
	pkgOK, pkgFail, pkgNon int
	times                  []pkgTime
	reports                []string // test log lines starting with "== "
	broken                 bool     // a build failed or a line was not JSON
}

func newSummary(out io.Writer) *summary {
	return &summary{out: out, output: map[key][]string{}}
}

func main() {
	s := newSummary(os.Stdout)
	if err := s.read(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(1)
	}
	if !s.report() {
		os.Exit(1)
	}
}

func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// Not from test2json: the go command itself speaking.
			fmt.Fprintln(s.out, string(line))
			continue
		}
		s.add(e)
	}
	return sc.Err()
}

func (s *summary) add(e event) {
	k := key{e.Package, e.Test}
	switch e.Action {
	case "build-output":
		fmt.Fprint(s.out, e.Output)
	case "build-fail":
		s.broken = true
	case "output":
		s.output[k] = append(s.output[k], e.Output)
		if loc := logLine.FindStringIndex(e.Output); loc != nil && strings.HasPrefix(e.Output[loc[1]:], "== ") {
			s.reports = append(s.reports, strings.TrimSpace(e.Output[loc[1]:]))
		}
	case "pass", "fail", "skip":
		if e.Test == "" {
			s.packageDone(e)
			return
		}
		switch e.Action {
		case "pass":
			s.passed++
		case "fail":
			s.failed++
			fmt.Fprint(s.out, strings.Join(s.output[k], ""))
		case "skip":
			s.skipped = append(s.skipped, skip{e.Package, e.Test, skipReason(s.output[k])})
		}
		delete(s.output, k)
	}
}

func (s *summary) packageDone(e event) {
	k := key{e.Package, ""}
	lines := s.output[k]
	delete(s.output, k)
	switch e.Action {
	case "pass":
		s.pkgOK++
		s.times = append(s.times, pkgTime{e.Package, e.Elapsed})
		fmt.Fprintf(s.out, "ok  \t%s\t%.3fs\n", e.Package, e.Elapsed)
	case "skip": // no test files
		s.pkgNon++
		fmt.Fprintf(s.out, "?   \t%s\t[no test files]\n", e.Package)
	case "fail":
		s.pkgFail++
		s.times = append(s.times, pkgTime{e.Package, e.Elapsed})
		// Tests that never ended (the package timed out or crashed) show
		// what they had printed.
		var open []key
		for k := range s.output {
			if k.pkg == e.Package {
				open = append(open, k)
			}
		}
		sort.Slice(open, func(i, j int) bool { return open[i].test < open[j].test })
		for _, k := range open {
			fmt.Fprint(s.out, strings.Join(s.output[k], ""))
			delete(s.output, k)
		}
		// What the package printed outside any test (a panic, TestMain,
		// a timeout) explains the failure; its own FAIL line closes it.
		fmt.Fprint(s.out, strings.Join(lines, ""))
		if n := len(lines); n == 0 || !strings.HasPrefix(lines[n-1], "FAIL") {
			fmt.Fprintf(s.out, "FAIL\t%s\t%.3fs\n", e.Package, e.Elapsed)
		}
	}
}

// logLine is the start of a t.Log/t.Skip line in a test's output.
var logLine = regexp.MustCompile(`^\s+\S+\.go:\d+: `)

// skipReason is the last message a skipped test logged — the one t.Skip
// printed, with its continuation lines — without the file:line prefix.
func skipReason(lines []string) string {
	var msg []string
	for _, l := range lines {
		if strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- ") {
			continue
		}
		if loc := logLine.FindStringIndex(l); loc != nil {
			msg = []string{l[loc[1]:]}
		} else if msg != nil {
			msg = append(msg, l)
		}
	}
	var parts []string
	for _, m := range msg {
		if m = strings.TrimSpace(m); m != "" {
			parts = append(parts, m)
		}
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " ")
}

// report prints the totals and says whether the run passed.
func (s *summary) report() bool {
	w := s.out
	fmt.Fprintln(w)
	fmt.Fprintf(w, "== test summary: packages %d ok, %d failed, %d without tests\n", s.pkgOK, s.pkgFail, s.pkgNon)
	fmt.Fprintf(w, "== tests (with subtests): %d passed, %d failed, %d skipped\n", s.passed, s.failed, len(s.skipped))
	if len(s.skipped) > 0 {
		fmt.Fprintf(w, "== skipped tests (%d):\n", len(s.skipped))
		for _, sk := range s.skipped {
			fmt.Fprintf(w, "   %s %s: %s\n", sk.pkg, sk.test, sk.reason)
		}
	}
	for _, r := range s.reports {
		fmt.Fprintln(w, r)
	}
	sort.Slice(s.times, func(i, j int) bool { return s.times[i].elapsed > s.times[j].elapsed })
	if n := min(5, len(s.times)); n > 0 {
		fmt.Fprintln(w, "== slowest packages:")
		for _, p := range s.times[:n] {
			fmt.Fprintf(w, "   %7.1fs  %s\n", p.elapsed, p.pkg)
		}
	}
	ok := !s.broken && s.failed == 0 && s.pkgFail == 0 && s.pkgOK+s.pkgNon > 0
	if s.pkgOK+s.pkgNon+s.pkgFail == 0 {
		fmt.Fprintln(w, "== no package results in the input: did the tests run?")
	}
	return ok
}
