package modelhub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
)

// Source says which model a model service loads.
type Source struct {
	// Dir is the models directory.
	Dir string
	// Model is a GGUF path, a model id in Dir, a catalogue alias or a
	// Hugging Face org/repo/file.gguf; "" means the default model.
	Model string
	// BaseURL is where models are pulled from (DefaultBaseURL if empty).
	BaseURL string
	Client  *http.Client
}

// Locate returns the file a model service loads, pulling a catalogue alias
// or Hugging Face file that is not downloaded yet (progress goes to log).
//
// Without a model named it is the default model; when that is not
// downloaded but Dir holds exactly one model, that one is used (and the
// log says so), so that a first start without internet works after one
// `parley pull ./file.gguf`. When the default model can be neither found
// nor downloaded, the error names the file to put where.
func Locate(ctx context.Context, s Source, log *slog.Logger) (string, error) {
	if s.Model != "" {
		path, err := Resolve(s.Dir, s.Model)
		if err == nil {
			return path, nil
		}
		ref, perr := ParseRef(s.Model)
		if perr != nil {
			return "", err
		}
		log.Info("pulling model", "model", s.Model, "into", s.Dir)
		path, err = s.pull(ctx, ref, log)
		if err != nil {
			return "", fmt.Errorf("get model %q: %w", s.Model, err)
		}
		return path, nil
	}
	ref, _ := ParseRef(DefaultAlias)
	if path, err := Resolve(s.Dir, ref.LocalName()); err == nil {
		return path, nil
	}
	models, err := List(s.Dir)
	if err != nil {
		return "", err
	}
	if len(models) == 1 {
		log.Info("the default model is not downloaded: using the only model in the models directory",
			"default", DefaultAlias, "model", models[0].Name, "path", models[0].Path)
		return models[0].Path, nil
	}
	log.Info("pulling the default model on first start", "model", DefaultAlias, "into", s.Dir)
	path, err := s.pull(ctx, ref, log)
	if err != nil {
		return "", s.noDefault(ref, models, err)
	}
	return path, nil
}

func (s Source) pull(ctx context.Context, ref Ref, log *slog.Logger) (string, error) {
	p := &Puller{Dir: s.Dir, BaseURL: s.BaseURL, Client: s.Client, Progress: LogProgress(log, ref.File)}
	return p.Pull(ctx, ref)
}

// noDefault is the error of a start whose default model is missing and
// could not be downloaded: it names the file, the directory and the other
// ways to go on.
func (s Source) noDefault(ref Ref, models []Local, err error) error {
	dir := s.Dir
	if abs, aerr := filepath.Abs(dir); aerr == nil {
		dir = abs
	}
	var b strings.Builder
	if errors.Is(err, ErrOffline) {
		b.WriteString("To start without internet, either\n")
	} else {
		b.WriteString("Either\n")
	}
	base := s.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	fmt.Fprintf(&b, "  - fetch %s elsewhere and save it as %s\n", ref.URL(base), filepath.Join(dir, ref.LocalName()))
	if len(models) == 0 {
		b.WriteString("  - or import a GGUF model you have: `parley pull ./path/to/model.gguf`, then start again (the only model there is used)\n")
	} else {
		names := make([]string, len(models))
		for i, m := range models {
			names[i] = m.Name
		}
		fmt.Fprintf(&b, "  - or choose one of the models there: --model %s\n", strings.Join(names, " | "))
	}
	b.WriteString("  - or name a GGUF file where it is: --model ./path/to/model.gguf")
	return fmt.Errorf("the default model %s is not in %s and could not be downloaded: %w\n%s", DefaultAlias, dir, err, b.String())
}
