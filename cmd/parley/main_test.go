package main

import (
	"bytes"
	"context"
	"flag"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/app"
)

// `parley help` must list every flag of every service with its env name,
// so that an operator needs no other page to configure a deployment.
func TestHelpListsEveryFlagWithItsEnv(t *testing.T) {
	noEnv := func(string) string { return "" }
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"help"}, &out, &errOut, noEnv); code != 0 {
		t.Fatalf("parley help exited %d: %s", code, errOut.String())
	}
	for _, target := range services {
		var cfg app.Config
		fs, _ := app.NewFlagSet(target, &cfg, noEnv)
		if !strings.Contains(out.String(), "Flags of 'parley "+target+"':") {
			t.Errorf("help has no section for %s", target)
		}
		fs.VisitAll(func(f *flag.Flag) {
			env := "PARLEY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
			// A boolean flag's line has no value type after its name.
			listed := strings.Contains(out.String(), "-"+f.Name+" ") || strings.Contains(out.String(), "-"+f.Name+"\n")
			if !listed || !strings.Contains(out.String(), "(env "+env+")") {
				t.Errorf("help lacks -%s of %s with env %s", f.Name, target, env)
			}
		})
	}
}

func TestHelpOfOneCommand(t *testing.T) {
	noEnv := func(string) string { return "" }
	tests := []struct {
		args     []string
		wantCode int
		want     string
	}{
		{[]string{"help", "web"}, 0, "-api-url"},
		{[]string{"web", "-h"}, 0, "PARLEY_API_URL"},
		{[]string{"api", "-h"}, 0, "PARLEY_MODEL_URL"},
		{[]string{"model", "-h"}, 0, "PARLEY_UPSTREAM_KEY"},
		{[]string{"help", "pull"}, 2, "parley pull -h"},
		{[]string{"nonsense"}, 2, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errOut, noEnv)
			if code != tt.wantCode || !strings.Contains(out.String()+errOut.String(), tt.want) {
				t.Fatalf("exit %d, want %d; output lacks %q:\n%s%s", code, tt.wantCode, tt.want, out.String(), errOut.String())
			}
		})
	}
}

// Go's flag package reads a `backquoted` word in a usage text as the name
// of the flag's argument ("-catalogue parley pull"): every -h must show
// only type names there.
func TestHelpShowsNoBackquotedArgumentNames(t *testing.T) {
	env := func(k string) string { return map[string]string{"PARLEY_MODELS_DIR": t.TempDir()}[k] }
	flagLine := regexp.MustCompile(`^  -(\S+)(?: (.+))?$`)
	argNames := map[string]bool{"": true, "string": true, "int": true, "float": true, "duration": true, "value": true, "uint": true}
	for _, args := range [][]string{
		{"serve", "-h"}, {"web", "-h"}, {"api", "-h"}, {"model", "-h"}, {"healthcheck", "-h"},
		{"pull", "-h"}, {"models", "-h"}, {"run", "-h"}, {"bench", "-h"}, {"bench", "synth", "-h"},
	} {
		var out, errOut bytes.Buffer
		run(context.Background(), args, &out, &errOut, env)
		text := out.String() + errOut.String()
		flags := 0
		for _, line := range strings.Split(text, "\n") {
			m := flagLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			flags++
			if !argNames[m[2]] {
				t.Errorf("parley %s: flag line %q names its argument %q (a backquote in the usage?)", strings.Join(args, " "), line, m[2])
			}
		}
		if flags == 0 {
			t.Errorf("parley %s: no flags listed:\n%s", strings.Join(args, " "), text)
		}
	}
}
