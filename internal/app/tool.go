package app

import (
	"context"
	"fmt"

	"github.com/parley-chat/parley/internal/cmdline"
	"github.com/parley-chat/parley/internal/engine/bench"
	"github.com/parley-chat/parley/internal/modelcli"
)

// Tool runs one of the built-in engine's terminal commands: pull, models,
// run or bench.
func Tool(ctx context.Context, cmd string, args []string, tio cmdline.IO) error {
	switch cmd {
	case "pull":
		return modelcli.Pull(ctx, args, tio)
	case "models":
		return modelcli.Models(ctx, args, tio)
	case "run":
		return modelcli.Run(ctx, args, tio)
	case "bench":
		return bench.Run(ctx, args, tio)
	default:
		return fmt.Errorf("unknown engine command %q", cmd)
	}
}
