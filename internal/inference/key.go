package inference

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/httpx"
)

// Who may call a model service.
const (
	// AuthNone: anyone who reaches it.
	AuthNone = "none"
	// AuthKey: callers that send the key (--api-key) as a bearer token.
	AuthKey = "key"
)

// KeyConfig is who may call the model service: callers with its key, or
// (--auth none) anyone who reaches it.
type KeyConfig struct {
	// Mode is AuthNone, AuthKey or "" (key when one is given, none on a
	// loopback address, else the service refuses to start).
	Mode string
	// Key is the bearer key callers must send.
	Key string
	// KeyFile holds the key; a missing file is made with a random key, so
	// services sharing a volume share a key without a manual step.
	KeyFile string
}

// RegisterFlags binds c to its flags, each declaring its default.
func (c *KeyConfig) RegisterFlags(f *cmdline.Flags) {
	f.String(&c.Mode, "auth", "", "who may call /v1: key (callers sending --api-key as Authorization: Bearer) or none (anyone who reaches it); default key when a key is given, none on a loopback --addr; without a key on any other address the service refuses to start unless none is given")
	f.Secret(&c.Key, "api-key", "the bearer key callers of /v1 must send (the api's --model-key)")
	f.String(&c.KeyFile, "api-key-file", "", "file holding the key (instead of --api-key); made with a random key when missing, for the api's --model-key-file to read")
}

// Validate reports an unknown mode, or a key mode with no key.
func (c KeyConfig) Validate() error {
	switch {
	case c.Mode != "" && c.Mode != AuthNone && c.Mode != AuthKey:
		return fmt.Errorf("--auth must be %s or %s, not %q", AuthKey, AuthNone, c.Mode)
	case c.Mode == AuthKey && c.Key == "" && c.KeyFile == "":
		return errors.New("--auth key needs --api-key (env PARLEY_API_KEY) or --api-key-file")
	}
	return nil
}

// Resolve returns the key callers must send on a service listening on
// addr ("" under --auth none), reading or making KeyFile. A service
// beyond loopback without a key is refused unless --auth none says so.
func (c KeyConfig) Resolve(addr string, loopback bool) (string, error) {
	if c.Mode == AuthNone {
		return "", nil
	}
	key := c.Key
	if key == "" && c.KeyFile != "" {
		k, err := ensureKeyFile(c.KeyFile)
		if err != nil {
			return "", err
		}
		key = k
	}
	if key == "" && !loopback {
		return "", fmt.Errorf("the model service on %s would answer anyone who reaches it: give it a key (--api-key, env PARLEY_API_KEY, or --api-key-file) and the api the same --model-key, or allow that with --auth none", addr)
	}
	return key, nil
}

// ensureKeyFile reads the key in path, or writes a new random one there
// when there is none. The file appears whole or not at all (written
// aside, then linked), and of two services starting together one makes
// it and the other reads it.
func ensureKeyFile(path string) (string, error) {
	if key, err := ReadKeyFile(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a model key: %w", err)
	}
	key := "pmk-" + hex.EncodeToString(b)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".model-key-*")
	if err != nil {
		return "", fmt.Errorf("write the model key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(key + "\n"); err != nil {
		tmp.Close()
		return "", fmt.Errorf("write the model key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("write the model key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return ReadKeyFile(path)
		}
		return "", fmt.Errorf("write the model key: %w", err)
	}
	return key, nil
}

// ReadKeyFile returns the key a key file holds.
func ReadKeyFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read the model key: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", fmt.Errorf("the model key file %s is empty", path)
	}
	return key, nil
}

// RequireKey passes on requests (to /v1) only with Authorization: Bearer
// key (401 otherwise); the health and metrics endpoints stay open for
// probes. The comparison takes the same time whatever the key sent.
func RequireKey(key string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(key))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == httpx.ReadyPath || r.URL.Path == "/metrics" {
			next.ServeHTTP(w, r)
			return
		}
		scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		got := sha256.Sum256([]byte(strings.TrimSpace(cred)))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			httpx.WriteError(w, r, nil, &chat.Error{Kind: chat.KindUnauthenticated, Code: "invalid_api_key",
				Message: "this model service needs its key as Authorization: Bearer <key> (the api's --model-key)"})
			return
		}
		next.ServeHTTP(w, r)
	})
}
