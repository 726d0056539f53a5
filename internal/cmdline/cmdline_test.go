package cmdline

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantPos []string
		wantN   int
		wantT   float64
		wantB   bool
		wantErr string
	}{
		{name: "defaults", args: []string{"m"}, wantPos: []string{"m"}, wantN: 7, wantT: 0.5},
		{name: "flags among positionals", args: []string{"--n", "3", "m", "a prompt", "--temp", "0"},
			wantPos: []string{"m", "a prompt"}, wantN: 3, wantT: 0},
		{name: "env under flags", env: map[string]string{"PARLEY_N": "9", "PARLEY_TEMP": "2"}, args: []string{"m", "--temp", "1"},
			wantPos: []string{"m"}, wantN: 9, wantT: 1},
		{name: "bool from env", env: map[string]string{"PARLEY_ON": "true"}, args: []string{"m"}, wantPos: []string{"m"}, wantN: 7, wantT: 0.5, wantB: true},
		{name: "bool flag over env", env: map[string]string{"PARLEY_ON": "1"}, args: []string{"m", "--on=false"}, wantPos: []string{"m"}, wantN: 7, wantT: 0.5},
		{name: "bool flag", args: []string{"--on", "m"}, wantPos: []string{"m"}, wantN: 7, wantT: 0.5, wantB: true},
		{name: "dash dash", args: []string{"m", "--", "--n"}, wantPos: []string{"m", "--n"}, wantN: 7, wantT: 0.5},
		{name: "too few", args: nil, wantErr: "usage"},
		{name: "too many", args: []string{"a", "b", "c"}, wantErr: "usage"},
		{name: "unknown flag", args: []string{"--nope", "m"}, wantErr: "usage"},
		{name: "bad env values, all reported", env: map[string]string{"PARLEY_N": "x", "PARLEY_TEMP": "y", "PARLEY_ON": "maybe"}, args: []string{"m"},
			wantErr: "PARLEY_N=\"x\": not an integer\nPARLEY_TEMP=\"y\": not a number\nPARLEY_ON=\"maybe\": not true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFlags("parley x", func(k string) string { return tt.env[k] })
			f.SetOutput(io.Discard)
			var n int
			var temp float64
			var on bool
			f.Int(&n, "n", 7, "count")
			f.Float(&temp, "temp", 0.5, "temperature")
			f.Bool(&on, "on", false, "switch")
			pos, err := f.ParseCommand(tt.args, 1, 2, "MODEL [PROMPT]")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if tt.wantErr == "usage" && !errors.Is(err, ErrUsage) {
					t.Errorf("err = %v, want ErrUsage", err)
				}
				return
			}
			if err != nil || !slices.Equal(pos, tt.wantPos) || n != tt.wantN || temp != tt.wantT || on != tt.wantB {
				t.Errorf("pos %q n %d temp %g on %v err %v", pos, n, temp, on, err)
			}
		})
	}
	f := NewFlags("parley x", nil)
	f.SetOutput(io.Discard)
	if _, err := f.ParseCommand([]string{"-h"}, 0, 0, ""); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestSecretStaysOutOfHelp(t *testing.T) {
	f := NewFlags("parley x", func(k string) string { return map[string]string{"PARLEY_KEY": "sk-1"}[k] })
	var key string
	f.Secret(&key, "key", "API key")
	var help strings.Builder
	f.SetOutput(&help)
	f.PrintDefaults()
	if err := f.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Check(); err != nil || key != "sk-1" {
		t.Fatalf("key %q, err %v", key, err)
	}
	if strings.Contains(help.String(), "sk-1") || !strings.Contains(help.String(), "PARLEY_KEY") {
		t.Errorf("help %q", help.String())
	}
}

type defaultsConfig struct {
	N    int
	Name string
	Key  string
}

func (c *defaultsConfig) register(f *Flags) {
	f.Int(&c.N, "n", 7, "count")
	f.String(&c.Name, "name", "x", "name")
	f.Secret(&c.Key, "key", "key")
}

// Defaults gives the flags' defaults and never reads the environment.
func TestDefaults(t *testing.T) {
	t.Setenv("PARLEY_N", "9")
	if got := Defaults((*defaultsConfig).register); got != (defaultsConfig{N: 7, Name: "x"}) {
		t.Fatalf("Defaults = %+v", got)
	}
}
