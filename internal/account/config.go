package account

import (
	"errors"
	"fmt"
	"time"

	"github.com/parley-chat/parley/internal/cmdline"
)

// Signup policies.
const (
	// SignupClosed: only the first account may sign itself up (it becomes
	// the admin); admins make the others.
	SignupClosed = "closed"
	// SignupOpen: anyone who reaches the service may make an account (role
	// user).
	SignupOpen = "open"
)

// Config holds the account rules and limits.
type Config struct {
	// Signup is SignupClosed or SignupOpen.
	Signup string
	// SessionTTL is how long a session lives unused; each use moves its
	// end this far ahead again.
	SessionTTL time.Duration
	// MaxLoginFailures is how many failed logins one username may have
	// within LoginFailureWindow before its logins are refused (429) until
	// the oldest of them leaves the window.
	MaxLoginFailures int
	// MaxAddressFailures is the same for one client address, whatever
	// usernames it tries.
	MaxAddressFailures int
	// LoginFailureWindow is how long a failed login counts.
	LoginFailureWindow time.Duration

	// Password is the cost of a password hash (no flag: stored hashes
	// name the cost they were made with, so it can change later).
	Password PasswordParams
	// MaxHashing bounds the password hashes computed at once; each takes
	// Password.Memory, so this bounds that memory too.
	MaxHashing int
	// Now is the clock; nil is time.Now. Tests move it to expire sessions.
	Now func() time.Time
}

// RegisterFlags binds c to its flags, each declaring its default.
func (c *Config) RegisterFlags(f *cmdline.Flags) {
	f.String(&c.Signup, "signup", SignupClosed, "who may make an account: closed (only the first, who becomes admin; admins add the others) or open (anyone who reaches the service)")
	f.Duration(&c.SessionTTL, "session-ttl", 7*24*time.Hour, "how long a sign-in lasts unused; each use extends it again")
	f.Int(&c.MaxLoginFailures, "login-max-failures", 5, "failed logins for one username within --login-failure-window before it must wait (429)")
	f.Int(&c.MaxAddressFailures, "login-max-failures-per-address", 20, "failed logins from one client address within --login-failure-window before it must wait (429)")
	f.Duration(&c.LoginFailureWindow, "login-failure-window", 15*time.Minute, "how long a failed login counts against its username and address")
}

// DefaultConfig returns the flags' defaults and the settings that have no
// flag.
func DefaultConfig() Config {
	c := cmdline.Defaults((*Config).RegisterFlags)
	c.Password = DefaultPasswordParams
	c.MaxHashing = 4
	return c
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Signup != SignupClosed && c.Signup != SignupOpen {
		errs = append(errs, fmt.Errorf("--signup must be %s or %s, not %q", SignupClosed, SignupOpen, c.Signup))
	}
	if c.SessionTTL < time.Minute {
		errs = append(errs, errors.New("--session-ttl must be at least 1m"))
	}
	if c.MaxLoginFailures <= 0 || c.MaxAddressFailures <= 0 {
		errs = append(errs, errors.New("--login-max-failures and --login-max-failures-per-address must be positive"))
	}
	if c.LoginFailureWindow <= 0 {
		errs = append(errs, errors.New("--login-failure-window must be positive"))
	}
	return errors.Join(errs...)
}
