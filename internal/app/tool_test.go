package app

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/cmdline"
)

// TestToolDispatch: each engine command reaches its package (their own
// tests cover what they do).
func TestToolDispatch(t *testing.T) {
	dir := t.TempDir()
	env := func(k string) string { return map[string]string{"PARLEY_MODELS_DIR": dir}[k] }
	tests := []struct {
		args     []string
		wantOut  string
		wantErr  error
		wantText string
	}{
		{args: []string{"models"}, wantOut: "no models in " + dir},
		{args: []string{"pull"}, wantErr: cmdline.ErrUsage, wantText: "Usage: parley pull"},
		{args: []string{"run"}, wantErr: cmdline.ErrUsage, wantText: "Usage: parley run"},
		{args: []string{"bench"}, wantErr: cmdline.ErrUsage, wantText: "Usage: parley bench"},
		{args: []string{"run", "nothing-here"}, wantText: "not found"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errw bytes.Buffer
			err := Tool(context.Background(), tt.args[0], tt.args[1:], cmdline.IO{Out: &out, Err: &errw, Env: env})
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) || tt.wantErr == nil && tt.wantText != "" && err == nil {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			got := out.String() + errw.String()
			if err != nil {
				got += err.Error()
			}
			if !strings.Contains(got, tt.wantOut) || !strings.Contains(got, tt.wantText) {
				t.Errorf("output %q lacks %q / %q", got, tt.wantOut, tt.wantText)
			}
		})
	}
	if err := Tool(context.Background(), "serve", nil, cmdline.IO{}); err == nil {
		t.Error("a service name ran as a tool")
	}
	if !errors.Is(cmdline.ErrUsage, ErrUsage) {
		t.Error("cmd/parley cannot tell a tool's usage error")
	}
}
