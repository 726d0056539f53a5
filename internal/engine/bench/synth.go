package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/engine/synth"
	"github.com/parley-chat/parley/internal/engine/tensor"
)

// synthFlags are the flags that write a random-weight model.
type synthFlags struct {
	path, shape, typ string
	seed             int64
}

func (s *synthFlags) register(f *cmdline.Flags) {
	f.StringVar(&s.path, "write", "", "write a random-weight GGUF model to this path (see --shape, --type)")
	f.StringVar(&s.shape, "shape", "smollm2-135m", "shape of the written model: "+shapeNames())
	f.StringVar(&s.typ, "type", "q8_0", "weight type of the written model: f32, f16, q8_0, q4_0, q4_k")
	f.Int64Var(&s.seed, "seed", 1, "random seed of the written weights")
}

func shapeNames() string {
	var names []string
	for _, s := range synth.Shapes() {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

func (s *synthFlags) write(log io.Writer) error {
	shape, err := synth.LookupShape(s.shape)
	if err != nil {
		return err
	}
	typ, err := tensor.ParseType(s.typ)
	if err != nil {
		return err
	}
	o := synth.Options{Shape: shape, Type: typ, Seed: uint64(s.seed)}
	start := time.Now()
	out, err := os.Create(s.path)
	if err != nil {
		return fmt.Errorf("write synthetic model: %w", err)
	}
	werr := synth.Write(out, o)
	if cerr := out.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(s.path)
		return werr
	}
	fmt.Fprintf(log, "wrote %s: %s %v, random weights, %.2f MiB of tensors, in %v\n",
		s.path, shape.Name, typ, float64(synth.Size(o))/(1<<20), time.Since(start).Round(time.Millisecond))
	return nil
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
