package account

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// KeyPrefix starts every API key, so that one pasted in the wrong place
// is recognisable (and secret scanners can find it).
const KeyPrefix = "pk-"

// tokenBytes is the randomness of a session token and of an API key.
const tokenBytes = 32

// newToken returns 32 random bytes, URL-safe base64: a session token.
func newToken() string {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newKey returns a new API key.
func newKey() string { return KeyPrefix + newToken() }

// looksLikeKey reports whether s has the form of a key newKey makes, so
// that anything else is refused without a database lookup.
func looksLikeKey(s string) bool {
	rest, ok := strings.CutPrefix(s, KeyPrefix)
	return ok && looksLikeToken(rest)
}

// looksLikeToken reports whether s has the form of a token newToken makes.
func looksLikeToken(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// hashToken is what the store keeps of a token or key: its SHA-256, hex.
// The secret has 256 random bits, so a fast hash is enough: it only has
// to make a leaked table useless for signing in.
func hashToken(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
