// Command parley is the single binary of Parley: `parley serve` runs the
// whole chat application in one process; `parley web`, `parley api` and
// `parley model` run one service each. main only parses the command line
// into an app.Config and hands over; the wiring lives in internal/app.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/cmdline"
)

// version is stamped at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

const usage = `Parley: a self-hostable LLM chat.

Usage:
  parley serve        run web + api + model in one process (SQLite, built-in engine)
  parley web          run the chat UI service       (--api-url)
  parley api          run the backend service       (--model-url, --database)
  parley model        run the inference service     (--backend builtin|openai|ollama)
  parley healthcheck  exit 0 if the local service answers /healthz (for containers)
  parley pull REF     download a GGUF model (catalogue alias or org/repo/file.gguf),
                      or import one you have (parley pull ./model.gguf)
  parley models       list downloaded models
  parley run MODEL [PROMPT]   generate text in the terminal (interactive without PROMPT)
  parley bench MODEL  measure prompt processing and generation speed
  parley version      print the version

Every flag also has a PARLEY_* environment variable; flags win over env, env over
defaults. 'parley <command> -h' lists a command's flags; 'parley help' lists the
flags of all four services below.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "help", "-h", "--help":
		return help(rest, stdout, stderr, env)
	case "version", "--version":
		fmt.Fprintln(stdout, "parley", version)
		return 0
	case app.TargetServe, app.TargetWeb, app.TargetAPI, app.TargetModel:
		err = runTarget(ctx, cmd, rest, stderr, env)
	case "healthcheck":
		err = app.Healthcheck(ctx, rest, env, stderr)
	case "pull", "models", "run", "bench":
		err = app.Tool(ctx, cmd, rest, cmdline.IO{Out: stdout, Err: stderr, In: os.Stdin, Env: env})
	default:
		fmt.Fprintf(stderr, "parley: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, app.ErrUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "parley %s: %v\n", cmd, err)
		return 1
	}
}

// services are the targets whose flags `parley help` lists.
var services = []string{app.TargetServe, app.TargetWeb, app.TargetAPI, app.TargetModel}

// help prints the usage and the flags of every service, or of the one
// service named, each with its environment variable and its current
// default (env applied, so an operator sees what a start would use).
func help(args []string, stdout, stderr io.Writer, env func(string) string) int {
	targets := services
	if len(args) > 0 {
		if !slices.Contains(services, args[0]) {
			// The tools describe their own flags.
			fmt.Fprintf(stderr, "parley help: run 'parley %s -h' for its flags\n", args[0])
			return 2
		}
		targets = args[:1]
	} else {
		fmt.Fprint(stdout, usage)
	}
	for _, t := range targets {
		var cfg app.Config
		fs, _ := app.NewFlagSet(t, &cfg, env)
		fs.SetOutput(stdout)
		fmt.Fprintf(stdout, "\nFlags of 'parley %s':\n", t)
		fs.PrintDefaults()
	}
	return 0
}

func runTarget(ctx context.Context, target string, args []string, stderr io.Writer, env func(string) string) error {
	var cfg app.Config
	fs, check := app.NewFlagSet(target, &cfg, env)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return app.ErrUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "parley %s: unexpected arguments %q\n", target, fs.Args())
		return app.ErrUsage
	}
	if err := check(); err != nil {
		return err
	}
	cfg.Version = version
	return app.Run(ctx, target, cfg, stderr)
}
