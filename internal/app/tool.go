package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/modelhub"
)

// ToolIO is the terminal of the engine commands.
type ToolIO struct {
	Out, Err io.Writer
	In       io.Reader
	Env      func(string) string
	// Interrupt, if set, replaces the process's SIGINT/SIGTERM for the
	// interactive `run` (tests); os.Interrupt stops the current reply,
	// syscall.SIGTERM ends the session.
	Interrupt <-chan os.Signal
}

func (tio ToolIO) env(k string) string {
	if tio.Env == nil {
		return ""
	}
	return tio.Env(k)
}

// Tool runs the engine commands: pull, models, run, bench.
func Tool(ctx context.Context, cmd string, args []string, tio ToolIO) error {
	if tio.Out == nil {
		tio.Out = io.Discard
	}
	if tio.Err == nil {
		tio.Err = io.Discard
	}
	if tio.In == nil {
		tio.In = strings.NewReader("")
	}
	switch cmd {
	case "pull":
		return toolPull(ctx, args, tio)
	case "models":
		return toolModels(args, tio)
	case "run":
		return toolRun(ctx, args, tio)
	case "bench":
		return toolBench(ctx, args, tio)
	default:
		return fmt.Errorf("unknown engine command %q", cmd)
	}
}

// toolFlags is a command's flag set bound to PARLEY_* variables.
type toolFlags struct {
	*envBinder
	name string
}

func newToolFlags(name string, tio ToolIO) *toolFlags {
	fs := flag.NewFlagSet("parley "+name, flag.ContinueOnError)
	fs.SetOutput(tio.Err)
	return &toolFlags{envBinder: &envBinder{fs: fs, env: tio.env, listSetByFlag: map[string]bool{}}, name: name}
}

func (f *toolFlags) Bool(p *bool, name string, def bool, usage string) {
	f.fs.BoolVar(p, name, def, usage)
}

func (f *toolFlags) Float(p *float64, name string, def float64, usage string) {
	if v := f.env(envName(name)); v != "" {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q: not a number", envName(name), v))
		} else {
			def = x
		}
	}
	f.fs.Float64Var(p, name, def, f.usage(name, usage))
}

// parse accepts flags before, between and after the positional arguments
// (`parley run MODEL "prompt" --max-tokens 16`) and returns the positional
// ones. Errors have been printed; they come back as ErrUsage.
func (f *toolFlags) parse(args []string, minPos, maxPos int, posUsage string) ([]string, error) {
	f.fs.Usage = func() {
		fmt.Fprintf(f.fs.Output(), "Usage: parley %s %s\n\nFlags:\n", f.name, posUsage)
		f.fs.PrintDefaults()
	}
	var pos []string
	for {
		if err := f.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, ErrUsage
		}
		args = f.fs.Args()
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
	if len(f.errs) > 0 {
		return nil, errors.Join(f.errs...)
	}
	if len(pos) < minPos || (maxPos >= 0 && len(pos) > maxPos) {
		f.fs.Usage()
		return nil, ErrUsage
	}
	return pos, nil
}

// modelsDirFlag registers --models-dir.
func (f *toolFlags) modelsDirFlag(p *string) {
	f.String(p, "models-dir", DefaultModelsDir(), "where pulled models are kept")
}

// endpointFlag registers --hf-endpoint (PARLEY_HF_ENDPOINT).
func (f *toolFlags) endpointFlag(p *string) {
	f.String(p, "hf-endpoint", modelhub.DefaultBaseURL, "base URL models are downloaded from (a Hugging Face mirror)")
}

func toolPull(ctx context.Context, args []string, tio ToolIO) error {
	f := newToolFlags("pull", tio)
	var dir, endpoint string
	f.modelsDirFlag(&dir)
	f.endpointFlag(&endpoint)
	pos, err := f.parse(args, 1, 1, "REF   (a catalogue alias, or org/repo/file.gguf)")
	if err != nil {
		return err
	}
	ref, err := modelhub.ParseRef(pos[0])
	if err != nil {
		return err
	}
	path, err := pull(ctx, dir, endpoint, ref, tio.Err)
	if err != nil {
		return err
	}
	fmt.Fprintf(tio.Out, "%s\t%s\n", modelhub.ModelID(path), path)
	return nil
}

func pull(ctx context.Context, dir, endpoint string, ref modelhub.Ref, progress io.Writer) (string, error) {
	p := &modelhub.Puller{Dir: dir, BaseURL: endpoint, Progress: modelhub.ProgressBar(progress, "pulling "+ref.File)}
	path, err := p.Pull(ctx, ref)
	if err != nil {
		fmt.Fprintln(progress)
		return "", err
	}
	return path, nil
}

// resolveOrPull finds a local model like modelhub.Resolve and, as
// `ollama run` does, downloads a catalogue alias or Hugging Face file that
// is not there yet.
func resolveOrPull(ctx context.Context, dir, endpoint, s string, progress io.Writer) (string, error) {
	path, err := modelhub.Resolve(dir, s)
	if err == nil {
		return path, nil
	}
	ref, perr := modelhub.ParseRef(s)
	if perr != nil {
		return "", err
	}
	return pull(ctx, dir, endpoint, ref, progress)
}

func toolModels(args []string, tio ToolIO) error {
	f := newToolFlags("models", tio)
	var dir string
	var catalogue bool
	f.modelsDirFlag(&dir)
	f.Bool(&catalogue, "catalogue", false, "also list the aliases `parley pull` knows")
	if _, err := f.parse(args, 0, 0, ""); err != nil {
		return err
	}
	models, err := modelhub.List(dir)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(tio.Out, 0, 4, 2, ' ', 0)
	if len(models) == 0 {
		fmt.Fprintf(tw, "no models in %s (pull one with `parley pull ALIAS`)\n", dir)
	} else {
		fmt.Fprintln(tw, "NAME\tTYPE\tSIZE\tSHA256\tPATH")
		for _, m := range models {
			kind := "?"
			if f, err := gguf.Open(m.Path); err == nil {
				kind, _, _ = describeModel(f)
				f.Close()
			}
			sum := m.SHA256
			if len(sum) > 12 {
				sum = sum[:12]
			}
			if sum == "" {
				sum = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Name, kind, modelhub.HumanBytes(m.Size), sum, m.Path)
		}
	}
	if catalogue {
		fmt.Fprintln(tw, "\nALIAS\tSIZE\tSOURCE\tDESCRIPTION")
		for _, e := range modelhub.Catalogue() {
			fmt.Fprintf(tw, "%s\t%s\t%s/%s\t%s\n", e.Alias, e.Size, e.Repo, e.File, e.Description)
		}
	}
	return tw.Flush()
}
