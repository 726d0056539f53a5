package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/model"
	"github.com/parley-chat/parley/internal/engine/synth"
	"github.com/parley-chat/parley/internal/engine/tensor"
	"github.com/parley-chat/parley/internal/modelhub"
)

// benchOptions are `parley bench`'s flags, named like llama-bench's.
type benchOptions struct {
	dir         string
	nPrompt     int
	nGen        int
	repetitions int
	threads     []int
	output      string
	batch       int
}

func toolBench(ctx context.Context, args []string, tio ToolIO) error {
	if len(args) > 0 && args[0] == "synth" {
		return toolSynth(args[1:], tio)
	}
	f := newToolFlags("bench", tio)
	var o benchOptions
	var threads string
	var sy synthFlags
	f.modelsDirFlag(&o.dir)
	f.Int(&o.nPrompt, "n-prompt", 512, "prompt tokens processed in one batch (test ppN; 0 skips)")
	f.fs.IntVar(&o.nPrompt, "p", o.nPrompt, "short for --n-prompt")
	f.Int(&o.nGen, "n-gen", 128, "tokens generated one at a time (test tgN; 0 skips)")
	f.fs.IntVar(&o.nGen, "n", o.nGen, "short for --n-gen")
	f.Int(&o.repetitions, "repetitions", 3, "runs of each test; the table shows mean ± stddev")
	f.fs.IntVar(&o.repetitions, "r", o.repetitions, "short for --repetitions")
	f.String(&threads, "threads", strconv.Itoa(runtime.NumCPU()), "thread counts to test, comma-separated (e.g. 1,2)")
	f.fs.StringVar(&threads, "t", threads, "short for --threads")
	f.Int(&o.batch, "ubatch-size", 0, "prompt tokens per forward pass (0: the engine's default, as `run` and the server use)")
	f.fs.IntVar(&o.batch, "ub", o.batch, "short for --ubatch-size")
	f.String(&o.output, "output", "md", "result format: md (a markdown table like llama-bench's) or jsonl (one JSON object per test)")
	f.fs.StringVar(&o.output, "o", o.output, "short for --output")
	sy.register(f)
	pos, err := f.parse(args, 0, -1, "MODEL...   (a .gguf path, a pulled model id or alias)\n       parley bench --write PATH --shape smollm2-135m --type q8_0   (write a random-weight model)")
	if err != nil {
		return err
	}
	if sy.path != "" {
		if err := sy.write(tio.Err); err != nil {
			return err
		}
		if len(pos) == 0 {
			return nil
		}
	}
	if len(pos) == 0 {
		f.fs.Usage()
		return ErrUsage
	}
	if o.threads, err = parseThreads(threads); err != nil {
		return err
	}
	write := writeBenchTable
	switch o.output {
	case "md":
	case "jsonl":
		write = writeBenchJSONL
	default:
		return fmt.Errorf("--output %q: want md or jsonl", o.output)
	}
	if o.repetitions < 1 || o.nPrompt < 0 || o.nGen < 0 || o.nPrompt+o.nGen == 0 {
		return fmt.Errorf("need --repetitions >= 1 and at least one of --n-prompt, --n-gen > 0")
	}
	var rows []benchRow
	for _, ref := range pos {
		path, err := modelhub.Resolve(o.dir, ref)
		if err != nil {
			return err
		}
		r, err := benchModel(ctx, path, o, tio.Err)
		rows = append(rows, r...)
		if err != nil {
			write(tio.Out, rows) // what was measured before the failure
			return err
		}
	}
	write(tio.Out, rows)
	return nil
}

func parseThreads(s string) ([]int, error) {
	var out []int
	for _, part := range splitList(s) {
		n, err := strconv.Atoi(part)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--threads %q: want positive integers separated by commas", s)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--threads: no thread count given")
	}
	return out, nil
}

// benchRow is one line of the results table.
type benchRow struct {
	file    string
	model   string // "llama Q8_0"
	size    int64  // bytes of tensor data
	params  int64
	threads int
	test    string // pp512, tg128
	n       int    // tokens per run
	samples []float64
	mean    float64
	stddev  float64
	peakRSS int64 // bytes; 0 if unknown
}

