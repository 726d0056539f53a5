package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testupstream"
)

// The fault matrix: real processes, real faults, in the middle of a
// streamed reply. For every run of every case it checks what Parley
// promises — nothing lost, nothing stuck:
//
//   - the user's message is stored;
//   - no reply is left "streaming" once its lease has run out;
//   - the stored reply holds at least the text the client had been sent
//     1.5 s before the fault (saves trail the stream by at most ~1 s);
//   - when the client got "done", it says what is stored.
//
// Cases run in parallel, each with its own processes; the test ends with
// a one-line table of the counts.

const (
	faultRuns  = 3
	faultLease = 2 * time.Second
	faultSweep = 500 * time.Millisecond
	// The fault strikes this long after the first piece of the reply.
	faultAfter = 2500 * time.Millisecond
	// The text the client had this long before the fault must be stored.
	faultSaved = 1500 * time.Millisecond
)

// leaseFlags are the api's flags in every case: short leases, so that a
// reply left by a killed process is ended within seconds.
var leaseFlags = []string{"--reply-lease", faultLease.String(), "--reply-sweep-interval", faultSweep.String()}

// system is what one run of a case talks to and breaks.
type system struct {
	base  string // where the client sends its requests
	api   *proc  // the process serving the conversation API
	fault func() // strikes mid-reply
	after func() // checks right after the fault, if not nil
	mend  func() // repairs what fault broke, so the store can be read
}

type faultCase struct {
	name string
	// build starts the processes of one run.
	build func(t *testing.T, c *caseEnv) *system
	// before: the fault strikes before the message is sent.
	before bool
	// done: the client must get its done event; complete: saying the
	// reply is complete (the fault did not touch the reply's generation).
	done, complete bool
}

// caseEnv is what the runs of one case share.
type caseEnv struct {
	up *testupstream.Server
	pg *postgres
}

// runResult is one run's verdict on each promise.
type runResult struct {
	userKept, noneStreaming, textKept, doneStored bool
}

