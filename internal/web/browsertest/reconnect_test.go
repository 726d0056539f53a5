package browsertest

import (
	"bytes"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/testupstream"
)

// cutStream is a ResponseWriter that drops the connection under the
// handler after it has written `after` delta events: the network failing
// mid-reply, as a phone changing networks or a proxy timing out does.
type cutStream struct {
	http.ResponseWriter
	after  int
	deltas int
	cut    bool
}

func (c *cutStream) Write(p []byte) (int, error) {
	if c.cut {
		return 0, http.ErrHandlerTimeout
	}
	c.deltas += bytes.Count(p, []byte("event: delta"))
	n, err := c.ResponseWriter.Write(p)
	if c.deltas >= c.after {
		c.cut = true
		rc := http.NewResponseController(c.ResponseWriter)
		_ = rc.Flush()
		if conn, _, herr := rc.Hijack(); herr == nil {
			conn.Close()
		}
	}
	return n, err
}

func (c *cutStream) Flush() {
	if !c.cut {
		_ = http.NewResponseController(c.ResponseWriter).Flush()
	}
}

func (c *cutStream) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// A reply stream that breaks off is not a failed reply: the reply runs on
// at the server, and the page attaches to it again and shows all of it —
// no error, no duplicate message, no text pushed back into the composer.
func TestBrokenStreamReattaches(t *testing.T) {
	full := longReply(60)
	up := testupstream.New(t, testupstream.WithTokenDelay(20*time.Millisecond), testupstream.WithReply(testupstream.Scripted(full)))
	var cuts atomic.Int32
	base := startParleyWrapped(t, up.URL, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/messages") && cuts.Add(1) == 1 {
				w = &cutStream{ResponseWriter: w, after: 5}
			}
			next.ServeHTTP(w, r)
		})
	})
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.send("keep going")
	b.waitReplies(1)
	if got := b.text(".msg.assistant .md"); got != full {
		t.Errorf("after the broken stream the reply is %d bytes, want the full %d", len(got), len(full))
	}
	if n := b.count(".msg-error, .error-row"); n != 0 {
		t.Errorf("%d error boxes shown for a reply that completed: %q", n, b.text(".msg-error"))
	}
	if n := b.count(".msg.user"); n != 1 {
		t.Errorf("%d user messages, want 1", n)
	}
	var box string
	b.eval(`document.getElementById('composer-input').value`, &box)
	if box != "" {
		t.Errorf("composer holds %q after the reply completed", box)
	}
	conv := getConversation(t, base, strings.TrimPrefix(b.path(), "/c/"))
	if len(conv.Messages) != 2 || conv.Messages[1].Status != "complete" {
		t.Errorf("server messages: %+v", conv.Messages)
	}
	b.checkClean()
}

// Slow answers open windows in which a user acts again: a second Enter
// while the new chat is being created must not send twice (or create two
// chats), and a message sent while a chat is still loading lands after
// that chat's messages and shows with its reply.
func TestSendWhileCreatingOrLoading(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(2*time.Millisecond))
	var slow atomic.Bool
	base := startParleyWrapped(t, up.URL, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			create := r.Method == http.MethodPost && r.URL.Path == "/api/conversations"
			load := r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/conversations/") && !strings.HasSuffix(r.URL.Path, "/stream")
			if slow.Load() && (create || load) {
				time.Sleep(400 * time.Millisecond)
			}
			next.ServeHTTP(w, r)
		})
	})
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	slow.Store(true)
	b.run(chromedp.SendKeys("#composer-input", "only once", chromedp.ByQuery),
		pressKey("Enter", 13, false), pressKey("Enter", 13, false))
	b.click("#send-btn")
	b.waitReplies(1)
	var page struct {
		Data []conversation `json:"data"`
	}
	getJSON(t, base+"/api/conversations", &page)
	if len(page.Data) != 1 {
		t.Errorf("%d chats on the server after one message, want 1", len(page.Data))
	}
	first := b.path()
	if c := getConversation(t, base, strings.TrimPrefix(first, "/c/")); len(c.Messages) != 2 {
		t.Errorf("%d messages on the server, want 2", len(c.Messages))
	}

	// Open the chat again from a fresh page and send at once, before it
	// has loaded.
	b.click("#new-chat")
	b.waitJS(`location.pathname === '/'`)
	b.waitJS(`document.querySelector('.conv-item .conv-link') !== null`)
	b.run(chromedp.Evaluate(`document.querySelector('.conv-item .conv-link').click()`, nil),
		chromedp.SendKeys("#composer-input", "second question", chromedp.ByQuery), pressKey("Enter", 13, false))
	b.waitReplies(2)
	var texts []string
	b.eval(`[...document.querySelectorAll('.msg .bubble, .msg .md')].map(e => e.textContent)`, &texts)
	if strings.Join(texts, "|") != "only once|only once|second question|second question" {
		t.Errorf("thread after sending while loading: %q", texts)
	}
	if b.path() != first {
		t.Errorf("path %q, want %q", b.path(), first)
	}
	if c := getConversation(t, base, strings.TrimPrefix(first, "/c/")); len(c.Messages) != 4 {
		t.Errorf("%d messages on the server, want 4", len(c.Messages))
	}
	b.checkClean()
}
