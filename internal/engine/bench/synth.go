package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/synth"
	"github.com/parley-chat/parley/internal/engine/tensor"
)

// synthFlags are the flags that write a random-weight model.
type synthFlags struct {
	path, shape, typ, vocab, from string
	seed                          int64
}

func (s *synthFlags) register(f *cmdline.Flags) {
	f.StringVar(&s.path, "write", "", "write a random-weight GGUF model to this path (see --shape, --type)")
	f.StringVar(&s.shape, "shape", "smollm2-135m", "shape of the written model: "+shapeNames())
	f.StringVar(&s.typ, "type", "q8_0", "weight type of the written model: f32, f16, q8_0, q4_0, q4_k (Q4_K_M), q6_k")
	f.Int64Var(&s.seed, "seed", 1, "random seed of the written weights")
	f.StringVar(&s.vocab, "vocab", "", "take the tokenizer from this GGUF file (a model or a vocabulary-only file) instead of a synthetic one")
	f.StringVar(&s.from, "from", "", "instead of random weights, convert this F32/F16 model to --type as llama-quantize does (--shape, --seed and --vocab are not used)")
}

func shapeNames() string {
	var names []string
	for _, s := range synth.Shapes() {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

func (s *synthFlags) write(log io.Writer) error {
	typ, err := tensor.ParseType(s.typ)
	if err != nil {
		return err
	}
	start := time.Now()
	var what string
	var emit func(io.Writer) error
	if s.from != "" {
		src, err := gguf.Open(s.from)
		if err != nil {
			return err
		}
		defer src.Close()
		meta, ts, err := synth.Quantize(src, typ)
		if err != nil {
			return err
		}
		var size int
		for _, t := range ts {
			size += len(t.Data)
		}
		what = fmt.Sprintf("%s as %v, %.2f MiB of tensors", s.from, typ, float64(size)/(1<<20))
		emit = func(w io.Writer) error { return gguf.Write(w, meta, ts) }
	} else {
		shape, err := synth.LookupShape(s.shape)
		if err != nil {
			return err
		}
		o := synth.Options{Shape: shape, Type: typ, Seed: uint64(s.seed)}
		if s.vocab != "" {
			if o.Vocab, err = readVocab(s.vocab); err != nil {
				return err
			}
		}
		what = fmt.Sprintf("%s %v, random weights, %.2f MiB of tensors", shape.Name, typ, float64(synth.Size(o))/(1<<20))
		emit = func(w io.Writer) error { return synth.Write(w, o) }
	}
	out, err := os.Create(s.path)
	if err != nil {
		return fmt.Errorf("write synthetic model: %w", err)
	}
	werr := emit(out)
	if cerr := out.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(s.path)
		return werr
	}
	fmt.Fprintf(log, "wrote %s: %s, in %v\n", s.path, what, time.Since(start).Round(time.Millisecond))
	return nil
}

func readVocab(path string) ([]gguf.KV, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return synth.VocabFrom(f)
}

// synthCommand is `parley bench synth --write PATH ...`.
func synthCommand(args []string, tio cmdline.IO) error {
	f := cmdline.NewFlags("parley bench synth", tio.Env)
	f.SetOutput(tio.Err)
	var sy synthFlags
	sy.register(f)
	pos, err := f.ParseCommand(args, 0, 1, "[PATH]   (or --write PATH)")
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		sy.path = pos[0]
	}
	if sy.path == "" {
		f.Usage()
		return cmdline.ErrUsage
	}
	return sy.write(tio.Err)
}
