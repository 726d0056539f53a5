package browsertest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/sharedtest"
	"github.com/parley-chat/parley/internal/web"
)

// startParley starts Parley as `parley serve` does — real SQLite in a
// temp dir, the real api and model wiring with the openai backend pointed
// at upstreamURL, and the web UI — on 127.0.0.1, stopped when the test
// ends, and returns its base URL.
func startParley(t testing.TB, upstreamURL string) string {
	t.Helper()
	return startParleyWrapped(t, upstreamURL, nil)
}

// startParleyWrapped is startParley with Parley's handler wrapped by wrap
// (when not nil), for tests that break the connection on purpose.
func startParleyWrapped(t testing.TB, upstreamURL string, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	return startParleyOn(t, upstreamURL, filepath.Join(t.TempDir(), "parley.db"), wrap)
}

// startParleyOn is startParleyWrapped on the SQLite database at dbPath.
func startParleyOn(t testing.TB, upstreamURL, dbPath string, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	return startParleyWith(t, wrap, "--backend=openai", "--upstream-url="+upstreamURL, "--database="+dbPath)
}

// startStories starts Parley as startParley does, but over the built-in
// engine with the real stories260K model in a context window of ctxSize
// tokens.
func startStories(t testing.TB, ctxSize int) string {
	t.Helper()
	return startParleyWith(t, nil, "--backend=builtin", "--model="+sharedtest.Stories260K(t), "--models-dir="+t.TempDir(),
		fmt.Sprintf("--ctx-size=%d", ctxSize), "--threads=1", "--database="+filepath.Join(t.TempDir(), "parley.db"))
}

// startParleyWith starts `parley serve` with args, its handler wrapped by
// wrap (when not nil).
func startParleyWith(t testing.TB, wrap func(http.Handler) http.Handler, args ...string) string {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	var cfg app.Config
	fs, check := app.NewFlagSet(app.TargetServe, &cfg, func(string) string { return "" })
	err := fs.Parse(args)
	if err == nil {
		err = check()
	}
	if err != nil {
		t.Fatalf("serve config: %v", err)
	}
	svc, err := app.Build(t.Context(), app.TargetServe, cfg, log)
	if err != nil {
		t.Fatalf("build serve: %v", err)
	}
	h := svc.Handler
	if wrap != nil {
		h = wrap(h)
	}
	return serve(t, h, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		svc.Shutdown(ctx)
		svc.Close()
	})
}

// serveWeb serves web.New over api as the web target does in split mode
// and returns the base URL.
func serveWeb(t testing.TB, api http.Handler, stop func()) string {
	t.Helper()
	return serve(t, web.New(web.Config{}, api, slog.New(slog.DiscardHandler)), stop)
}

// serve runs h behind httpx.Middleware on 127.0.0.1 until the test ends;
// stop runs first at cleanup.
func serve(t testing.TB, h http.Handler, stop func()) string {
	t.Helper()
	srv := httptest.NewServer(httpx.Middleware(slog.New(slog.DiscardHandler), h))
	t.Cleanup(func() {
		// Running replies end first, so that their streams (and Close) do.
		if stop != nil {
			stop()
		}
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv.URL
}

// chromiumPath finds the browser, or "".
func chromiumPath() string {
	if p := os.Getenv("PARLEY_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return ""
}

// browser is one tab in a fresh headless Chromium, with everything the page
// did wrong recorded: uncaught exceptions, console errors, CSP violations
// and dialogs (an alert() from injected script would land here).
type browser struct {
	t    testing.TB
	ctx  context.Context
	base string

	mu       sync.Mutex
	problems []string
	dialogs  []string
}

type browserOpt struct {
	width, height int64
	dark          bool
}

// chromium is the one headless Chromium the package's tests share: starting
// it costs seconds, a fresh isolated browser context per test costs
// milliseconds. TestMain owns it.
type chromium struct {
	ctx  context.Context // the browser's first tab; new contexts derive from it
	stop func()
}

// sharedChromium is set by TestMain before any test runs and never changed
// while they run; nil when no Chromium is installed.
var sharedChromium *chromium

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	exe := chromiumPath()
	if exe == "" {
		return m.Run() // the browser tests skip, saying why
	}
	c, err := startChromium(exe)
	if err != nil {
		fmt.Fprintf(os.Stderr, "browsertest: start %s: %v\n", exe, err)
		return 1
	}
	defer c.stop()
	sharedChromium = c
	return m.Run()
}

func startChromium(exe string) (*chromium, error) {
	// Not a test's TempDir: Chromium's helpers may still be writing when
	// the browser is closed, and a failed removal must not fail anything.
	profile, err := os.MkdirTemp("", "parley-chromium-")
	if err != nil {
		return nil, fmt.Errorf("browser profile dir: %w", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithErrorf(func(format string, args ...any) {
		// cdproto predates some events of Debian's Chromium (top-layer
		// updates from <dialog>); those are noise, anything else is shown.
		if msg := fmt.Sprintf(format, args...); !strings.Contains(msg, "unhandled node event") {
			fmt.Fprintln(os.Stderr, "chromedp: "+msg)
		}
	}))
	stop := func() {
		cancelCtx()
		cancelAlloc()
		for range 5 {
			if os.RemoveAll(profile) == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if err := chromedp.Run(ctx); err != nil { // launches the browser
		stop()
		return nil, err
	}
	return &chromium{ctx: ctx, stop: stop}, nil
}

// newBrowser opens a tab in the shared Chromium. Each test's Parley listens
// on its own port, so its origin — and with it localStorage and the cache —
// is its own: tests don't see each other's state.
func newBrowser(t testing.TB, base string, o browserOpt) *browser {
	t.Helper()
	if sharedChromium == nil {
		sharedtest.Missing(t, "no chromium binary found (install Debian's chromium package: apt-get install -y chromium, or set PARLEY_CHROMIUM); skipping browser tests")
	}
	if o.width == 0 {
		o.width, o.height = 1280, 800
	}
	ctx, cancelTab := chromedp.NewContext(sharedChromium.ctx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
	})
	b := &browser{t: t, ctx: ctx, base: base}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			b.problem("uncaught exception: " + ev.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				b.problem("console.error: " + strings.Join(parts, " "))
			}
		case *cdplog.EventEntryAdded:
			if strings.Contains(ev.Entry.Text, "Content Security Policy") || ev.Entry.Source == cdplog.SourceSecurity {
				b.problem("CSP: " + ev.Entry.Text)
			}
		case *page.EventJavascriptDialogOpening:
			b.mu.Lock()
			b.dialogs = append(b.dialogs, ev.Message)
			b.mu.Unlock()
			go func() { _ = chromedp.Run(ctx, page.HandleJavaScriptDialog(false)) }()
		}
	})
	actions := []chromedp.Action{cdplog.Enable(), chromedp.EmulateViewport(o.width, o.height)}
	if o.dark {
		actions = append(actions, emulateDark())
	}
	b.run(actions...)
	return b
}

func emulateDark() chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		return emulation.SetEmulatedMedia().
			WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}).Do(ctx)
	})
}

