// Package obs is Parley's observability room: how logs are written (and,
// later, metrics and traces). It decides formats, not what is logged.
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

// NewLogger returns a logger writing to w as cfg says.
func NewLogger(w io.Writer, cfg LogConfig) (*slog.Logger, error) {
	def := cmdline.Defaults((*LogConfig).RegisterFlags)
	var level slog.Level
	if err := level.UnmarshalText([]byte(orDefault(cfg.Level, def.Level))); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", cfg.Level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(orDefault(cfg.Format, def.Format)) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "auto":
		if cmdline.IsTerminal(w) {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log format %q: want auto, text or json", cfg.Format)
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