// benchModel runs llama-bench's two tests for each thread count: ppN
// (N prompt tokens in one batch into an empty cache) and tgN (N tokens one
// at a time from an empty cache), with random token ids as llama-bench
// uses, after one warm-up pass.
func benchModel(ctx context.Context, path string, o benchOptions, log io.Writer) ([]benchRow, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	desc, size, params := describeModel(f)
	var rows []benchRow
	for _, threads := range o.threads {
		resetPeakRSS()
		pool := tensor.NewPool(threads)
		res, err := benchThreads(ctx, f, pool, o, log, modelhub.ModelID(path))
		pool.Close()
		peak := peakRSS()
		for _, r := range res {
			r.file, r.model, r.size, r.params, r.threads, r.peakRSS = path, desc, size, params, threads, peak
			rows = append(rows, r)
		}
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

func benchThreads(ctx context.Context, f *gguf.File, pool *tensor.Pool, o benchOptions, log io.Writer, name string) ([]benchRow, error) {
	net, err := model.New(f, model.Options{Pool: pool, BatchSize: o.batch})
	if err != nil {
		return nil, err
	}
	sess, err := net.NewSession(o.nPrompt + o.nGen + 1)
	if err != nil {
		return nil, err
	}
	if sess.Cap() < max(o.nPrompt, o.nGen) {
		return nil, fmt.Errorf("the model's context of %d tokens is too small for these tests", sess.Cap())
	}
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := net.Config.Vocab
	randTokens := func(n int) []int {
		t := make([]int, n)
		for i := range t {
			t[i] = rng.IntN(vocab)
		}
		return t
	}
	pp := func(n int) (time.Duration, error) {
		toks := randTokens(n)
		sess.Truncate(0)
		start := time.Now()
		_, err := sess.Forward(toks)
		return time.Since(start), err
	}
	tg := func(n int) (time.Duration, error) {
		sess.Truncate(0)
		start := time.Now()
		for range n {
			if err := context.Cause(ctx); err != nil {
				return 0, err
			}
			if _, err := sess.Forward([]int{rng.IntN(vocab)}); err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	}
	// Warm-up: page the weights in and size the scratch buffers.
	if o.nPrompt > 0 {
		if _, err := pp(min(o.nPrompt, 32)); err != nil {
			return nil, err
		}
	}
	if _, err := tg(1); err != nil {
		return nil, err
	}
	var rows []benchRow
	for _, test := range []struct {
		name string
		n    int
		run  func(int) (time.Duration, error)
	}{{"pp", o.nPrompt, pp}, {"tg", o.nGen, tg}} {
		if test.n == 0 {
			continue
		}
		rates := make([]float64, 0, o.repetitions)
		for range o.repetitions {
			if err := context.Cause(ctx); err != nil {
				return rows, err
			}
			d, err := test.run(test.n)
			if err != nil {
				return rows, err
			}
			rates = append(rates, float64(test.n)/d.Seconds())
		}
		mean, sd := meanStddev(rates)
		fmt.Fprintf(log, "%s: %s%d, %d threads: %.2f ± %.2f t/s\n", name, test.name, test.n, pool.Threads(), mean, sd)
		rows = append(rows, benchRow{test: fmt.Sprintf("%s%d", test.name, test.n), n: test.n, samples: rates, mean: mean, stddev: sd})
	}
	return rows, nil
}

func meanStddev(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)-1))
}

// describeModel names a model like llama-bench does ("llama Q8_0"), from
// general.file_type or else the type holding most bytes, and sums the
// tensors' bytes and elements.
func describeModel(f *gguf.File) (desc string, size, params int64) {
	byType := map[tensor.Type]int64{}
	for _, t := range f.Tensors {
		n := int64(len(f.TensorData(t)))
		size += n
		params += int64(t.Elements())
		byType[tensor.Type(t.Type)] += n
	}
	name := ""
	if ft, ok := f.Uint("general.file_type"); ok {
		name = fileTypeNames[ft]
	}
	if name == "" {
		var best tensor.Type
		for t, n := range byType {
			if n > byType[best] || (n == byType[best] && t < best) {
				best = t
			}
		}
		name = best.String()
	}
	return f.Architecture() + " " + name, size, params
}

