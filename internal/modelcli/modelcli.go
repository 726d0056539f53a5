// Package modelcli is the built-in engine's terminal commands: `parley
// pull` downloads a model, `parley models` lists them, `parley run` chats
// with one (or continues text) through the same generation path the model
// service serves (internal/inference/builtin).
package modelcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/model"
	"github.com/parley-chat/parley/internal/modelhub"
)

// newFlags is the flag set of `parley name`, bound to PARLEY_* variables.
func newFlags(name string, tio cmdline.IO) *cmdline.Flags {
	f := cmdline.NewFlags("parley "+name, tio.Env)
	f.SetOutput(tio.Err)
	return f
}

// Pull is `parley pull REF`: it downloads a model into the models
// directory, or imports a GGUF file from this machine, and prints its id
// and path.
func Pull(ctx context.Context, args []string, tio cmdline.IO) error {
	tio = tio.WithDefaults()
	f := newFlags("pull", tio)
	var hub modelhub.Config
	hub.RegisterFlags(f)
	pos, err := f.ParseCommand(args, 1, 1, "REF   (a catalogue alias, org/repo/file.gguf on Hugging Face, or a GGUF file here to import: ./model.gguf)")
	if err != nil {
		return err
	}
	var path string
	if local, err := isLocalFile(pos[0]); err != nil {
		return err
	} else if local {
		path, err = importFile(pos[0], hub.Dir, tio.Err)
		if err != nil {
			return err
		}
	} else {
		ref, err := modelhub.ParseRef(pos[0])
		if err != nil {
			return fmt.Errorf("%w, nor a file here", err)
		}
		if path, err = pull(ctx, hub, ref, tio.Err); err != nil {
			if errors.Is(err, modelhub.ErrOffline) {
				err = fmt.Errorf("%w\n(without internet: fetch the file elsewhere and import it with `parley pull ./%s`)", err, ref.File)
			}
			return err
		}
	}
	fmt.Fprintf(tio.Out, "%s\t%s\n", modelhub.ModelID(path), path)
	return nil
}

// isLocalFile reports whether REF names a file on this machine: one that
// exists, or a path that must be one (./x, ../x, /x) and is missing.
func isLocalFile(ref string) (bool, error) {
	st, err := os.Stat(ref)
	switch {
	case err == nil && st.IsDir():
		return false, fmt.Errorf("%s is a directory; pull imports one .gguf file", ref)
	case err == nil:
		return true, nil
	case filepath.IsAbs(ref) || strings.HasPrefix(ref, "./") || strings.HasPrefix(ref, "../") ||
		strings.HasPrefix(ref, "~"):
		return false, fmt.Errorf("%s: no such file", ref)
	}
	return false, nil
}

// importFile checks that src is a GGUF model (its header and tensor table
// parse) before copying it into dir.
func importFile(src, dir string, progress io.Writer) (string, error) {
	g, err := gguf.Open(src)
	if err != nil {
		return "", fmt.Errorf("%s is not a GGUF model file, so it was not imported: %w", src, err)
	}
	g.Close()
	pr := newPrinter(progress, "importing "+filepath.Base(src))
	path, err := modelhub.Import(src, dir, pr.Update)
	pr.End()
	return path, err
}

// newPrinter shows progress on w: a bar redrawn in place on a terminal,
// a plain line every few seconds elsewhere.
func newPrinter(w io.Writer, label string) *modelhub.Printer {
	return modelhub.NewPrinter(w, label, cmdline.IsTerminal(w))
}

func pull(ctx context.Context, hub modelhub.Config, ref modelhub.Ref, progress io.Writer) (string, error) {
	pr := newPrinter(progress, "pulling "+ref.File)
	p := &modelhub.Puller{Dir: hub.Dir, BaseURL: hub.Endpoint, Progress: pr.Update}
	path, err := p.Pull(ctx, ref)
	pr.End()
	return path, err
}

// resolveOrPull finds a local model like modelhub.Resolve and, as
// `ollama run` does, downloads a catalogue alias or Hugging Face file that
// is not there yet.
func resolveOrPull(ctx context.Context, hub modelhub.Config, s string, progress io.Writer) (string, error) {
	path, err := modelhub.Resolve(hub.Dir, s)
	if err == nil {
		return path, nil
	}
	ref, perr := modelhub.ParseRef(s)
	if perr != nil {
		return "", err
	}
	return pull(ctx, hub, ref, progress)
}

// Models is `parley models`: the models in the models directory and, with
// --catalogue, the aliases Pull knows.
func Models(_ context.Context, args []string, tio cmdline.IO) error {
	tio = tio.WithDefaults()
	f := newFlags("models", tio)
	var hub modelhub.Config
	var catalogue bool
	hub.RegisterDirFlag(f)
	f.BoolVar(&catalogue, "catalogue", false, "also list the aliases that parley pull knows")
	if _, err := f.ParseCommand(args, 0, 0, ""); err != nil {
		return err
	}
	models, err := modelhub.List(hub.Dir)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(tio.Out, 0, 4, 2, ' ', 0)
	if len(models) == 0 {
		fmt.Fprintf(tw, "no models in %s (pull one with `parley pull ALIAS`)\n", hub.Dir)
	} else {
		fmt.Fprintln(tw, "NAME\tTYPE\tSIZE\tSHA256\tPATH")
		for _, m := range models {
			kind := "?"
			if f, err := gguf.Open(m.Path); err == nil {
				kind = model.Describe(f).Name
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
