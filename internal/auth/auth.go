// Package auth is who a request comes from: the middleware of the api that
// turns a session cookie or an API key (Authorization: Bearer) into an
// account — or, under --auth none, into the one local user — and puts it
// into the request's context, where handlers find it with From. It also
// owns the session cookie and the auth mode's config. What an account may
// do is package account's; this package only says who is asking.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/httpx"
)

// Modes.
const (
	// ModeNone: no accounts are asked for; every request is the local
	// user's. For a service only its own machine can reach.
	ModeNone = "none"
	// ModePassword: every request needs a session (from a login) or an
	// API key.
	ModePassword = "password"
)

// Config holds how requests are authenticated.
type Config struct {
	// Mode is ModeNone or ModePassword; "" picks by the listen address
	// (ModeFor).
	Mode string
	// TrustedProxies are the comma-separated addresses (CIDR prefixes) of
	// proxies whose X-Forwarded-For is believed when finding the client
	// address that failed logins are counted against.
	TrustedProxies string
}

// RegisterFlags binds c to its flags, each declaring its default.
func (c *Config) RegisterFlags(f *cmdline.Flags) {
	f.String(&c.Mode, "auth", "", "who may use the api: none (everyone who can reach it, as one local user) or password (accounts: a login session or an API key); default none when --addr is a loopback address, password otherwise")
	f.String(&c.TrustedProxies, "trusted-proxies", "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7",
		"proxies (comma-separated addresses or CIDRs, such as the web service's) whose X-Forwarded-For names the client; empty: trust none")
}

// Validate reports an unknown mode or an unreadable proxy list.
func (c Config) Validate() error {
	var errs []error
	if c.Mode != "" && c.Mode != ModeNone && c.Mode != ModePassword {
		errs = append(errs, fmt.Errorf("--auth must be %s or %s, not %q", ModeNone, ModePassword, c.Mode))
	}
	if _, err := httpx.ParsePrefixes(c.TrustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("--trusted-proxies: %w", err))
	}
	return errors.Join(errs...)
}

// ModeFor is the mode for a service listening on addr: Mode when set;
// otherwise none on a loopback address (the laptop start stays one
// command), password on anything else — every interface, a container, a
// host name.
func (c Config) ModeFor(addr string) string {
	if c.Mode != "" {
		return c.Mode
	}
	if Loopback(addr) {
		return ModeNone
	}
	return ModePassword
}

// Loopback reports whether addr (host:port) can only be reached from the
// machine itself.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// Via is how a request proved who it is.
type Via string

const (
	ViaLocal   Via = "local"   // --auth none: nothing was asked
	ViaSession Via = "session" // a session cookie
	ViaKey     Via = "key"     // an API key
)

// Principal is who a request comes from.
type Principal struct {
	User account.User
	// Key is the API key the request came with (Via is ViaKey), else nil.
	Key *account.Key
	Via Via
}

type principalKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// From returns the principal the middleware put into ctx; ok is false
// when there is none (a route outside the middleware).
func From(ctx context.Context) (p Principal, ok bool) {
	p, ok = ctx.Value(principalKey{}).(Principal)
	return p, ok
}