// fileTypeNames are llama.cpp's names of general.file_type values.
var fileTypeNames = map[uint64]string{
	0: "all F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
	10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
	16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 32: "BF16",
}

func writeBenchTable(w io.Writer, rows []benchRow) {
	fmt.Fprintf(w, "| %-30s | %10s | %10s | %-7s | %7s | %13s | %20s | %10s |\n",
		"model", "size", "params", "backend", "threads", "test", "t/s", "peak RSS")
	fmt.Fprintf(w, "| %s | %s: | %s: | %s | %s: | %s: | %s: | %s: |\n",
		strings.Repeat("-", 30), strings.Repeat("-", 9), strings.Repeat("-", 9), strings.Repeat("-", 7),
		strings.Repeat("-", 6), strings.Repeat("-", 12), strings.Repeat("-", 19), strings.Repeat("-", 9))
	for _, r := range rows {
		peak := "-"
		if r.peakRSS > 0 {
			peak = fmt.Sprintf("%.1f MiB", float64(r.peakRSS)/(1<<20))
		}
		fmt.Fprintf(w, "| %-30s | %10s | %10s | %-7s | %7d | %13s | %20s | %10s |\n",
			r.model, fmt.Sprintf("%.2f MiB", float64(r.size)/(1<<20)), fmt.Sprintf("%.2f M", float64(r.params)/1e6),
			"Go CPU", r.threads, r.test, fmt.Sprintf("%.2f ± %.2f", r.mean, r.stddev), peak)
	}
}

// writeBenchJSONL writes one object per test, with llama-bench's -o jsonl
// field names where they exist.
func writeBenchJSONL(w io.Writer, rows []benchRow) {
	enc := json.NewEncoder(w)
	for _, r := range rows {
		nPrompt, nGen := r.n, 0
		if strings.HasPrefix(r.test, "tg") {
			nPrompt, nGen = 0, r.n
		}
		enc.Encode(map[string]any{
			"build_commit": "parley", "backends": "Go CPU",
			"model_filename": r.file, "model_type": r.model, "model_size": r.size, "model_n_params": r.params,
			"n_threads": r.threads, "n_prompt": nPrompt, "n_gen": nGen, "test": r.test,
			"avg_ts": r.mean, "stddev_ts": r.stddev, "samples_ts": r.samples, "peak_rss_bytes": r.peakRSS,
		})
	}
}

// peakRSS is the process's resident high-water mark (VmHWM): weights
// paged in from the mapped file count, as they do for llama.cpp.
func peakRSS() int64 {
	fh, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			fields := strings.Fields(rest)
			if len(fields) >= 1 {
				kb, _ := strconv.ParseInt(fields[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// resetPeakRSS starts a new high-water mark so each row's peak is its own
// (Linux: writing 5 to clear_refs); elsewhere the peak stays cumulative.
func resetPeakRSS() {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// synthFlags are the flags that write a random-weight model.
type synthFlags struct {
	path, shape, typ string
	seed             int64
}

func (s *synthFlags) register(f *toolFlags) {
	f.fs.StringVar(&s.path, "write", "", "write a random-weight GGUF model to this path (see --shape, --type)")
	f.fs.StringVar(&s.shape, "shape", "smollm2-135m", "shape of the written model: "+shapeNames())
	f.fs.StringVar(&s.typ, "type", "q8_0", "weight type of the written model: f32, f16, q8_0, q4_0, q4_k")
	f.fs.Int64Var(&s.seed, "seed", 1, "random seed of the written weights")
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

// toolSynth is `parley bench synth --write PATH ...`.
func toolSynth(args []string, tio ToolIO) error {
	f := newToolFlags("bench synth", tio)
	var sy synthFlags
	sy.register(f)
	pos, err := f.parse(args, 0, 1, "[PATH]   (or --write PATH)")
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		sy.path = pos[0]
	}
	if sy.path == "" {
		f.fs.Usage()
		return ErrUsage
	}
	return sy.write(tio.Err)
}
