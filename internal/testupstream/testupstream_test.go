package testupstream_test

import (
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/testupstream"
)

func TestTokens(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"hello", []string{"hello"}},
		{"hello world", []string{"hello", " world"}},
		{"  lead  and trail ", []string{"  lead", "  and", " trail "}},
		{"a\nb\tc", []string{"a", "\nb", "\tc"}},
	}
	for _, tt := range tests {
		got := testupstream.Tokens(tt.in)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("Tokens(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Join(got, "") != tt.in {
			t.Errorf("Tokens(%q) does not concatenate back: %q", tt.in, got)
		}
	}
}
