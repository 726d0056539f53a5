package chat

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"
	"time"
)

// NewID returns a UUIDv7 string: random but ordered by creation time, so
// that ids sort like their creation and make stable cursors.
func NewID() string { return newIDAt(time.Now()) }

// lastStamp is the 48-bit millisecond time and 12-bit counter of the last
// id made in this process. It is the one piece of package state, kept so
// that ids made within the same millisecond still sort in creation order
// (RFC 9562's "method 1" counter); the rest of each id stays random.
var lastStamp atomic.Uint64

// nextStamp returns ms<<12 plus a counter, strictly greater than any
// stamp handed out before.
func nextStamp(ms uint64) uint64 {
	for {
		last := lastStamp.Load()
		next := ms << 12
		if next <= last {
			next = last + 1
		}
		if lastStamp.CompareAndSwap(last, next) {
			return next
		}
	}
}

func newIDAt(t time.Time) string {
	var b [16]byte
	_, _ = rand.Read(b[8:]) // crypto/rand.Read never fails (Go 1.24+)
	stamp := nextStamp(uint64(t.UnixMilli()))
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], stamp>>12)
	copy(b[0:6], ts[2:8])
	b[6] = 0x70 | byte(stamp>>8)&0x0f // version 7, counter high bits
	b[7] = byte(stamp)
	b[8] = 0x80 | (b[8] & 0x3f) // RFC 9562 variant
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

// ValidID reports whether s looks like an id produced by NewID (any UUID
// in canonical lower-case form), so bad ids are refused before they reach
// a database.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}
