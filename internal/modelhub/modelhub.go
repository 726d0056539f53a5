// Package modelhub is where model files live on disk: the small built-in
// catalogue of aliases, resolving a reference (alias, Hugging Face
// org/repo/file.gguf, or a local path) to a file, downloading with resume
// and sha256 verification, and listing what is there. It knows nothing
// about what is inside a GGUF file.
package modelhub

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Entry is a catalogue model.
type Entry struct {
	Alias string
	// Repo and File locate it on Hugging Face.
	Repo, File string
	// SHA256 is the expected digest; "" means use what the server
	// announces (Hugging Face's X-Linked-Etag) and record it.
	SHA256 string
	// Size is approximate, for the listing.
	Size        string
	Description string
}

// Catalogue is the list of short aliases `parley pull` knows.
var catalogue = []Entry{
	{Alias: "qwen2.5-0.5b", Repo: "Qwen/Qwen2.5-0.5B-Instruct-GGUF", File: "qwen2.5-0.5b-instruct-q4_k_m.gguf", Size: "398 MB", Description: "Qwen2.5 0.5B Instruct, Q4_K_M: the default chat model"},
	{Alias: "smollm2-135m", Repo: "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF", File: "smollm2-135m-instruct-q8_0.gguf", Size: "145 MB", Description: "SmolLM2 135M Instruct, Q8_0: tiny and fast"},
	{Alias: "smollm2-360m", Repo: "HuggingFaceTB/SmolLM2-360M-Instruct-GGUF", File: "smollm2-360m-instruct-q8_0.gguf", Size: "386 MB", Description: "SmolLM2 360M Instruct, Q8_0"},
	{Alias: "qwen2.5-1.5b", Repo: "Qwen/Qwen2.5-1.5B-Instruct-GGUF", File: "qwen2.5-1.5b-instruct-q4_k_m.gguf", Size: "1.1 GB", Description: "Qwen2.5 1.5B Instruct, Q4_K_M"},
	{Alias: "llama3.2-1b", Repo: "bartowski/Llama-3.2-1B-Instruct-GGUF", File: "Llama-3.2-1B-Instruct-Q4_K_M.gguf", Size: "808 MB", Description: "Llama 3.2 1B Instruct, Q4_K_M"},
	{Alias: "tinyllama-1.1b", Repo: "TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF", File: "tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf", Size: "669 MB", Description: "TinyLlama 1.1B Chat, Q4_K_M"},
}

// DefaultAlias is the model `parley serve` pulls on first start.
const DefaultAlias = "qwen2.5-0.5b"

// DefaultDir is where pulled models live unless PARLEY_MODELS_DIR says
// otherwise: ~/.parley/models.
func DefaultDir() string {
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".parley", "models")
	}
	return filepath.Join(".parley", "models")
}

// Catalogue returns the built-in aliases.
func Catalogue() []Entry { return append([]Entry(nil), catalogue...) }

// Lookup finds a catalogue alias (case-insensitive).
func Lookup(alias string) (Entry, bool) {
	for _, e := range catalogue {
		if strings.EqualFold(e.Alias, alias) {
			return e, true
		}
	}
	return Entry{}, false
}

// Ref is a resolved reference to a remote model file.
type Ref struct {
	Repo, File string
	SHA256     string
}

// URL is where the file is downloaded from.
func (r Ref) URL(base string) string {
	return strings.TrimRight(base, "/") + "/" + r.Repo + "/resolve/main/" + r.File
}

// LocalName is the file's name in the models directory.
func (r Ref) LocalName() string { return r.File }

// ParseRef turns an alias or "org/repo/file.gguf" into a Ref.
func ParseRef(s string) (Ref, error) {
	if e, ok := Lookup(s); ok {
		return Ref{Repo: e.Repo, File: e.File, SHA256: e.SHA256}, nil
	}
	s = strings.TrimPrefix(s, "hf://")
	s = strings.TrimPrefix(s, "https://huggingface.co/")
	parts := strings.Split(s, "/")
	if len(parts) == 5 && parts[2] == "resolve" { // org/repo/resolve/main/file
		parts = []string{parts[0], parts[1], parts[4]}
	}
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || !strings.HasSuffix(strings.ToLower(parts[2]), ".gguf") {
		return Ref{}, fmt.Errorf("%q is neither a catalogue alias (%s) nor a Hugging Face file org/repo/file.gguf", s, aliases())
	}
	for _, p := range parts {
		if p == "." || p == ".." || strings.ContainsAny(p, `\`) {
			return Ref{}, fmt.Errorf("%q: invalid path element %q", s, p)
		}
	}
	return Ref{Repo: parts[0] + "/" + parts[1], File: parts[2]}, nil
}

func aliases() string {
	names := make([]string, len(catalogue))
	for i, e := range catalogue {
		names[i] = e.Alias
	}
	return strings.Join(names, ", ")
}

// Local is a model file found in the models directory.
type Local struct {
	Name    string // file name without .gguf: the model id
	Path    string
	Size    int64
	ModTime time.Time
	SHA256  string // from the sidecar written at pull time, if any
}

// List returns the .gguf files in dir, sorted by name. A missing dir is an
// empty list.
func List(dir string) ([]Local, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list models in %s: %w", dir, err)
	}
	var out []Local
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".gguf") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		p := filepath.Join(dir, e.Name())
		sum, _ := os.ReadFile(p + ".sha256")
		out = append(out, Local{Name: ModelID(p), Path: p, Size: info.Size(), ModTime: info.ModTime(),
			SHA256: strings.TrimSpace(string(sum))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ModelID is the id a model file is served under: its file name without
// the .gguf extension.
func ModelID(path string) string {
	return strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
}

// Resolve finds a model file for s: an existing path, a model id or alias
// already in dir. It does not download; its error says what there is and
// how to get what is missing.
func Resolve(dir, s string) (string, error) {
	if st, err := os.Stat(s); err == nil && !st.IsDir() {
		return s, nil
	}
	name := s
	ref, refErr := ParseRef(s)
	if refErr == nil {
		name = ref.LocalName()
	}
	for _, cand := range []string{name, name + ".gguf"} {
		p := filepath.Join(dir, cand)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	if refErr == nil {
		return "", fmt.Errorf("model %q is not in %s yet (get it with `parley pull %s`)", s, dir, s)
	}
	if looksLikePath(s) {
		return "", fmt.Errorf("model file %s not found", s)
	}
	return "", fmt.Errorf("model %q not found: no such file, and %s; %s", s, holds(dir), HowToGet)
}

// HowToGet says the ways to put a model into the models directory.
const HowToGet = "get one with `parley pull ALIAS` (`parley models --catalogue` lists the aliases), " +
	"`parley pull org/repo/file.gguf` from Hugging Face, or `parley pull ./file.gguf` for a file you have"

// holds describes what the models directory has: "/x holds a, b".
func holds(dir string) string {
	models, _ := List(dir)
	if len(models) == 0 {
		return dir + " holds no models yet"
	}
	names := make([]string, len(models))
	for i, m := range models {
		names[i] = m.Name
	}
	return dir + " holds only " + strings.Join(names, ", ")
}

// looksLikePath reports whether s names a file rather than a model id or
// alias: it has a directory in it or the .gguf extension.
func looksLikePath(s string) bool {
	return strings.ContainsRune(s, '/') || strings.ContainsRune(s, filepath.Separator) ||
		strings.EqualFold(filepath.Ext(s), ".gguf")
}
