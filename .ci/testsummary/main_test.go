package main

import (
	"os"
	"strings"
	"testing"
)

// testdata/sample.json is real `go test -json ./...` output of a small
// module: package a passes with a skipped test and a skipped subtest,
// package b fails in a subtest, package c has no tests.
func TestSummary(t *testing.T) {
	f, err := os.Open("testdata/sample.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out strings.Builder
	s := newSummary(&out)
	if err := s.read(f); err != nil {
		t.Fatal(err)
	}
	if s.report() {
		t.Error("report() = true for a run with a failed test")
	}
	got := out.String()
	for _, want := range []string{
		"ok  \texample.com/ts/a\t",
		"?   \texample.com/ts/c\t[no test files]",
		"b_test.go:6: want 1, got 2",
		"FAIL\texample.com/ts/b\t",
		"packages 1 ok, 1 failed, 1 without tests",
		"4 passed, 2 failed, 2 skipped",
		"example.com/ts/a TestSkip: no widget here: second line\n",
		"example.com/ts/a TestParent/skipped: sub reason\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "fine") {
		t.Errorf("summary shows the output of a passing test:\n%s", got)
	}
}

func TestNoResultsIsAFailure(t *testing.T) {
	var out strings.Builder
	s := newSummary(&out)
	if err := s.read(strings.NewReader("go: cannot find main module\n")); err != nil {
		t.Fatal(err)
	}
	if s.report() {
		t.Errorf("report() = true for input without results:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "go: cannot find main module") {
		t.Errorf("lines that are not JSON are not passed through:\n%s", out.String())
	}
}

// A passing test's log line starting with "== " is a report: it is shown.
func TestReportsOfPassingTests(t *testing.T) {
	in := `{"Action":"run","Package":"p","Test":"TestM"}
{"Action":"output","Package":"p","Test":"TestM","Output":"    m_test.go:9: == matrix: kill 3/3\n"}
{"Action":"output","Package":"p","Test":"TestM","Output":"    m_test.go:10: detail\n"}
{"Action":"pass","Package":"p","Test":"TestM"}
{"Action":"pass","Package":"p"}
`
	var out strings.Builder
	s := newSummary(&out)
	if err := s.read(strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if !s.report() {
		t.Fatalf("report() = false:\n%s", out.String())
	}
	if got := out.String(); !strings.Contains(got, "\n== matrix: kill 3/3\n") || strings.Contains(got, "detail") {
		t.Errorf("summary:\n%s", got)
	}
}
