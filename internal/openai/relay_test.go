package openai

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

const (
	roleChunk   = `{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`
	textChunk   = `{"id":"c","choices":[{"index":0,"delta":{"content":"hi \"error\": no"},"finish_reason":null}]}`
	finishChunk = `{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`
	usageChunk  = `{"id":"c","choices":[],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}}`
)

func ev(data string) string { return "data: " + data + "\n\n" }

func TestRelay(t *testing.T) {
	whole := ev(roleChunk) + ev(textChunk) + ev(finishChunk) + ev(usageChunk)
	tests := []struct {
		name, in, want string
		wantErr        string // part of the error's message; "" for none
	}{
		{name: "as it came", in: whole + ev("[DONE]"), want: whole + ev("[DONE]")},
		{name: "CRLF and no space after data:", in: "data:" + roleChunk + "\r\n\r\n" + "data: " + finishChunk + "\r\n\r\ndata: [DONE]\r\n\r\n",
			want: ev(roleChunk) + ev(finishChunk) + ev("[DONE]")},
		{name: "comments pass, ids too", in: ": keep-alive\n\nid: 7\ndata: " + finishChunk + "\n\n" + ev("[DONE]"),
			want: ": keep-alive\n\nid: 7\ndata: " + finishChunk + "\n\n" + ev("[DONE]")},
		{name: "[DONE] added after the finish chunk", in: whole, want: whole + ev("[DONE]")},
		{name: "[DONE] without a blank line", in: whole + "data: [DONE]", want: whole + ev("[DONE]")},
		{name: "nothing after [DONE]", in: whole + ev("[DONE]") + ev(textChunk), want: whole + ev("[DONE]")},
		{name: "ended before finishing", in: ev(roleChunk) + ev(textChunk), want: ev(roleChunk) + ev(textChunk),
			wantErr: "closed the stream before it finished"},
		{name: "a null finish_reason is not a finish", in: ev(roleChunk), want: ev(roleChunk), wantErr: "before it finished"},
		{name: "error object", in: ev(roleChunk) + ev(`{"error":{"message":"CUDA out of memory, key sk-abcdefghijklmnop","type":"server_error"}}`),
			want: ev(roleChunk), wantErr: "failed mid-stream: CUDA out of memory, key [REDACTED]"},
		{name: "error event", in: ev(roleChunk) + "event: error\ndata: {\"message\":\"overloaded\"}\n\n",
			want: ev(roleChunk), wantErr: "overloaded"},
		{name: "multi-line data", in: "data: {\"choices\":\ndata: [{\"finish_reason\":\"stop\"}]}\n\n",
			want: "data: {\"choices\":\ndata: [{\"finish_reason\":\"stop\"}]}\n\n" + ev("[DONE]")},
		{name: "event without data dropped", in: "event: ping\n\n" + ev(finishChunk), want: ev(finishChunk) + ev("[DONE]")},
		{name: "long line", in: ev(`{"choices":[{"delta":{"content":"` + strings.Repeat("x", 3*relayBufSize) + `"},"finish_reason":"length"}]}`),
			want: ev(`{"choices":[{"delta":{"content":"`+strings.Repeat("x", 3*relayBufSize)+`"},"finish_reason":"length"}]}`) + ev("[DONE]")},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			var src io.Reader = strings.NewReader(tt.in)
			if oneByte {
				src = iotest.OneByteReader(src)
			}
			var out bytes.Buffer
			err := relay(&out, func() {}, src, 0)
			if out.String() != tt.want {
				t.Errorf("%s (one byte at a time: %v): wrote\n%q\nwant\n%q", tt.name, oneByte, out.String(), tt.want)
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(chat.MessageOf(err), tt.wantErr)) {
				t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
			}
		}
	}
}

func TestRelayFailures(t *testing.T) {
	broken := io.MultiReader(strings.NewReader(ev(roleChunk)), iotest.ErrReader(io.ErrUnexpectedEOF))
	var out bytes.Buffer
	if err := relay(&out, func() {}, broken, 0); !errors.Is(err, io.ErrUnexpectedEOF) || out.String() != ev(roleChunk) {
		t.Fatalf("broken stream: %q, %v", out.String(), err)
	}
	if err := relay(failingWriter{}, func() {}, strings.NewReader(ev(finishChunk)+ev("[DONE]")), 0); !errors.Is(err, ErrClientGone) {
		t.Fatalf("client gone: %v", err)
	}
	err := relay(io.Discard, func() {}, strings.NewReader(ev(strings.Repeat("x", 200))), 100)
	if chat.KindOf(err) != chat.KindUpstream || !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("oversized event: %v", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

// chunkedReader hands out one event per Read, as a server flushing each
// token does.
type chunkedReader struct {
	events [][]byte
	i      int
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.i == len(c.events) {
		return 0, io.EOF
	}
	n := copy(p, c.events[c.i])
	c.i++
	return n, nil
}

type countingWriter struct{ writes, bytes int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	w.bytes += len(p)
	return len(p), nil
}

// BenchmarkRelay is the copy loop of the pass-through: one op is one
// stream of 64 tokens, each arriving in its own read and flushed at once.
// Allocations per op are the loop's own; the buffers are pooled.
func BenchmarkRelay(b *testing.B) {
	events := [][]byte{[]byte(ev(roleChunk))}
	for range 64 {
		events = append(events, []byte(ev(`{"id":"chatcmpl-0123456789","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","choices":[{"index":0,"delta":{"content":" token"},"finish_reason":null}]}`)))
	}
	events = append(events, []byte(ev(finishChunk)), []byte(ev(usageChunk)), []byte(ev("[DONE]")))
	src := &chunkedReader{events: events}
	w := &countingWriter{}
	flushes := 0
	flush := func() { flushes++ }
	b.ReportAllocs()
	for b.Loop() {
		src.i = 0
		if err := relay(w, flush, src, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(flushes)/float64(b.N), "flushes/op")
}

// Events read whole go out before the relay waits for the rest of one the
// server sent only in part.
func TestRelayDoesNotHoldCompleteEvents(t *testing.T) {
	pr, pw := io.Pipe()
	out := &notifyingWriter{wrote: make(chan string, 8)}
	done := make(chan error, 1)
	go func() { done <- relay(out, func() {}, pr, 0) }()
	go pw.Write([]byte(ev(roleChunk) + "data: " + finishChunk[:20]))
	select {
	case got := <-out.wrote:
		if got != ev(roleChunk) {
			t.Fatalf("wrote %q first", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the complete event was held back while the next one was incomplete")
	}
	go func() {
		pw.Write([]byte(finishChunk[20:] + "\n\n" + ev("[DONE]")))
		pw.Close()
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var rest strings.Builder
	for len(out.wrote) > 0 {
		rest.WriteString(<-out.wrote)
	}
	if rest.String() != ev(finishChunk)+ev("[DONE]") {
		t.Fatalf("then wrote %q", rest.String())
	}
}

type notifyingWriter struct{ wrote chan string }

func (w *notifyingWriter) Write(p []byte) (int, error) { w.wrote <- string(p); return len(p), nil }