func (b *browser) problem(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, s)
}

// checkClean fails the test if the page threw, logged errors, broke its
// CSP or opened a dialog.
func (b *browser) checkClean() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Errorf("page problem: %s", p)
	}
	for _, d := range b.dialogs {
		b.t.Errorf("page opened a dialog: %q", d)
	}
}

func (b *browser) run(actions ...chromedp.Action) {
	b.t.Helper()
	if err := chromedp.Run(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v (problems so far: %v)", err, b.problemsSoFar())
	}
}

func (b *browser) problemsSoFar() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append(append([]string{}, b.problems...), b.dialogs...)
}

// open loads path and waits until the app has started.
func (b *browser) open(path string) {
	b.t.Helper()
	b.run(chromedp.Navigate(b.base + path))
	b.waitJS(`document.documentElement.dataset.ready === 'true'`)
}

// waitJS polls a JavaScript expression until it is truthy.
func (b *browser) waitJS(expr string) {
	b.t.Helper()
	var ok bool
	err := chromedp.Run(b.ctx, chromedp.Poll(expr, &ok, chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(25*time.Millisecond)))
	if err != nil {
		b.t.Fatalf("waiting for %s: %v (problems so far: %v)", expr, err, b.problemsSoFar())
	}
}

func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	b.run(chromedp.Evaluate(expr, out))
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	var s string
	b.eval(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ''`, sel), &s)
	return s
}

func (b *browser) count(sel string) int {
	b.t.Helper()
	var n int
	b.eval(fmt.Sprintf(`document.querySelectorAll(%q).length`, sel), &n)
	return n
}

func (b *browser) click(sel string) {
	b.t.Helper()
	b.run(chromedp.Click(sel, chromedp.ByQuery, chromedp.NodeVisible))
}

// send types text into the composer and presses Enter.
func (b *browser) send(text string) {
	b.t.Helper()
	b.run(chromedp.SendKeys("#composer-input", text, chromedp.ByQuery), pressKey("Enter", 13, false))
}

// pressKey sends a key down and up without a char event: what a browser
// does for a key whose keydown the page handles (chromedp.KeyEvent would
// also type the character, which no real browser does after
// preventDefault).
func pressKey(key string, code int64, shift bool) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var mods input.Modifier
		if shift {
			mods = input.ModifierShift
		}
		down := input.DispatchKeyEvent(input.KeyRawDown).WithKey(key).WithCode(key).
			WithWindowsVirtualKeyCode(code).WithNativeVirtualKeyCode(code).WithModifiers(mods)
		if err := down.Do(ctx); err != nil {
			return err
		}
		return input.DispatchKeyEvent(input.KeyUp).WithKey(key).WithCode(key).
			WithWindowsVirtualKeyCode(code).WithNativeVirtualKeyCode(code).WithModifiers(mods).Do(ctx)
	})
}

// waitReplies waits until n replies are shown, all final, and nothing
// streams.
func (b *browser) waitReplies(n int) {
	b.t.Helper()
	b.waitJS(fmt.Sprintf(`document.querySelectorAll('.msg.assistant:not(.streaming):not(.error-row)').length === %d &&
		!document.getElementById('app').classList.contains('busy')`, n))
}

// waitIdle waits until no reply streams and the last reply is final.
func (b *browser) waitIdle() {
	b.t.Helper()
	b.waitJS(`!document.getElementById('app').classList.contains('busy') &&
		!document.querySelector('.msg.streaming')`)
}

func (b *browser) path() string {
	var p string
	b.eval(`location.pathname`, &p)
	return p
}

// screenshot saves the viewport as artifacts/screenshots/name.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	dir := screenshotDir(b.t)
	if dir == "" {
		return
	}
	var png []byte
	b.run(chromedp.Sleep(150*time.Millisecond), chromedp.CaptureScreenshot(&png))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Errorf("save screenshot: %v", err)
	}
}

func screenshotDir(t testing.TB) string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			out := filepath.Join(d, "artifacts", "screenshots")
			if err := os.MkdirAll(out, 0o755); err != nil {
				t.Logf("no screenshots: %v", err)
				return ""
			}
			return out
		}
	}
	return ""
}
