// Package cmdline is how Parley reads a command line: flags whose defaults
// come from PARLEY_* environment variables (flags win over env, env over
// defaults), commands whose positional arguments may sit among their flags,
// the terminal a command talks to, and the error that says a command line
// was wrong.
//
// Components own their flags: a component's Config has
//
//	func (c *Config) RegisterFlags(f *cmdline.Flags)
//
// with one line per flag that names it, declares its default and says what
// it does, and, when some values cannot work, a Validate method. The
// component's DefaultConfig is Defaults((*Config).RegisterFlags), so a
// default is written once, in its flag's line. A target's flag set is made
// by asking each component it runs to register its flags.
package cmdline

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrUsage reports a command line that was wrong; the message has been
// printed already.
var ErrUsage = errors.New("usage")

// IO is the terminal of a command.
type IO struct {
	Out, Err io.Writer
	In       io.Reader
	// Env looks up environment variables (os.Getenv); nil means none.
	Env func(string) string
	// Interrupt, if set, replaces the process's SIGINT/SIGTERM for
	// interactive commands (tests): os.Interrupt stops the current step,
	// syscall.SIGTERM ends the session.
	Interrupt <-chan os.Signal
}

// WithDefaults fills what t leaves unset: output is discarded, input empty.
func (t IO) WithDefaults() IO {
	if t.Out == nil {
		t.Out = io.Discard
	}
	if t.Err == nil {
		t.Err = io.Discard
	}
	if t.In == nil {
		t.In = strings.NewReader("")
	}
	if t.Env == nil {
		t.Env = func(string) string { return "" }
	}
	return t
}

// IsTerminal reports whether w is a terminal (a character device), where
// a line may be redrawn in place; a file, a pipe or a buffer is not.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Defaults returns the configuration register binds when neither a flag nor
// the environment sets anything: the flags' defaults. Components use it for
// their DefaultConfig.
func Defaults[T any](register func(*T, *Flags)) T {
	var c T
	register(&c, NewFlags("defaults", nil))
	return c
}

// EnvName is the environment variable of a flag: models-dir is
// PARLEY_MODELS_DIR.
func EnvName(flagName string) string {
	return "PARLEY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Flags is a flag set whose flags take their defaults from the
// environment. Bad environment values are remembered and reported by
// Check, after parsing, so -h still works.
type Flags struct {
	*flag.FlagSet
	env           func(string) string
	errs          []error
	listSetByFlag map[string]bool
	secrets       []secret
}

// secret is a flag whose env value must not show up as a default in -h.
type secret struct {
	p    *string
	name string
}

// NewFlags returns an empty flag set named name ("parley run") that
// reports errors instead of exiting; env is usually os.Getenv.
func NewFlags(name string, env func(string) string) *Flags {
	if env == nil {
		env = func(string) string { return "" }
	}
	return &Flags{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), env: env, listSetByFlag: map[string]bool{}}
}

func (f *Flags) usage(name, usage string) string {
	return fmt.Sprintf("%s (env %s)", usage, EnvName(name))
}

// String registers a string flag.
func (f *Flags) String(p *string, name, def, usage string) {
	if v := f.env(EnvName(name)); v != "" {
		def = v
	}
	f.StringVar(p, name, def, f.usage(name, usage))
}

// Secret registers a string flag holding a credential: its env value is
// applied by Check (unless the flag was given), so help output never
// prints it.
func (f *Flags) Secret(p *string, name, usage string) {
	f.secrets = append(f.secrets, secret{p, name})
	f.StringVar(p, name, "", f.usage(name, usage))
}

// Int registers an int flag.
func (f *Flags) Int(p *int, name string, def int, usage string) {
	if v := f.env(EnvName(name)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q: not an integer", EnvName(name), v))
		} else {
			def = n
		}
	}
	f.IntVar(p, name, def, f.usage(name, usage))
}

// Int64 registers an int64 flag.
func (f *Flags) Int64(p *int64, name string, def int64, usage string) {
	if v := f.env(EnvName(name)); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q: not an integer", EnvName(name), v))
		} else {
			def = n
		}
	}
	f.Int64Var(p, name, def, f.usage(name, usage))
}

// Float registers a float64 flag.
func (f *Flags) Float(p *float64, name string, def float64, usage string) {
	if v := f.env(EnvName(name)); v != "" {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q: not a number", EnvName(name), v))
		} else {
			def = x
		}
	}
	f.Float64Var(p, name, def, f.usage(name, usage))
}

// Duration registers a duration flag.
func (f *Flags) Duration(p *time.Duration, name string, def time.Duration, usage string) {
	if v := f.env(EnvName(name)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q: not a duration like 30s", EnvName(name), v))
		} else {
			def = d
		}
	}
	f.DurationVar(p, name, def, f.usage(name, usage))
}

// Bool registers a boolean flag; its env var is anything strconv.ParseBool
// reads (1, true, false, ...).
func (f *Flags) Bool(p *bool, name string, def bool, usage string) {
	if v := f.env(EnvName(name)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q: not true or false", EnvName(name), v))
		} else {
			def = b
		}
	}
	f.BoolVar(p, name, def, f.usage(name, usage))
}

// List registers a repeatable flag; its env var is comma-separated.
func (f *Flags) List(p *[]string, name, usage string) {
	if v := f.env(EnvName(name)); v != "" {
		*p = SplitList(v)
	}
	f.Func(name, f.usage(name, usage+" (repeatable)"), func(s string) error {
		if !f.listSetByFlag[name] { // the first flag replaces what env gave
			*p = nil
			f.listSetByFlag[name] = true
		}
		*p = append(*p, SplitList(s)...)
		return nil
	})
}

// SplitList splits a comma-separated list, dropping empty items.
func SplitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// Check, after parsing, applies secrets from the environment and reports
// the environment values that were unusable.
func (f *Flags) Check() error {
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for _, s := range f.secrets {
		if !set[s.name] {
			*s.p = f.env(EnvName(s.name))
		}
	}
	return errors.Join(f.errs...)
}

// ParseCommand parses a command's arguments, accepting flags before,
// between and after the positional ones (`parley run MODEL "prompt"
// --max-tokens 16`), checks the environment and returns the positional
// arguments: at least minPos, at most maxPos (-1: any number). posUsage
// describes them in the usage line. A wrong command line has been printed
// and comes back as ErrUsage; -h as flag.ErrHelp.
func (f *Flags) ParseCommand(args []string, minPos, maxPos int, posUsage string) ([]string, error) {
	f.Usage = func() {
		fmt.Fprintf(f.Output(), "Usage: %s %s\n\nFlags:\n", f.Name(), posUsage)
		f.PrintDefaults()
	}
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, ErrUsage
		}
		args = f.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if err := f.Check(); err != nil {
		return nil, err
	}
	if len(pos) < minPos || (maxPos >= 0 && len(pos) > maxPos) {
		f.Usage()
		return nil, ErrUsage
	}
	return pos, nil
}