func TestFaultMatrix(t *testing.T) {
	split := func(t *testing.T, c *caseEnv, apiArgs ...string) (*proc, *proc) {
		model := start(t, "model", freeAddr(t), true, "model", "--backend", "openai", "--upstream-url", c.up.URL)
		args := append([]string{"api", "--model-url", model.url()}, leaseFlags...)
		if len(apiArgs) == 0 {
			apiArgs = []string{"--database", filepath.Join(t.TempDir(), "parley.db")}
		}
		api := start(t, "api", freeAddr(t), true, append(args, apiArgs...)...)
		return model, api
	}
	cases := []faultCase{
		{name: "kill -9 serve", build: func(t *testing.T, c *caseEnv) *system {
			args := append([]string{"serve", "--backend", "openai", "--upstream-url", c.up.URL,
				"--database", filepath.Join(t.TempDir(), "parley.db")}, leaseFlags...)
			srv := start(t, "serve", freeAddr(t), true, args...)
			return &system{base: srv.url(), api: srv, fault: srv.kill, mend: func() { srv.restart(true) }}
		}},
		{name: "kill -9 api", build: func(t *testing.T, c *caseEnv) *system {
			_, api := split(t, c)
			web := start(t, "web", freeAddr(t), true, "web", "--api-url", api.url())
			return &system{base: web.url(), api: api, fault: api.kill, mend: func() { api.restart(true) }}
		}},
		{name: "kill -9 model", done: true, build: func(t *testing.T, c *caseEnv) *system {
			model, api := split(t, c)
			web := start(t, "web", freeAddr(t), true, "web", "--api-url", api.url())
			return &system{base: web.url(), api: api, fault: model.kill, mend: func() {}}
		}},
		{name: "postgres restart", done: true, complete: true, build: func(t *testing.T, c *caseEnv) *system {
			_, api := split(t, c, "--database", c.pg.URL)
			return &system{base: api.url(), api: api,
				// Down until the reply has ended (it needs about 3.5 s
				// more), so that its final save meets no database.
				fault: func() {
					c.pg.crash(t)
					time.Sleep(5 * time.Second)
					c.pg.start(t)
				}, mend: func() {}}
		}},
		{name: "model unreachable", before: true, done: true, build: func(t *testing.T, c *caseEnv) *system {
			args := append([]string{"api", "--model-url", "http://" + freeAddr(t),
				"--database", filepath.Join(t.TempDir(), "parley.db")}, leaseFlags...)
			api := start(t, "api", freeAddr(t), false, args...)
			return &system{base: api.url(), api: api, fault: func() {}, mend: func() {}}
		}},
		{name: "SIGTERM", done: true, complete: true, build: func(t *testing.T, c *caseEnv) *system {
			_, api := split(t, c, "--database", filepath.Join(t.TempDir(), "parley.db"), "--shutdown-timeout", "20s")
			return &system{base: api.url(), api: api,
				fault: func() { api.cmd.Process.Signal(syscall.SIGTERM) },
				after: func() {
					// Draining: not ready as soon as the signal is handled,
					// while the reply runs on.
					deadline := time.Now().Add(5 * time.Second)
					code := status(api.url() + "/readyz")
					for code != http.StatusServiceUnavailable && time.Now().Before(deadline) {
						time.Sleep(10 * time.Millisecond)
						code = status(api.url() + "/readyz")
					}
					if code != http.StatusServiceUnavailable {
						t.Errorf("/readyz after SIGTERM = %d, want 503", code)
					}
				},
				mend: func() {
					select {
					case <-api.done:
					case <-time.After(30 * time.Second):
						t.Errorf("api still running 30s after SIGTERM")
					}
					api.restart(true)
				}}
		}},
	}

	var mu sync.Mutex
	table := make([][]runResult, len(cases))
	t.Run("cases", func(t *testing.T) {
		for i, fc := range cases {
			t.Run(strings.ReplaceAll(fc.name, " ", "_"), func(t *testing.T) {
				t.Parallel()
				env := &caseEnv{up: testupstream.New(t, testupstream.WithTokenDelay(20*time.Millisecond))}
				if fc.name == "postgres restart" {
					env.pg = startPostgres(t)
				}
				for run := range faultRuns {
					// A subtest per run: its processes end with it.
					t.Run(fmt.Sprint("run_", run), func(t *testing.T) {
						r := runFault(t, fc, fc.build(t, env), run)
						mu.Lock()
						table[i] = append(table[i], r)
						mu.Unlock()
					})
				}
			})
		}
	})
	var line strings.Builder
	fmt.Fprintf(&line, "== fault matrix, of %d runs each (user kept / none left streaming / text kept / done = stored):", faultRuns)
	for i, fc := range cases {
		var user, none, text, done int
		for _, r := range table[i] {
			user, none, text, done = user+b2i(r.userKept), none+b2i(r.noneStreaming), text+b2i(r.textKept), done+b2i(r.doneStored)
		}
		d := fmt.Sprint(done)
		if !fc.done {
			d = "-" // the client's connection died with the process
		}
		sep := " |"
		if i == len(cases)-1 {
			sep = ""
		}
		fmt.Fprintf(&line, " %s %d/%d/%d/%s%s", fc.name, user, none, text, d, sep)
	}
	t.Log(line.String())
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func status(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// runFault runs one reply through sys with the case's fault and judges it.
func runFault(t *testing.T, fc faultCase, sys *system, run int) runResult {
	t.Helper()
	var c conversation
	if code := doJSON(t, "POST", sys.base+"/api/conversations", map[string]string{}, &c); code != http.StatusCreated {
		t.Fatalf("run %d: create conversation: %d", run, code)
	}
	content := fmt.Sprintf("run %d %s", run, words(300)) // about 6 s of reply
	if fc.before {
		sys.fault()
	}
	cv := followReply(sys.base+"/api/conversations/"+c.ID+"/messages", content)
	faultAt := time.Now()
	if !fc.before {
		select {
		case <-cv.firstPiece:
		case <-cv.ended:
		case <-time.After(20 * time.Second):
			t.Fatalf("run %d: no reply text after 20s", run)
		}
		time.Sleep(time.Until(cv.firstAt().Add(faultAfter)))
		faultAt = time.Now()
		sys.fault()
		if sys.after != nil {
			sys.after()
		}
	}
	select {
	case <-cv.ended:
	case <-time.After(60 * time.Second):
		t.Fatalf("run %d: the reply stream neither ended nor broke 60s after the fault", run)
	}
	sys.mend()

	var r runResult
	// The stored state, once no reply streams any more; a reply left by
	// a killed process must be ended within its lease (and a sweep).
	deadline := time.Now().Add(faultLease + faultSweep + 15*time.Second)
	var stored conversation
	for {
		stored = conversation{}
		code := doJSON(t, "GET", sys.api.url()+"/api/conversations/"+c.ID, nil, &stored)
		streaming := false
		for _, m := range stored.Messages {
			streaming = streaming || m.Status == "streaming"
		}
		if code == http.StatusOK && !streaming {
			r.noneStreaming = true
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("run %d: a reply is still streaming %v after the fault: %+v", run, time.Since(faultAt), summarize(stored.Messages))
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := len(stored.Messages); n == 2 && stored.Messages[0].Role == "user" && stored.Messages[0].Content == content {
		r.userKept = true
	} else {
		t.Errorf("run %d: the user's message is not stored as sent: %+v", run, summarize(stored.Messages))
	}
	var reply message
	if len(stored.Messages) == 2 {
		reply = stored.Messages[1]
	}
	sent := cv.textAt(faultAt.Add(-faultSaved))
	if strings.HasPrefix(reply.Content, sent) {
		r.textKept = true
	} else {
		t.Errorf("run %d: stored %d bytes (%s), the client had %d bytes %v before the fault", run, len(reply.Content), reply.Status, len(sent), faultSaved)
	}
	done := cv.final()
	switch {
	case done == nil && fc.done:
		t.Errorf("run %d: the stream ended without done", run)
	case done == nil:
	case done.Status == "failed" && strings.Contains(done.Error, "could not be saved"):
		// Honest about what it could not store: never complete.
		r.doneStored = reply.Status != "complete"
	default:
		r.doneStored = done.Status == reply.Status && done.Content == reply.Content && done.Error == reply.Error
	}
	if done != nil && !r.doneStored {
		t.Errorf("run %d: done said %s with %d bytes (%q), the store holds %s with %d bytes (%q)",
			run, done.Status, len(done.Content), done.Error, reply.Status, len(reply.Content), reply.Error)
	}
	if done != nil && (done.Status == "complete") != fc.complete {
		t.Errorf("run %d: done said %s (%s)", run, done.Status, done.Error)
	}
	return r
}

func summarize(ms []message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s %s %d bytes %q", m.Role, m.Status, len(m.Content), m.Error))
	}
	return out
}

// clientView is what a client following a reply stream has been sent,
// and when.
type clientView struct {
	mu         sync.Mutex
	pieces     []timedText // the text after each delta
	done       *message
	firstPiece chan struct{}
	ended      chan struct{}
}

type timedText struct {
	at   time.Time
	text string
}

// followReply POSTs content to url and follows the reply stream in the
// background until done or until the stream breaks.
func followReply(url, content string) *clientView {
	cv := &clientView{firstPiece: make(chan struct{}), ended: make(chan struct{})}
	go func() {
		defer close(cv.ended)
		body, _ := json.Marshal(map[string]string{"content": content})
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var name string
		var text strings.Builder
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && name == "delta":
				var d struct{ Content string }
				json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d)
				text.WriteString(d.Content)
				cv.mu.Lock()
				first := len(cv.pieces) == 0
				cv.pieces = append(cv.pieces, timedText{time.Now(), text.String()})
				cv.mu.Unlock()
				if first {
					close(cv.firstPiece)
				}
			case strings.HasPrefix(line, "data: ") && name == "done":
				var m message
				json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &m)
				cv.mu.Lock()
				cv.done = &m
				cv.mu.Unlock()
				return
			}
		}
	}()
	return cv
}

func (cv *clientView) firstAt() time.Time {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if len(cv.pieces) == 0 {
		return time.Now()
	}
	return cv.pieces[0].at
}

// textAt is the text the client had been sent at time at.
func (cv *clientView) textAt(at time.Time) string {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	text := ""
	for _, p := range cv.pieces {
		if p.at.After(at) {
			break
		}
		text = p.text
	}
	return text
}

func (cv *clientView) final() *message {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	return cv.done
}
