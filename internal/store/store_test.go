package store

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

func TestLimit(t *testing.T) {
	tests := []struct{ in, want int }{
		{0, 50}, {-1, 1}, {-1 << 40, 1}, {1, 1}, {50, 50}, {200, 200}, {201, 200}, {1 << 40, 200},
	}
	for _, tt := range tests {
		if got := Limit(tt.in); got != tt.want {
			t.Errorf("Limit(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	tests := []Cursor{
		{UpdatedAt: time.UnixMilli(0).UTC(), ID: chat.NewID()},
		{UpdatedAt: time.Date(2026, 11, 25, 18, 0, 0, 123_000_000, time.UTC), ID: chat.NewID()},
		{UpdatedAt: time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC), ID: "00000000-0000-0000-0000-000000000000"},
	}
	for _, c := range tests {
		s := EncodeCursor(c)
		if strings.ContainsAny(s, "+/=?&") {
			t.Errorf("cursor %q is not URL-safe", s)
		}
		got, err := DecodeCursor(s)
		if err != nil {
			t.Fatalf("DecodeCursor(%q): %v", s, err)
		}
		if !got.UpdatedAt.Equal(c.UpdatedAt) || got.ID != c.ID || got.UpdatedAt.Location() != time.UTC {
			t.Errorf("round trip of %+v = %+v", c, got)
		}
	}
}

func TestDecodeCursorRefuses(t *testing.T) {
	for _, s := range []string{"", "!!", "Zm9v", "MTIzfG5vdC1hbi1pZA", "eHx4", EncodeCursor(Cursor{ID: "x"})} {
		_, err := DecodeCursor(s)
		if chat.KindOf(err) != chat.KindInvalid {
			t.Errorf("DecodeCursor(%q) = %v, want KindInvalid", s, err)
		}
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(EncodeCursor(Cursor{UpdatedAt: time.Now(), ID: chat.NewID()}))
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeCursor(s)
		if err != nil {
			if chat.KindOf(err) != chat.KindInvalid {
				t.Fatalf("DecodeCursor(%q) error kind %v", s, chat.KindOf(err))
			}
			return
		}
		if !chat.ValidID(c.ID) {
			t.Fatalf("DecodeCursor(%q) accepted id %q", s, c.ID)
		}
	})
}

func TestLikePattern(t *testing.T) {
	tests := []struct{ in, want string }{
		{"milk", "%milk%"},
		{"100%", `%100\%%`},
		{"a_b", `%a\_b%`},
		{`c:\x`, `%c:\\x%`},
		{"日本", "%日本%"},
	}
	for _, tt := range tests {
		if got := LikePattern(tt.in); got != tt.want {
			t.Errorf("LikePattern(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTime(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 999_999_999, time.FixedZone("X", 3600))
	if got := Time(time.Time{}, now); !got.Equal(now.Truncate(time.Millisecond)) || got.Location() != time.UTC {
		t.Errorf("Time(zero) = %v", got)
	}
	given := time.Date(2020, 5, 5, 5, 5, 5, 5_123_456, time.FixedZone("Y", -7200))
	if got := Time(given, now); !got.Equal(given.Truncate(time.Millisecond)) || got.Location() != time.UTC {
		t.Errorf("Time(given) = %v", got)
	}
}
