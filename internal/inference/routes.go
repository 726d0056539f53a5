package inference

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/openai"
)

// Routes turns each of c.URLs into a route over an OpenAI client of that
// model service. "NAME=URL" (or "A|B=URL") pins the model names served
// there; a plain URL is asked which models it serves. Model names may hold
// "/" and URLs "=" (in a query), so the form is told by what follows the
// first "=": an http(s) URL.
func (c RouterConfig) Routes() []Route {
	routes := make([]Route, 0, len(c.URLs))
	for _, raw := range c.URLs {
		var models []string
		if names, u, ok := strings.Cut(raw, "="); ok && names != "" && isHTTPURL(u) {
			for _, m := range strings.Split(names, "|") {
				if m = strings.TrimSpace(m); m != "" {
					models = append(models, m)
				}
			}
			raw = u
		}
		// httpx.Transport sends the request id along.
		gen := openai.NewClient(raw, c.Key, &http.Client{Transport: httpx.Transport(openai.NewTransport(0))})
		routes = append(routes, Route{Name: raw, Models: models, Gen: gen})
	}
	return routes
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
