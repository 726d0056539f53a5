// Package bench is `parley bench`: llama-bench's two tests of the engine's
// speed — ppN, N prompt tokens in one batch, and tgN, N tokens generated
// one at a time — on real or random-weight models, reported as llama-bench
// reports them so the numbers compare side by side; `parley bench synth`
// writes the random-weight models.
package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"time"

	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/engine"
	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/kvcache"
	"github.com/parley-chat/parley/internal/engine/model"
	"github.com/parley-chat/parley/internal/engine/tensor"
	"github.com/parley-chat/parley/internal/modelhub"
)

// options are `parley bench`'s flags, named like llama-bench's.
type options struct {
	hub         modelhub.Config
	nPrompt     int
	nGen        int
	repetitions int
	threads     []int
	output      string
	batch       int
	kvType      tensor.Type
	mmap        bool
}

// Run is `parley bench`: it measures each model given, or with `synth` (or
// --write) writes a random-weight model.
func Run(ctx context.Context, args []string, tio cmdline.IO) error {
	tio = tio.WithDefaults()
	if len(args) > 0 && args[0] == "synth" {
		return synthCommand(args[1:], tio)
	}
	f := cmdline.NewFlags("parley bench", tio.Env)
	f.SetOutput(tio.Err)
	var o options
	var threads, parallel, url, kvType string
	var secondTurn bool
	var sy synthFlags
	o.hub.RegisterDirFlag(f)
	f.Int(&o.nPrompt, "n-prompt", 512, "prompt tokens processed in one batch (test ppN; 0 skips)")
	f.IntVar(&o.nPrompt, "p", o.nPrompt, "short for --n-prompt")
	f.Int(&o.nGen, "n-gen", 128, "tokens generated one at a time (test tgN; 0 skips)")
	f.IntVar(&o.nGen, "n", o.nGen, "short for --n-gen")
	f.Int(&o.repetitions, "repetitions", 3, "runs of each test; the table shows mean ± stddev")
	f.IntVar(&o.repetitions, "r", o.repetitions, "short for --repetitions")
	f.String(&threads, "threads", strconv.Itoa(runtime.NumCPU()), "thread counts to test, comma-separated (e.g. 1,2)")
	f.StringVar(&threads, "t", threads, "short for --threads")
	f.Int(&o.batch, "ubatch-size", 0, "prompt tokens per forward pass (0: the engine's default, which run and the server use)")
	f.IntVar(&o.batch, "ub", o.batch, "short for --ubatch-size")
	f.String(&kvType, "kv-type", kvcache.DefaultType, "storage of the KV caches: f16 (the model service's default, and llama-bench's), f32 or q8_0")
	f.Bool(&o.mmap, "mmap", false, "keep the weights in a mapping of the file, as the model service does with --mmap, instead of its default copy in huge pages")
	f.String(&parallel, "parallel", "", "concurrency mode: stream counts to test, comma-separated (e.g. 1,4,8): that many generations at once through the model service's scheduler, each an --n-prompt prompt and --n-gen tokens; reports aggregate and per-stream t/s and time to first token")
	f.String(&url, "url", "", "with --parallel: send the streams to this running server (Parley's model service, llama-server, any OpenAI-compatible server taking ignore_eos) as POST /v1/completions; MODEL is then the model name to ask for")
	f.Bool(&secondTurn, "second-turn", false, "with --url: time to first token of a chat's first turn (a user message of --n-prompt random words, --n-gen tokens of reply) and of its second turn (the same messages, the reply and a question), once per repetition; a prompt cache makes the second fast")
	f.String(&o.output, "output", "md", "result format: md (a markdown table like llama-bench's) or jsonl (one JSON object per test)")
	f.StringVar(&o.output, "o", o.output, "short for --output")
	sy.register(f)
	pos, err := f.ParseCommand(args, 0, -1, "MODEL...   (a .gguf path, a pulled model id or alias)\n       parley bench --write PATH --shape smollm2-135m --type q8_0   (write a random-weight model)")
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
		f.Usage()
		return cmdline.ErrUsage
	}
	if o.threads, err = parseThreads(threads); err != nil {
		return err
	}
	if o.kvType, err = kvcache.ParseType(kvType); err != nil {
		return fmt.Errorf("--kv-type: %w", err)
	}
	write := writeTable
	switch o.output {
	case "md":
	case "jsonl":
		write = writeJSONL
	default:
		return fmt.Errorf("--output %q: want md or jsonl", o.output)
	}
	if o.repetitions < 1 || o.nPrompt < 0 || o.nGen < 0 || o.nPrompt+o.nGen == 0 {
		return fmt.Errorf("need --repetitions >= 1 and at least one of --n-prompt, --n-gen > 0")
	}
	if secondTurn {
		if url == "" || parallel != "" || len(pos) != 1 {
			return fmt.Errorf("--second-turn needs --url, one MODEL and no --parallel")
		}
		rows, err := measureSecondTurn(ctx, url, pos[0], o, tio.Err)
		writeTurnTable(tio.Out, rows)
		return err
	}
	if url != "" && parallel == "" {
		return fmt.Errorf("--url needs --parallel or --second-turn")
	}
	if parallel != "" {
		streams, err := parseParallel(parallel)
		if err != nil {
			return err
		}
		if o.nGen < 1 {
			return fmt.Errorf("--parallel needs --n-gen >= 1")
		}
		writeP := writeParallelTable
		if o.output == "jsonl" {
			writeP = writeParallelJSONL
		}
		var rows []parRow
		for _, ref := range pos {
			var r []parRow
			var err error
			if url != "" {
				r, err = measureServer(ctx, url, ref, o, streams, tio.Err)
			} else {
				path, rerr := modelhub.Resolve(o.hub.Dir, ref)
				if rerr != nil {
					return rerr
				}
				r, err = measureParallel(ctx, path, o, streams, tio.Err)
			}
			rows = append(rows, r...)
			if err != nil {
				writeP(tio.Out, rows)
				return err
			}
		}
		writeP(tio.Out, rows)
		return nil
	}
	var rows []row
	for _, ref := range pos {
		path, err := modelhub.Resolve(o.hub.Dir, ref)
		if err != nil {
			return err
		}
		r, err := measureModel(ctx, path, o, tio.Err)
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
	for _, part := range cmdline.SplitList(s) {
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

// measureModel runs llama-bench's two tests for each thread count: ppN
// (N prompt tokens in one batch into an empty cache) and tgN (N tokens one
// at a time from an empty cache), with random token ids as llama-bench
// uses, after one warm-up pass.
func measureModel(ctx context.Context, path string, o options, log io.Writer) ([]row, error) {
	f, err := gguf.OpenIn(path, engine.Options{Mmap: o.mmap}.Residence())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d := model.Describe(f)
	var rows []row
	for _, threads := range o.threads {
		resetPeakRSS()
		pool := tensor.NewPool(threads)
		res, err := measureThreads(ctx, f, pool, o, log, modelhub.ModelID(path))
		pool.Close()
		peak := peakRSS()
		for _, r := range res {
			r.file, r.model, r.size, r.params, r.threads, r.peakRSS = path, d.Name, d.Size, d.Params, threads, peak
			r.mapped = f.Residence() == gguf.Mapped
			rows = append(rows, r)
		}
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

func measureThreads(ctx context.Context, f *gguf.File, pool *tensor.Pool, o options, log io.Writer, name string) ([]row, error) {
	net, err := model.New(f, model.Options{Pool: pool, BatchSize: o.batch, KVType: o.kvType})
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
	var rows []row
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
		rows = append(rows, row{test: fmt.Sprintf("%s%d", test.name, test.n), n: test.n, samples: rates, mean: mean, stddev: sd})
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
