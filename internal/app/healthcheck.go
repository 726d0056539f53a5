package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Healthcheck is `parley healthcheck`: it exits cleanly if the service on
// this machine answers /healthz. Container images have no curl; their
// HEALTHCHECK runs this.
func Healthcheck(ctx context.Context, args []string, env func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := env("PARLEY_ADDR")
	if addr == "" {
		addr = defaultAddr(TargetServe)
	}
	url := fs.String("url", "", "URL to check (default: /healthz on 127.0.0.1 at the port of env PARLEY_ADDR)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for an answer")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return ErrUsage
	}
	if *url == "" {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("PARLEY_ADDR %q: %w", addr, err)
		}
		*url = "http://127.0.0.1:" + port + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", *url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", *url, resp.StatusCode)
	}
	return nil
}
