package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are the costs of an argon2id password hash.
type PasswordParams struct {
	// Memory in KiB.
	Memory  uint32
	Time    uint32
	Threads uint8
}

// DefaultPasswordParams are OWASP's recommended minimum for argon2id
// (19 MiB, 2 passes, 1 lane).
var DefaultPasswordParams = PasswordParams{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	saltBytes = 16
	hashBytes = 32
)

// hasher computes password hashes, at most cap(slots) at a time: each
// holds Memory KiB while it runs, and login and signup are open to anyone.
type hasher struct {
	params PasswordParams
	slots  chan struct{}
}

func newHasher(p PasswordParams, concurrent int) *hasher {
	return &hasher{params: p, slots: make(chan struct{}, max(concurrent, 1))}
}

// acquire waits for a free slot, or for ctx to end.
func (h *hasher) acquire(ctx context.Context) (release func(), err error) {
	select {
	case h.slots <- struct{}{}:
		return func() { <-h.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// hash returns password's argon2id hash in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash), which names its own costs.
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	salt := make([]byte, saltBytes)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (Go 1.24+)
	p := h.params
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, hashBytes)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verify reports whether password matches encoded, a hash made by hash
// (with whatever costs it names). An empty encoded (no password set)
// matches nothing, but takes as long as a real check, so that the answer
// does not tell which accounts exist.
func (h *hasher) verify(ctx context.Context, password, encoded string) (bool, error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		if encoded != "" {
			return false, err
		}
		p, salt, want = h.params, make([]byte, saltBytes), make([]byte, hashBytes)
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return encoded != "" && subtle.ConstantTimeCompare(got, want) == 1, nil
}

// maxMemory bounds the memory cost a stored hash may ask for, so that a
// corrupt row cannot make one login allocate gigabytes.
const maxMemory = 1 << 20 // KiB: 1 GiB

func decodeHash(encoded string) (p PasswordParams, salt, key []byte, err error) {
	bad := errors.New("stored password hash is not argon2id in PHC form")
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, bad
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, bad
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Memory == 0 || p.Memory > maxMemory || p.Time == 0 || p.Threads == 0 {
		return p, nil, nil, bad
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) == 0 {
		return p, nil, nil, bad
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 {
		return p, nil, nil, bad
	}
	return p, salt, key, nil
}
