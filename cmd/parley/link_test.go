package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The binary must not link text/template (nor html/template over it): its
// reflective method calls make the linker keep every exported method of
// every type, a quarter of the binary, part of it resident in every service
// (see web.renderShell).
func TestBinaryLeavesOutTextTemplate(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	if deps := strings.Fields(string(out)); slices.Contains(deps, "text/template") {
		t.Errorf("parley links text/template; find the importer with: go list -deps -f '{{.ImportPath}}: {{.Imports}}' ./cmd/parley | grep text/template")
	}
}
