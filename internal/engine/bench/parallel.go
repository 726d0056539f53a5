package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/engine"
	"github.com/parley-chat/parley/internal/engine/gguf"
	"github.com/parley-chat/parley/internal/engine/model"
	"github.com/parley-chat/parley/internal/modelhub"
)

// parRow is one line of the concurrency table: P streams at once, each a
// prompt of nPrompt tokens and nGen generated tokens, as the model
// service runs them (slots, continuous batching).
type parRow struct {
	file, model string
	threads     int
	parallel    int
	nPrompt     int
	nGen        int
	tokens      int     // generated tokens of all streams (of the last repetition)
	aggregate   float64 // generated tokens of all streams per second of the run
	perStream   float64 // mean of each stream's generated tokens per second after its first
	ttft        time.Duration
	ttftMax     time.Duration
}

func parseParallel(s string) ([]int, error) {
	var out []int
	for _, part := range cmdline.SplitList(s) {
		n, err := strconv.Atoi(part)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--parallel %q: want positive integers separated by commas", s)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--parallel: no stream count given")
	}
	return out, nil
}

// measureParallel runs, for each thread count and each stream count P,
// P generations at once through the engine's scheduler (random prompts,
// EOS ignored, greedy), after one warm-up run, and averages the
// repetitions.
func measureParallel(ctx context.Context, path string, o options, streams []int, log io.Writer) ([]parRow, error) {
	maxP := 0
	for _, p := range streams {
		maxP = max(maxP, p)
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	d := model.Describe(f)
	f.Close()
	var rows []parRow
	for _, threads := range o.threads {
		m, err := engine.Load(path, engine.Options{Threads: threads, Parallel: maxP, MaxQueue: engine.NoQueue,
			ContextLength: o.nPrompt + o.nGen + 1, BatchSize: o.batch, KVType: o.kvType, Mmap: o.mmap})
		if err != nil {
			return rows, err
		}
		if m.ContextLength() < o.nPrompt+o.nGen {
			m.Close()
			return rows, fmt.Errorf("the model's context of %d tokens is too small for these tests", m.ContextLength())
		}
		rng := rand.New(rand.NewPCG(1, 2))
		if _, err := runStreams(ctx, m, 1, min(o.nPrompt, 32), 4, rng); err != nil { // warm-up
			m.Close()
			return rows, err
		}
		for _, p := range streams {
			r, err := repeatStreams(o.repetitions, func() (parRow, error) { return runStreams(ctx, m, p, o.nPrompt, o.nGen, rng) })
			if err != nil {
				m.Close()
				return rows, err
			}
			r.file, r.model, r.threads, r.parallel, r.nPrompt, r.nGen = path, d.Name, threads, p, o.nPrompt, o.nGen
			fmt.Fprintf(log, "%s: %d streams, %d threads: %.2f t/s aggregate, %.2f t/s per stream, first token after %v\n",
				modelhub.ModelID(path), p, threads, r.aggregate, r.perStream, r.ttft.Round(time.Millisecond))
			rows = append(rows, r)
		}
		m.Close()
	}
	return rows, nil
}

// runStreams starts p generations at once and measures them.
func runStreams(ctx context.Context, m *engine.Model, p, nPrompt, nGen int, rng *rand.Rand) (parRow, error) {
	vocab := m.Config().Vocab
	prompts := make([][]int, p)
	for i := range prompts {
		prompts[i] = make([]int, max(nPrompt, 1))
		for j := range prompts[i] {
			prompts[i][j] = rng.IntN(vocab)
		}
	}
	return measureStreams(p, func(i int, token func(int)) error {
		_, err := m.Generate(ctx, prompts[i], engine.Params{MaxTokens: nGen}, func(int) error {
			token(1)
			return nil
		})
		return err
	})
}

// repeatStreams runs a stream test reps times: its tokens are the last
// run's, its speeds and mean time to first token the runs' means, its
// worst time to first token the worst of all.
func repeatStreams(reps int, run func() (parRow, error)) (parRow, error) {
	var sum parRow
	for range reps {
		r, err := run()
		if err != nil {
			return sum, err
		}
		sum.tokens = r.tokens
		sum.aggregate += r.aggregate
		sum.perStream += r.perStream
		sum.ttft += r.ttft
		sum.ttftMax = max(sum.ttftMax, r.ttftMax)
	}
	n := float64(reps)
	sum.aggregate, sum.perStream, sum.ttft = sum.aggregate/n, sum.perStream/n, sum.ttft/time.Duration(reps)
	return sum, nil
}

// generation runs generation i, calling token(n) as n more tokens arrive.
type generation func(i int, token func(n int)) error

// measureStreams runs generations 0..p-1 at once: the aggregate is their
// tokens over the wall time of all, the per-stream speed each one's tokens
// after its first over the time since that first.
func measureStreams(p int, gen generation) (parRow, error) {
	type stream struct {
		first, end time.Time
		n          int
		err        error
	}
	out := make([]stream, p)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range p {
		wg.Go(func() {
			s := &out[i]
			s.err = gen(i, func(n int) {
				if s.n == 0 && n > 0 {
					s.first = time.Now()
				}
				s.n += n
			})
			s.end = time.Now()
		})
	}
	wg.Wait()
	wall := time.Since(start)
	var r parRow
	total := 0
	for _, s := range out {
		if s.err != nil {
			return r, s.err
		}
		if s.n == 0 {
			return r, fmt.Errorf("a stream generated no tokens")
		}
		total += s.n
		ttft := s.first.Sub(start)
		r.ttft += ttft
		r.ttftMax = max(r.ttftMax, ttft)
		if d := s.end.Sub(s.first); s.n > 1 && d > 0 {
			r.perStream += float64(s.n-1) / d.Seconds()
		}
	}
	r.tokens = total
	r.aggregate = float64(total) / wall.Seconds()
	r.perStream /= float64(p)
	r.ttft /= time.Duration(p)
	return r, nil
}

// writeParallelTable writes the concurrency results as a markdown table.
func writeParallelTable(w io.Writer, rows []parRow) {
	fmt.Fprintf(w, "| %-30s | %-12s | %7s | %8s | %13s | %13s | %14s | %13s | %13s |\n",
		"model", "type", "threads", "parallel", "test", "aggregate t/s", "per-stream t/s", "TTFT mean ms", "TTFT max ms")
	fmt.Fprintf(w, "| %s | %s | %s: | %s: | %s: | %s: | %s: | %s: | %s: |\n",
		strings.Repeat("-", 30), strings.Repeat("-", 12), strings.Repeat("-", 6), strings.Repeat("-", 7), strings.Repeat("-", 12),
		strings.Repeat("-", 12), strings.Repeat("-", 13), strings.Repeat("-", 12), strings.Repeat("-", 12))
	for _, r := range rows {
		threads := "-" // a server's own
		if r.threads > 0 {
			threads = strconv.Itoa(r.threads)
		}
		fmt.Fprintf(w, "| %-30s | %-12s | %7s | %8d | %13s | %13.2f | %14.2f | %13.1f | %13.1f |\n",
			filepath.Base(r.file), r.model, threads, r.parallel, fmt.Sprintf("pp%d+tg%d", r.nPrompt, r.nGen),
			r.aggregate, r.perStream, ms(r.ttft), ms(r.ttftMax))
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// writeParallelJSONL writes one object per stream count.
func writeParallelJSONL(w io.Writer, rows []parRow) {
	enc := json.NewEncoder(w)
	for _, r := range rows {
		enc.Encode(map[string]any{
			"build_commit": "parley", "backends": "Go CPU", "model_filename": r.file, "model_type": r.model,
			"n_threads": r.threads, "n_parallel": r.parallel, "n_prompt": r.nPrompt, "n_gen": r.nGen,
			"n_tokens": r.tokens, "aggregate_ts": r.aggregate, "per_stream_ts": r.perStream,
			"ttft_mean_ms": ms(r.ttft), "ttft_max_ms": ms(r.ttftMax),
		})
	}
}
