package modelcli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/parley-chat/parley/internal/cmdline"
)

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
	if !r.chat {
		mode = "raw text (each line continues the text so far, as typed)"
	}
	fmt.Fprintf(tio.Err, "%s: %s. /bye or Ctrl-D exits, Ctrl-C stops a reply.\n", r.gen.ID(), mode)
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
			r.clear()
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
		if !r.chat { // raw text continues exactly as typed
			input = strings.TrimRight(in.Text(), "\r")
		}
		err := r.reply(genCtx, input, tio.Out)
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
