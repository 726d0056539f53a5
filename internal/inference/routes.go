package inference

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/openai"
)

// target is one --model-url: the URL and the model names pinned to it.
type target struct {
	url    string
	models []string
}

// targetOf reads "NAME=URL" (or "A|B=URL"), which pins the model names
// served there, or a plain URL, which is asked which models it serves.
// Model names may hold "/" and URLs "=" (in a query), so the form is told
// by what follows the first "=": an http(s) URL.
func targetOf(raw string) target {
	names, u, ok := strings.Cut(raw, "=")
	if !ok || names == "" || !isHTTPURL(u) {
		return target{url: raw}
	}
	var models []string
	for _, m := range strings.Split(names, "|") {
		if m = strings.TrimSpace(m); m != "" {
			models = append(models, m)
		}
	}
	return target{url: u, models: models}
}

// name is how logs and /readyz show the target: its URL without a
// password.
func (t target) name() string {
	if u, err := url.Parse(t.url); err == nil {
		return u.Redacted()
	}
	return t.url
}

// client returns an OpenAI client of the model service at t.url; addr,
// when set, is the address it connects to instead of the URL's host,
// whose name still goes in the Host header and TLS.
func (c RouterConfig) client(t target, addr string) *openai.Client {
	tr := openai.NewTransport(0)
	if addr != "" {
		dial := tr.DialContext
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dial(ctx, network, addr)
		}
	}
	// httpx.Transport sends the request id along.
	return openai.NewClient(t.url, c.Key, &http.Client{Transport: httpx.Transport(tr)})
}

// Routes turns each of c.URLs into a route over an OpenAI client of that
// model service (see targetOf for the pinning forms).
func (c RouterConfig) Routes() []Route {
	routes := make([]Route, 0, len(c.URLs))
	for _, raw := range c.URLs {
		t := targetOf(raw)
		routes = append(routes, Route{Name: t.name(), Models: t.models, Gen: c.client(t, "")})
	}
	return routes
}

// NewRouter returns the api's router over c.URLs: one route per URL, or,
// with c.Resolve, one per address the URLs' host names resolve to, found
// again at every discovery.
func (c RouterConfig) NewRouter(log *slog.Logger) *Router {
	if !c.Resolve {
		return NewRouter(c.Routes(), c, log)
	}
	lookup := c.Lookup
	if lookup == nil {
		lookup = net.DefaultResolver.LookupHost
	}
	res := &resolver{cfg: c, lookup: lookup, clients: map[string]*openai.Client{}, last: map[int][]Route{}}
	for _, raw := range c.URLs {
		res.targets = append(res.targets, targetOf(raw))
	}
	r := newRouter(nil, c, log)
	r.source = res.routes
	r.forwarding = true // every route is an openai.Client
	return r
}

// resolver finds the routes of c.URLs by resolving their host names.
type resolver struct {
	cfg     RouterConfig
	lookup  func(ctx context.Context, host string) ([]string, error)
	targets []target

	mu sync.Mutex
	// clients are kept by address, so a route that stays keeps its
	// connections.
	clients map[string]*openai.Client
	// last is each target's routes at its last successful lookup: a
	// lookup that fails keeps them rather than dropping live services.
	last map[int][]Route
}

// routes resolves every target. A target whose lookup fails keeps its
// last routes; the failure is returned beside the routes.
func (res *resolver) routes(ctx context.Context) ([]Route, error) {
	res.mu.Lock()
	defer res.mu.Unlock()
	var (
		out  []Route
		errs []error
		used = map[string]bool{}
	)
	for i, t := range res.targets {
		routes, err := res.resolve(ctx, t)
		if err != nil {
			errs = append(errs, err)
			routes = res.last[i]
		} else {
			res.last[i] = routes
		}
		for _, rt := range routes {
			used[rt.key()] = true
		}
		out = append(out, routes...)
	}
	for k := range res.clients {
		if !used[k] {
			delete(res.clients, k)
		}
	}
	return out, errors.Join(errs...)
}

func (res *resolver) resolve(ctx context.Context, t target) ([]Route, error) {
	u, err := url.Parse(t.url)
	if err != nil {
		return nil, fmt.Errorf("model service URL %s: %w", t.name(), err)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	addrs, err := res.lookup(ctx, u.Hostname())
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", u.Hostname(), err)
	}
	slices.Sort(addrs)
	routes := make([]Route, 0, len(addrs))
	for _, a := range slices.Compact(addrs) {
		rt := Route{Name: t.name(), Addr: net.JoinHostPort(a, port), Models: t.models}
		c, ok := res.clients[rt.key()]
		if !ok {
			c = res.cfg.client(t, rt.Addr)
			res.clients[rt.key()] = c
		}
		rt.Gen = c
		routes = append(routes, rt)
	}
	return routes, nil
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
