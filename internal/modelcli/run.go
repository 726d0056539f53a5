package modelcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/engine"
	"github.com/parley-chat/parley/internal/inference/builtin"
	"github.com/parley-chat/parley/internal/modelhub"
)

// runOptions are `parley run`'s flags.
type runOptions struct {
	hub         modelhub.Config
	gen         builtin.Config
	maxTokens   int
	temperature float64
	topK        int
	topP        float64
	seed        int
	raw         bool
	system      string
	verbose     bool
}

// Run is `parley run MODEL [PROMPT]`: it answers PROMPT, or without one
// chats line by line (see repl), pulling MODEL first if it is a catalogue
// alias or Hugging Face file not downloaded yet.
func Run(ctx context.Context, args []string, tio cmdline.IO) error {
	tio = tio.WithDefaults()
	f := newFlags("run", tio)
	var o runOptions
	o.hub.RegisterFlags(f)
	o.gen.RegisterFlags(f)
	f.Int(&o.maxTokens, "max-tokens", 0, "cap on generated tokens per reply (0: until the model ends its turn or the context is full)")
	f.Float(&o.temperature, "temperature", builtin.DefaultTemperature, "sampling temperature (0: greedy)")
	f.Int(&o.topK, "top-k", builtin.DefaultTopK, "keep the K most likely tokens (0: off)")
	f.Float(&o.topP, "top-p", builtin.DefaultTopP, "nucleus sampling threshold (1: off)")
	f.Int(&o.seed, "seed", -1, "random seed (-1: random)")
	f.BoolVar(&o.raw, "raw", false, "no chat template: continue the prompt text as is (default for base models without a template)")
	f.String(&o.system, "system", "", "system prompt (chat models)")
	f.BoolVar(&o.verbose, "verbose", false, "print token counts and speed after each reply")
	pos, err := f.ParseCommand(args, 1, 2, `MODEL ["PROMPT"]   (MODEL: a .gguf path, a pulled model id, or a catalogue alias or org/repo/file.gguf, pulled if missing)`)
	if err != nil {
		return err
	}
	if err := errors.Join(o.hub.Validate(), o.gen.Validate()); err != nil {
		return err
	}
	path, err := resolveOrPull(ctx, o.hub, pos[0], tio.Err)
	if err != nil {
		return err
	}
	r, err := newRunner(path, o)
	if err != nil {
		return err
	}
	defer r.close()
	if len(pos) == 2 {
		err := r.reply(ctx, pos[1], tio.Out)
		fmt.Fprintln(tio.Out)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		if err == nil && o.verbose {
			r.printStats(tio.Err)
		}
		return err
	}
	return r.repl(ctx, tio)
}

// runner holds a loaded model and the conversation so far. Replies come
// from the model service's own generator, so the terminal sees exactly
// what /v1 would answer: the same template, tokenization, sampling and
// end of turn.
type runner struct {
	opts runOptions
	gen  *builtin.Generator
	chat bool // false: raw text, each input continues the transcript

	turns      []chat.Turn // chat mode
	transcript string      // raw mode: all text so far
	last       chat.Generation
	lastDur    time.Duration
	prefillDur time.Duration
}

func newRunner(path string, o runOptions) (*runner, error) {
	cfg := o.gen
	cfg.ModelPath = path
	g, err := builtin.Open(cfg)
	if err != nil {
		return nil, err
	}
	r := &runner{opts: o, gen: g, chat: !o.raw && g.Chats()}
	r.clear()
	return r, nil
}

func (r *runner) close() { r.gen.Close() }

// clear forgets the conversation but not the system prompt.
func (r *runner) clear() {
	r.turns, r.transcript = nil, ""
	if r.opts.system != "" && r.chat {
		r.turns = append(r.turns, chat.Turn{Role: chat.RoleSystem, Content: r.opts.system})
	}
}

// request is the whole conversation with input next; the engine reuses
// the cached prefix of earlier turns.
func (r *runner) request(input string) chat.GenerateRequest {
	p := chat.Params{MaxTokens: r.opts.maxTokens, Temperature: &r.opts.temperature, TopK: &r.opts.topK, TopP: &r.opts.topP,
		MinP: new(float64)} // run has no --min-p: it samples without it, unlike the service's default
	if r.opts.seed >= 0 {
		seed := int64(r.opts.seed)
		p.Seed = &seed
	}
	if !r.chat {
		return chat.GenerateRequest{Prompt: r.transcript + input, Params: p}
	}
	return chat.GenerateRequest{Params: p,
		Messages: append(slices.Clip(r.turns), chat.Turn{Role: chat.RoleUser, Content: input})}
}

// reply generates the answer to input, streaming it to out, and records
// the exchange (also when cancelled, so the conversation stays coherent).
func (r *runner) reply(ctx context.Context, input string, out io.Writer) error {
	var text strings.Builder
	start := time.Now()
	var first time.Time
	gen, err := r.gen.Generate(ctx, r.request(input), func(d chat.Delta) error {
		if first.IsZero() {
			first = time.Now()
		}
		text.WriteString(d.Content)
		_, werr := io.WriteString(out, d.Content)
		return werr
	})
	r.last, r.lastDur, r.prefillDur = gen, time.Since(start), time.Since(start)
	if !first.IsZero() {
		r.prefillDur = first.Sub(start)
	}
	if errors.Is(err, engine.ErrPromptTooLong) {
		return fmt.Errorf("the conversation no longer fits the context window of %d tokens (/clear starts again): %w", r.gen.ContextLength(), err)
	}
	if r.chat {
		r.turns = append(r.turns, chat.Turn{Role: chat.RoleUser, Content: input},
			chat.Turn{Role: chat.RoleAssistant, Content: text.String()})
	} else {
		r.transcript += input + text.String()
	}
	return err
}

func (r *runner) printStats(w io.Writer) {
	gen, n := r.lastDur-r.prefillDur, r.last.Usage.CompletionTokens
	fmt.Fprintf(w, "prompt: %d tokens in %v; generated: %d tokens in %v", r.last.Usage.PromptTokens,
		r.prefillDur.Round(time.Millisecond), n, gen.Round(time.Millisecond))
	if n > 1 && gen > 0 {
		fmt.Fprintf(w, " (%.1f tokens/s)", float64(n-1)/gen.Seconds())
	}
	fmt.Fprintf(w, "; finish: %s\n", r.last.FinishReason)
}
