// Package obs is Parley's observability room: how logs are written (and,
// later, metrics and traces). It decides formats, not what is logged, and
// keeps secrets out of every log line.
package obs

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/parley-chat/parley/internal/cmdline"
)

// LogConfig chooses the log format and level.
type LogConfig struct {
	// Format is "auto" (text on a terminal, JSON otherwise), "text" or
	// "json".
	Format string
	// Level is debug, info, warn or error.
	Level string
}

// NewLogger returns a logger writing to w as cfg says. Its records pass
// through NewRedactingHandler, so secrets never reach w, and carry the
// trace_id and span_id of the trace their context is in (NewTraceHandler).
func NewLogger(w io.Writer, cfg LogConfig) (*slog.Logger, error) {
	def := cmdline.Defaults((*LogConfig).RegisterFlags)
	var level slog.Level
	if err := level.UnmarshalText([]byte(orDefault(cfg.Level, def.Level))); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", cfg.Level)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch strings.ToLower(orDefault(cfg.Format, def.Format)) {
	case "json":
		h = slog.NewJSONHandler(w, opts)
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "auto":
		if cmdline.IsTerminal(w) {
			h = slog.NewTextHandler(w, opts)
		} else {
			h = slog.NewJSONHandler(w, opts)
		}
	default:
		return nil, fmt.Errorf("log format %q: want auto, text or json", cfg.Format)
	}
	return slog.New(NewTraceHandler(NewRedactingHandler(h))), nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
