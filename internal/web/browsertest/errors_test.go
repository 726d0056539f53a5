package browsertest

import (
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/account"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store/sqlite"
	"github.com/parley-chat/parley/internal/testupstream"
	"github.com/parley-chat/parley/internal/web"
)

func TestModelDownShowsErrorAndRetry(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(2*time.Millisecond))
	up.SetOptions(func(o *testupstream.Options) { o.Status, o.StatusMessage = 503, "model is loading" })
	base := startParley(t, up.URL)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.send("are you there?")
	b.waitJS(`document.querySelector('.msg-error') !== null && !document.getElementById('app').classList.contains('busy')`)
	b.screenshot("11-model-down")
	if got := b.text(".msg-error .err-text"); got == "" {
		t.Errorf("no error text shown")
	}
	if b.count(".msg-error .err-retry") != 1 {
		t.Fatalf("no Retry button on the failed reply")
	}
	// The user's message stays, on the page and on the server.
	if got := b.text(".msg.user .bubble"); got != "are you there?" {
		t.Errorf("user message = %q", got)
	}
	conv := getConversation(t, base, strings.TrimPrefix(b.path(), "/c/"))
	if len(conv.Messages) != 2 || conv.Messages[1].Status != "failed" {
		t.Errorf("server messages: %+v", conv.Messages)
	}

	up.SetOptions(func(o *testupstream.Options) { o.Status = 0 })
	b.click(".msg-error .err-retry")
	b.waitJS(`(document.querySelector('.msg.assistant .md') || {}).textContent === 'are you there?' && !document.querySelector('.msg-error')`)
	b.waitReplies(1)
	b.checkClean()
}

// In split mode the web service reaches the api through NewAPIProxy; with
// the api down the page must say so instead of staying blank.
func TestAPIUnreachableShowsBanner(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there any more
	proxy, err := web.NewAPIProxy(deadURL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	base := serveWeb(t, proxy, nil)
	b := newBrowser(t, base, browserOpt{})
	b.open("/")
	b.waitJS(`!document.getElementById('banner').hidden`)
	if got := b.text("#banner"); !strings.Contains(got, "cannot be reached") {
		t.Errorf("banner = %q", got)
	}
	b.send("hello?")
	b.waitJS(`document.querySelector('.msg-error, .banner:not([hidden])') !== null && !document.getElementById('app').classList.contains('busy')`)
	b.screenshot("12-api-down")
	// The page itself still works: composer and sidebar are there.
	if b.count("#composer-input") != 1 || b.count("#sidebar") != 1 {
		t.Errorf("page broken when the api is down")
	}
	b.checkClean()
}

// A reply whose server was killed mid-answer is ended as interrupted once
// its lease runs out; the page shows it like a failed reply — its text,
// the reason, Retry — never as a reply still streaming.
func TestInterruptedReplyShowsErrorAndRetry(t *testing.T) {
	up := testupstream.New(t, testupstream.WithTokenDelay(2*time.Millisecond))
	dbPath := filepath.Join(t.TempDir(), "parley.db")
	db, err := sqlite.Open(t.Context(), dbPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.For(account.LocalID).CreateConversation(t.Context(), chat.Conversation{Title: "cut off"})
	if err != nil {
		t.Fatal(err)
	}
	// What a process killed mid-reply leaves: its lease runs out at once.
	lease := chat.Lease{Owner: "killed", TTL: time.Millisecond}
	_, m, err := db.For(account.LocalID).StartReply(t.Context(), chat.NewReply{ConversationID: c.ID,
		User: &chat.Message{Role: chat.RoleUser, Content: "tell me more"}, Reply: chat.Message{Role: chat.RoleAssistant}, Lease: lease})
	if err == nil {
		m.Content = "half an answer"
		err = db.For(account.LocalID).SaveReply(t.Context(), m, lease)
	}
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	base := startParleyOn(t, up.URL, dbPath, nil)
	b := newBrowser(t, base, browserOpt{})
	b.open("/c/" + c.ID)
	b.waitJS(`document.querySelector('.msg-error') !== null`)
	b.screenshot("13-interrupted")
	if got := b.text(".msg.assistant .md"); got != "half an answer" {
		t.Errorf("interrupted reply shows %q, want the text saved", got)
	}
	if got := b.text(".msg-error .err-text"); !strings.Contains(got, "interrupted") {
		t.Errorf("error text %q", got)
	}
	if n := b.count(".msg.streaming, .caret"); n != 0 {
		t.Errorf("the interrupted reply shows as streaming (%d elements)", n)
	}
	b.click(".msg-error .err-retry")
	b.waitJS(`(document.querySelector('.msg.assistant .md') || {}).textContent === 'tell me more' && !document.querySelector('.msg-error')`)
	b.waitReplies(1)
	b.checkClean()
}
