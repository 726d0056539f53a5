package httpx

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// ReadyPath is the readiness probe's path. Serve answers it 503 while the
// server drains.
const ReadyPath = "/readyz"

// Check is one readiness check; nil means healthy.
type Check func(ctx context.Context) error

// HealthConfig holds the limits of the health endpoints.
type HealthConfig struct {
	// Timeout bounds all readiness checks together.
	Timeout time.Duration
	// Details are more members of /readyz's answer, by name: states
	// worth seeing (each model service of a pool) that do not decide
	// readiness themselves.
	Details map[string]func() any
}

// Health registers GET /healthz (the process answers) and GET /readyz (every
// check passes) on mux. Checks run concurrently so one slow dependency
// doesn't hide another's state.
func Health(mux *http.ServeMux, cfg HealthConfig, log *slog.Logger, checks map[string]Check) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		NoteRoute(r)
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET "+ReadyPath, func(w http.ResponseWriter, r *http.Request) {
		NoteRoute(r)
		ctx, cancel := context.WithTimeout(r.Context(), cfg.Timeout)
		defer cancel()
		results := make(map[string]string, len(checks))
		var mu sync.Mutex
		var wg sync.WaitGroup
		ok := true
		for name, check := range checks {
			wg.Go(func() {
				err := check(ctx)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					ok = false
					results[name] = "failing: " + errorSummary(err)
					log.LogAttrs(r.Context(), slog.LevelWarn, "readiness check failed",
						slog.String("check", name), slog.Any("err", err))
					return
				}
				results[name] = "ok"
			})
		}
		wg.Wait()
		answer := map[string]any{"status": "ready", "checks": results}
		for name, detail := range cfg.Details {
			answer[name] = detail()
		}
		if !ok {
			answer["status"] = "not ready"
			WriteJSON(w, http.StatusServiceUnavailable, answer)
			return
		}
		WriteJSON(w, http.StatusOK, answer)
	})
}

// errorSummary shows a check's failure without internals beyond its
// domain message.
func errorSummary(err error) string {
	return ErrorBodyOf(err).Error.Message
}
