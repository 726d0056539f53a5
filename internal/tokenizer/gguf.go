package tokenizer

import (
	"fmt"

	"github.com/parley-chat/parley/internal/engine/gguf"
)

// FromGGUF builds the tokenizer stored in a model file's tokenizer.ggml.*
// keys.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	v, err := VocabFromGGUF(f)
	if err != nil {
		return nil, err
	}
	return New(v)
}

// VocabFromGGUF reads the tokenizer.ggml.* keys, applying llama.cpp's
// defaults for the ones a file leaves out (an SPM vocabulary adds BOS and a
// leading space unless told otherwise). The slices are shared with f's
// decoded metadata: read them, do not modify them.
func VocabFromGGUF(f *gguf.File) (Vocab, error) {
	var v Vocab
	model, ok := f.String("tokenizer.ggml.model")
	if !ok {
		return v, fmt.Errorf("tokenizer: gguf has no tokenizer.ggml.model")
	}
	v.Model = model
	v.Pre, _ = f.String("tokenizer.ggml.pre")
	v.ModelName, _ = f.String("general.name")
	tokens, ok := f.Strings("tokenizer.ggml.tokens")
	if !ok || len(tokens) == 0 {
		return v, fmt.Errorf("tokenizer: gguf has no tokenizer.ggml.tokens")
	}
	v.Tokens = tokens
	if s, ok := f.Float32s("tokenizer.ggml.scores"); ok {
		v.Scores = s
	} else if is, ok := f.Int32s("tokenizer.ggml.scores"); ok {
		v.Scores = make([]float32, len(is))
		for i, x := range is {
			v.Scores[i] = float32(x)
		}
	}
	v.Types, _ = f.Int32s("tokenizer.ggml.token_type")
	v.Merges, _ = f.Strings("tokenizer.ggml.merges")

	v.BOS, v.EOS, v.EOT, v.EOM, v.UNK, v.PAD = NoToken, NoToken, NoToken, NoToken, NoToken, NoToken
	switch model {
	case ModelSPM:
		v.BOS, v.EOS, v.UNK = 1, 2, 0
		v.AddBOS, v.AddSpacePrefix = true, true
	case ModelBPE:
		if v.Merges == nil {
			return v, fmt.Errorf("tokenizer: gguf has no tokenizer.ggml.merges")
		}
		v.BOS, v.EOS = 11, 11
		spec, err := preSpecFor(v.Pre)
		if err != nil {
			return v, err
		}
		v.AddBOS = spec.addBOS
	default:
		return v, fmt.Errorf("tokenizer: unsupported tokenizer.ggml.model %q", model)
	}
	if b, ok := f.Bool("tokenizer.ggml.add_space_prefix"); ok {
		v.AddSpacePrefix = b
	}
	n := uint64(len(v.Tokens))
	for _, k := range []struct {
		key string
		id  *int
	}{
		{"tokenizer.ggml.bos_token_id", &v.BOS},
		{"tokenizer.ggml.eos_token_id", &v.EOS},
		{"tokenizer.ggml.eot_token_id", &v.EOT},
		{"tokenizer.ggml.eom_token_id", &v.EOM},
		{"tokenizer.ggml.unknown_token_id", &v.UNK},
		{"tokenizer.ggml.padding_token_id", &v.PAD},
	} {
		if id, ok := f.Uint(k.key); ok && id < n {
			*k.id = int(id)
		}
	}
	if b, ok := f.Bool("tokenizer.ggml.add_bos_token"); ok {
		v.AddBOS = b
	}
	if b, ok := f.Bool("tokenizer.ggml.add_eos_token"); ok {
		v.AddEOS = b
	}
	if v.AddBOS && (v.BOS < 0 || uint64(v.BOS) >= n) {
		return v, fmt.Errorf("tokenizer: add_bos_token is set but there is no BOS token")
	}
	if v.AddEOS && (v.EOS < 0 || uint64(v.EOS) >= n) {
		return v, fmt.Errorf("tokenizer: add_eos_token is set but there is no EOS token")
	}
	return v, nil
}
