package modelcli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/chattemplate"
	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/engine"
	"github.com/parley-chat/parley/internal/engine/sample"
	"github.com/parley-chat/parley/internal/modelhub"
	"github.com/parley-chat/parley/internal/tokenizer"
)

// runOptions are `parley run`'s flags.
type runOptions struct {
	dir         string
	endpoint    string
	maxTokens   int
	temperature float64
	topK        int
	topP        float64
	seed        int
	threads     int
	ctxLen      int
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
	modelsDirFlag(f, &o.dir)
	endpointFlag(f, &o.endpoint)
	f.Int(&o.maxTokens, "max-tokens", 0, "cap on generated tokens per reply (0: until the model ends its turn or the context is full)")
	f.Float(&o.temperature, "temperature", 0.8, "sampling temperature (0: greedy)")
	f.Int(&o.topK, "top-k", 40, "keep the K most likely tokens (0: off)")
	f.Float(&o.topP, "top-p", 0.95, "nucleus sampling threshold (1: off)")
	f.Int(&o.seed, "seed", -1, "random seed (-1: random)")
	f.Int(&o.threads, "threads", 0, "compute threads (0: all cores)")
	f.Int(&o.ctxLen, "ctx-size", 0, "context window in tokens (0: the model's, at most 4096)")
	f.BoolVar(&o.raw, "raw", false, "no chat template: continue the prompt text as is (default for base models without a template)")
	f.String(&o.system, "system", "", "system prompt (chat models)")
	f.BoolVar(&o.verbose, "verbose", false, "print token counts and speed after each reply")
	pos, err := f.ParseCommand(args, 1, 2, `MODEL ["PROMPT"]   (MODEL: a .gguf path, a pulled model id, or a catalogue alias or org/repo/file.gguf, pulled if missing)`)
	if err != nil {
		return err
	}
	path, err := resolveOrPull(ctx, o.dir, o.endpoint, pos[0], tio.Err)
	if err != nil {
		return err
	}
	r, err := newRunner(path, o)
	if err != nil {
		return err
	}
	defer r.close()
	if len(pos) == 2 {
		_, err := r.reply(ctx, pos[1], tio.Out)
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

// runner holds a loaded model and the conversation so far.
type runner struct {
	path    string
	opts    runOptions
	model   *engine.Model
	tok     *tokenizer.Tokenizer
	tmpl    *chattemplate.Template // nil in raw mode
	bosText string

	turns      []chat.Turn // chat mode
	transcript string      // raw mode: all text so far
	last       engine.Result
	lastDur    time.Duration
	prefillDur time.Duration
}

func newRunner(path string, o runOptions) (*runner, error) {
	m, err := engine.Load(path, engine.Options{Threads: o.threads, ContextLength: o.ctxLen})
	if err != nil {
		return nil, err
	}
	r := &runner{path: path, opts: o, model: m}
	if r.tok, err = tokenizer.FromGGUF(m.File()); err != nil {
		m.Close()
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	if !o.raw {
		t, err := chattemplate.FromGGUF(m.File())
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("load chat template: %w", err)
		}
		// A base model without a template has nothing to chat with: it
		// continues text.
		if !(t.IsBuiltin() && t.Family() == chattemplate.FamilyPlain) {
			r.tmpl = t
			if b := r.tok.BOS(); b >= 0 {
				r.bosText = r.tok.Text(b)
			}
		}
	}
	if o.system != "" && r.tmpl != nil {
		r.turns = append(r.turns, chat.Turn{Role: chat.RoleSystem, Content: o.system})
	}
	return r, nil
}

func (r *runner) close() { r.model.Close() }

// prompt turns the user's next input into the token ids of the whole
// conversation; the engine reuses the cached prefix of earlier turns.
func (r *runner) prompt(input string) ([]int, error) {
	if r.tmpl == nil {
		return r.tok.Encode(r.transcript+input, true, false), nil
	}
	turns := append(r.turns, chat.Turn{Role: chat.RoleUser, Content: input})
	text, err := r.tmpl.Render(turns, true)
	if err != nil {
		return nil, err
	}
	if r.tok.AddBOS() {
		text = chattemplate.TrimBOS(text, r.bosText)
	}
	return r.tok.Encode(text, true, true), nil
}

// reply generates the answer to input, streaming it to out, and records
// the exchange (also when cancelled, so the conversation stays coherent).
func (r *runner) reply(ctx context.Context, input string, out io.Writer) (string, error) {
	ids, err := r.prompt(input)
	if err != nil {
		return "", err
	}
	seed := uint64(r.opts.seed)
	if r.opts.seed < 0 {
		seed = uint64(time.Now().UnixNano())
	}
	p := engine.Params{MaxTokens: r.opts.maxTokens, Sampling: sample.Params{
		Temperature: r.opts.temperature, TopK: r.opts.topK, TopP: r.opts.topP, Seed: seed,
	}}
	dec := r.tok.NewDecoder(tokenizer.DecoderOptions{})
	var text strings.Builder
	start := time.Now()
	var first time.Time
	res, err := r.model.Generate(ctx, ids, p, func(id int) error {
		if first.IsZero() {
			first = time.Now()
		}
		s := dec.Add(id)
		text.WriteString(s)
		_, werr := io.WriteString(out, s)
		return werr
	})
	s := dec.Flush()
	text.WriteString(s)
	io.WriteString(out, s)
	r.last, r.lastDur = res, time.Since(start)
	if !first.IsZero() {
		r.prefillDur = first.Sub(start)
	}
	if errors.Is(err, engine.ErrPromptTooLong) {
		return "", fmt.Errorf("the conversation no longer fits the context window of %d tokens (/clear starts again): %w", r.model.ContextLength(), err)
	}
	if r.tmpl == nil {
		r.transcript += input + text.String()
	} else {
		r.turns = append(r.turns, chat.Turn{Role: chat.RoleUser, Content: input},
			chat.Turn{Role: chat.RoleAssistant, Content: text.String()})
	}
	return text.String(), err
}

func (r *runner) printStats(w io.Writer) {
	gen := r.lastDur - r.prefillDur
	fmt.Fprintf(w, "prompt: %d tokens in %v; generated: %d tokens in %v", r.last.PromptTokens,
		r.prefillDur.Round(time.Millisecond), r.last.GeneratedTokens, gen.Round(time.Millisecond))
	if r.last.GeneratedTokens > 1 && gen > 0 {
		fmt.Fprintf(w, " (%.1f tokens/s)", float64(r.last.GeneratedTokens-1)/gen.Seconds())
	}
	fmt.Fprintf(w, "; finish: %s\n", r.last.Finish)
}

// repl chats line by line until /bye or end of input. Ctrl-C stops the
// reply being generated, not the session, so the process-wide context is
// replaced by one this loop owns.
func (r *runner) repl(ctx context.Context, tio cmdline.IO) error {
	sigs := tio.Interrupt
	if sigs == nil {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(ch)
		sigs = ch
	}
	base := context.WithoutCancel(ctx)

	mode := "chat"
	if r.tmpl == nil {
		mode = "raw text (each line continues the text so far, as typed)"
	}
	fmt.Fprintf(tio.Err, "%s: %s. /bye or Ctrl-D exits, Ctrl-C stops a reply.\n", modelhub.ModelID(r.path), mode)
	in := bufio.NewScanner(tio.In)
	in.Buffer(make([]byte, 64<<10), 1<<20)
	for {
		fmt.Fprint(tio.Out, ">>> ")
		if !in.Scan() {
			fmt.Fprintln(tio.Out)
			return in.Err()
		}
		line := strings.TrimSpace(in.Text())
		switch {
		case line == "":
			continue
		case line == "/bye" || line == "/exit":
			return nil
		case line == "/clear":
			r.turns, r.transcript = r.turns[:0], ""
			if r.opts.system != "" && r.tmpl != nil {
				r.turns = append(r.turns, chat.Turn{Role: chat.RoleSystem, Content: r.opts.system})
			}
			fmt.Fprintln(tio.Err, "conversation cleared")
			continue
		case line == "/?" || line == "/help":
			fmt.Fprintln(tio.Err, "/clear  forget the conversation\n/bye    exit")
			continue
		}
		select { // a Ctrl-C typed at the prompt must not stop the next reply
		case <-sigs:
		default:
		}
		genCtx, cancel := context.WithCancel(base)
		done, stopped := make(chan struct{}), make(chan bool, 1)
		go func() {
			select {
			case s := <-sigs:
				cancel()
				stopped <- s == syscall.SIGTERM
			case <-done:
				stopped <- false
			}
		}()
		input := line
		if r.tmpl == nil { // raw text continues exactly as typed
			input = strings.TrimRight(in.Text(), "\r")
		}
		_, err := r.reply(genCtx, input, tio.Out)
		close(done)
		terminated := <-stopped
		cancel()
		fmt.Fprintln(tio.Out)
		if terminated {
			return nil
		}
		switch {
		case errors.Is(err, context.Canceled):
			fmt.Fprintln(tio.Err, "(stopped)")
		case err != nil:
			fmt.Fprintln(tio.Err, "error:", err)
		case r.opts.verbose:
			r.printStats(tio.Err)
		}
	}
}
