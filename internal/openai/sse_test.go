package openai_test

import (
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/openai"
)

func readAll(t *testing.T, r io.Reader, max int) ([]openai.Event, error) {
	t.Helper()
	rd := openai.NewSSEReader(r, max)
	var evs []openai.Event
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

func TestSSEReader(t *testing.T) {
	long := strings.Repeat("x", 1<<20)
	tests := []struct {
		name string
		in   string
		want []string // "name|data"
	}{
		{"with space", "data: {\"a\":1}\n\n", []string{"|{\"a\":1}"}},
		{"without space", "data:{\"a\":1}\n\n", []string{"|{\"a\":1}"}},
		{"only first space stripped", "data:  x\n\n", []string{"| x"}},
		{"comments ignored", ": keep-alive\n\ndata: a\n: inside\n\n", []string{"|a"}},
		{"multi-line data", "data: line1\ndata: line2\n\n", []string{"|line1\nline2"}},
		{"crlf", "data: a\r\n\r\ndata: b\r\n\r\n", []string{"|a", "|b"}},
		{"named event", "event: error\ndata: {}\n\n", []string{"error|{}"}},
		{"done", "data: x\n\ndata: [DONE]\n\n", []string{"|x", "|[DONE]"}},
		{"no blank line at eof", "data: x\n\ndata: [DONE]", []string{"|x", "|[DONE]"}},
		{"no newline at all at eof", "data: [DONE]\n", []string{"|[DONE]"}},
		{"event without data skipped", "event: ping\n\ndata: y\n\n", []string{"|y"}},
		{"unknown fields ignored", "retry: 10\nid: 7\nfoo: bar\ndata: z\n\n", []string{"|z"}},
		{"very long line", "data: " + long + "\n\n", []string{"|" + long}},
		{"empty stream", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte at a time as well, so that line assembly across reads
			// is exercised.
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				evs, err := readAll(t, r, 0)
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				var got []string
				for _, ev := range evs {
					got = append(got, ev.Name+"|"+string(ev.Data))
				}
				if strings.Join(got, "\x00") != strings.Join(tt.want, "\x00") {
					t.Fatalf("events = %.80q, want %.80q", got, tt.want)
				}
			}
		})
	}
}

func TestSSEReaderLimits(t *testing.T) {
	in := "data: " + strings.Repeat("x", 5000) + "\n\n"
	if _, err := readAll(t, strings.NewReader(in), 1000); !errors.Is(err, openai.ErrEventTooLarge) {
		t.Fatalf("err = %v, want ErrEventTooLarge", err)
	}
	many := strings.Repeat("data: "+strings.Repeat("y", 300)+"\n", 10) + "\n"
	if _, err := readAll(t, strings.NewReader(many), 1000); !errors.Is(err, openai.ErrEventTooLarge) {
		t.Fatalf("multi-line err = %v, want ErrEventTooLarge", err)
	}
	broken := iotest.ErrReader(io.ErrUnexpectedEOF)
	if _, err := readAll(t, io.MultiReader(strings.NewReader("data: a\n\ndata: b"), broken), 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("broken stream err = %v, want ErrUnexpectedEOF", err)
	}
}

// The reader reads what Parley's services write (httpx.SSE): chunks,
// keep-alive comments (skipped), named events and the [DONE] terminator.
func TestReadsWhatTheServicesWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	sse, err := httpx.NewSSE(rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, write := range []func() error{
		func() error { return sse.Data(map[string]string{"s": "a\nb"}) },
		func() error { return sse.Comment("keep-alive") },
		func() error { return sse.Event("error", map[string]int{"n": 1}) },
		sse.Done,
	} {
		if err := write(); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := readAll(t, rec.Body, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`|{"s":"a\nb"}`, `error|{"n":1}`, "|[DONE]"}
	for i, ev := range evs {
		if got := ev.Name + "|" + string(ev.Data); i >= len(want) || got != want[i] {
			t.Fatalf("event %d = %q, want %q", i, got, want)
		}
	}
	if len(evs) != len(want) || !openai.IsDone(evs[2]) {
		t.Fatalf("got %d events, want %d ending in [DONE]", len(evs), len(want))
	}
}

// BenchmarkSSEReader measures decoding a typical token stream: many small
// chunk events.
func BenchmarkSSEReader(b *testing.B) {
	var buf bytes.Buffer
	for range 1000 {
		buf.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" word"},"finish_reason":null}]}` + "\n\n")
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd := openai.NewSSEReader(bytes.NewReader(data), 0)
		for {
			if _, err := rd.Next(); err != nil {
				break
			}
		}
	}
}
