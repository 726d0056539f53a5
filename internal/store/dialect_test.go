package store

import (
	"strconv"
	"testing"
	"time"
)

func TestBind(t *testing.T) {
	numbered := Dialect{Placeholder: func(n int) string { return "$" + strconv.Itoa(n) }}
	tests := []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`WHERE a = ? AND b < (?, ?)`, `WHERE a = $1 AND b < ($2, $3)`},
		{`x LIKE ? ESCAPE '\' OR y LIKE ? ESCAPE '\'`, `x LIKE $1 ESCAPE '\' OR y LIKE $2 ESCAPE '\'`},
		{`SELECT '?', 'it''s ?', ?`, `SELECT '?', 'it''s ?', $1`},
	}
	for _, tt := range tests {
		if got := numbered.Bind(tt.in); got != tt.want {
			t.Errorf("Bind(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var plain Dialect
	if q := `a = ? AND '?'`; plain.Bind(q) != q {
		t.Errorf("Bind without Placeholder changed %q", q)
	}
}

func TestScanTime(t *testing.T) {
	want := time.Date(2026, 5, 1, 12, 30, 0, 123_000_000, time.UTC)
	for _, src := range []any{want.UnixMilli(), want.In(time.FixedZone("X", 7200))} {
		var got time.Time
		if err := scanTime(&got).Scan(src); err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("Scan(%T) = %v, %v; want %v in UTC", src, got, err, want)
		}
	}
	var got time.Time
	if err := scanTime(&got).Scan("2026-05-01"); err == nil {
		t.Error("Scan of a string succeeded, want an error")
	}
}
