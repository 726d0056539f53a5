package chattemplate

import (
	"fmt"

	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/tokenizer"
)

// MetadataFromGGUF gathers what ForModel needs from a model file: the
// template, names, and the BOS/EOS texts and vocabulary (with llama.cpp's
// default ids when the file names none).
func MetadataFromGGUF(f *gguf.File) (Metadata, error) {
	v, err := tokenizer.VocabFromGGUF(f)
	if err != nil {
		return Metadata{}, fmt.Errorf("chattemplate: %w", err)
	}
	m := Metadata{Arch: f.Architecture()}
	m.Template, _ = f.String("tokenizer.chat_template")
	m.Name, _ = f.String("general.name")
	text := func(id int) string {
		if id < 0 || id >= len(v.Tokens) {
			return ""
		}
		return v.Tokens[id]
	}
	m.BOS, m.EOS = text(v.BOS), text(v.EOS)
	set := make(map[string]struct{}, len(v.Tokens))
	for _, s := range v.Tokens {
		set[s] = struct{}{}
	}
	m.HasToken = func(s string) bool { _, ok := set[s]; return ok }
	return m, nil
}

// FromGGUF is ForModel over MetadataFromGGUF.
func FromGGUF(f *gguf.File, opts ...Option) (*Template, error) {
	m, err := MetadataFromGGUF(f)
	if err != nil {
		return nil, err
	}
	return ForModel(m, opts...)
}
