package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// ServerConfig holds the address and timeouts of an HTTP server. Write
// timeouts are deliberately absent: a streamed reply may run for minutes.
type ServerConfig struct {
	// Addr is where the server listens (host:port); Serve is handed a
	// listener instead.
	Addr              string
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	// ShutdownTimeout is how long a graceful shutdown waits for running
	// requests before closing them.
	ShutdownTimeout time.Duration
}

// finalWriteGrace is how long requests may still run after beforeShutdown
// used up the whole shutdown timeout.
const finalWriteGrace = time.Second

// Serve serves h on ln until ctx is cancelled, then shuts down gracefully:
// it stops accepting, lets running requests finish for up to
// ShutdownTimeout, and then closes what is left. beforeShutdown, if not nil,
// runs first with the same deadline, so owners of long-running work (replies
// being generated) can end it cleanly while the server still answers.
// From the moment ctx is cancelled GET /readyz answers 503 (draining),
// whatever h would say, so that a load balancer stops sending new work
// while the running work finishes.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, cfg ServerConfig, log *slog.Logger, beforeShutdown func(context.Context)) error {
	if cfg.ReadHeaderTimeout <= 0 {
		cfg.ReadHeaderTimeout = 10 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 120 * time.Second
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultServerConfig("").ShutdownTimeout
	}
	var draining atomic.Bool
	srv := &http.Server{
		Handler:           notReadyWhileDraining(h, &draining),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	draining.Store(true)
	log.Info("shutting down", "addr", ln.Addr().String(), "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if beforeShutdown != nil {
		beforeShutdown(sctx)
		// The work it ended may still be telling its clients so (a reply
		// stream's final event); a moment more lets that reach them.
		if sctx.Err() != nil {
			var graceCancel context.CancelFunc
			sctx, graceCancel = context.WithTimeout(context.WithoutCancel(ctx), finalWriteGrace)
			defer graceCancel()
		}
	}
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", ln.Addr(), serr)
	}
	return err
}

// notReadyWhileDraining answers the readiness probe (see Health) 503 once
// draining is set, and passes everything else to h.
func notReadyWhileDraining(h http.Handler, draining *atomic.Bool) http.Handler {
	return &drainGate{h: h, draining: draining}
}

type drainGate struct {
	h        http.Handler
	draining *atomic.Bool
}

func (g *drainGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == ReadyPath && g.draining.Load() {
		answerDraining(w)
		return
	}
	g.h.ServeHTTP(w, r)
}

// answerDraining is the readiness probe's answer while draining; apart,
// so that its map is not in the frame under every request.
func answerDraining(w http.ResponseWriter) {
	WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
}
