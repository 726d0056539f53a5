// Package web is the web service: Parley's chat UI. It serves one HTML app
// shell (for / and every /c/{id} so reloads and shared links work), the
// static ES modules and CSS it needs (embedded, gzip'd, ETag'd), and hands
// /api/, /v1/ and /chat to the api — the api handler itself in serve mode, or
// a reverse proxy to the api service in split mode (NewAPIProxy).
//
// The UI renders everything from model and user text with DOM APIs, never
// with innerHTML, and the page runs under a strict Content-Security-Policy
// (no inline scripts or styles), so nothing a model writes can execute.
package web

import (
	"embed"
	"fmt"
	"html"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	"github.com/parley-chat/parley/internal/guard"
	"github.com/parley-chat/parley/internal/httpx"
)

//go:embed static
var staticFS embed.FS

//go:embed templates/index.html
var indexTemplate string

// Config holds the web service's settings.
type Config struct {
	// Title is the product name shown in the page title and header;
	// "Parley" when empty.
	Title string
}

// ContentSecurityPolicy is sent with every page and asset. The UI loads
// nothing from other origins and uses no inline script or style, so
// 'self' is all it needs; frame-ancestors forbids framing (clickjacking).
const ContentSecurityPolicy = guard.ContentSecurityPolicy

// AssetPrefix is the URL path under which static files are served; the
// next path element is a version derived from their content.
const AssetPrefix = "/assets/"

// server is the web service's handler state: all of it computed in New and
// never changed after, so requests share it without locks.
type server struct {
	api    http.Handler
	log    *slog.Logger
	assets *assetSet
	shell  *asset
}

// New returns the web service's handler: the UI, plus /api/, /v1/ and /chat
// forwarded to api. It panics if the embedded files are broken, which only a
// bad build can cause (and the package's tests catch).
func New(cfg Config, api http.Handler, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s, err := newServer(cfg, api, log)
	if err != nil {
		panic(fmt.Sprintf("web: %v", err))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.serveShell)
	mux.HandleFunc("GET /c/{id}", s.serveShell)
	mux.HandleFunc("GET "+AssetPrefix+"{version}/{file...}", s.serveAsset)
	mux.HandleFunc("GET /favicon.ico", s.serveFavicon)
	mux.Handle("/api/", api)
	mux.Handle("/v1/", api)
	mux.Handle("/chat", api)
	mux.HandleFunc("/", s.notFound)
	return mux
}

func newServer(cfg Config, api http.Handler, log *slog.Logger) (*server, error) {
	if cfg.Title == "" {
		cfg.Title = "Parley"
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("static files: %w", err)
	}
	assets, err := loadAssets(sub)
	if err != nil {
		return nil, err
	}
	page, err := renderShell(indexTemplate, cfg.Title, AssetPrefix+assets.version+"/")
	if err != nil {
		return nil, err
	}
	shell, err := newAsset("index.html", page)
	if err != nil {
		return nil, err
	}
	return &server{api: api, log: log, assets: assets, shell: shell}, nil
}

// renderShell fills the page's two placeholders, once at start: the title,
// escaped for where it appears (element text and a quoted attribute), and
// the asset path, our own prefix and a hex digest. This is not html/template
// on purpose: its reflective method calls make the linker keep every
// exported method of every type in the binary (9 MB of the 36 a build had,
// go-redis's command methods alone 3.5), and the kernel maps code around
// each page a process runs, so every service carried a part of it resident.
func renderShell(tmpl, title, assets string) ([]byte, error) {
	rest := strings.NewReplacer("{{.Title}}", "", "{{.Assets}}", "").Replace(tmpl)
	if i := strings.Index(rest, "{{"); i >= 0 {
		return nil, fmt.Errorf("page template: unknown placeholder at %q", rest[i:min(i+40, len(rest))])
	}
	return []byte(strings.NewReplacer("{{.Title}}", html.EscapeString(title), "{{.Assets}}", assets).Replace(tmpl)), nil
}

// setSecurityHeaders applies to everything the UI itself serves; the api's
// answers carry their own headers.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

func (s *server) serveShell(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	// The shell names versioned assets, so it must be revalidated on each
	// load to pick up a new deploy; its ETag makes that a 304.
	s.shell.serve(w, r, "no-cache")
}

func (s *server) serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := s.assets.files[r.PathValue("file")]
	if !ok {
		s.notFound(w, r)
		return
	}
	setSecurityHeaders(w.Header())
	cache := "public, max-age=31536000, immutable"
	if r.PathValue("version") != s.assets.version {
		// An old or made-up version gets today's file, which must not be
		// cached under that name for long.
		cache = "no-cache"
	}
	a.serve(w, r, cache)
}

func (s *server) serveFavicon(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	s.assets.files["icon.svg"].serve(w, r, "public, max-age=86400")
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	httpx.NotFound(s.log).ServeHTTP(w, r)
}
