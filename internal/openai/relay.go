package openai

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/parley-chat/parley/internal/chat"
)

// ErrClientGone is returned by a relay whose client stopped reading.
var ErrClientGone = errors.New("openai: the client went away")

// relayBufs are the buffers of one relay, pooled: a proxy with thousands of
// streams a second must not allocate them per stream, let alone per chunk.
type relayBufs struct {
	rd   *bufio.Reader
	out  []byte // what goes to the client next
	long []byte // a line longer than rd's buffer
	data []byte // the data of a multi-line event, joined
	// state is the relay's own, kept here to be pooled with the buffers.
	state relayState
}

// relayBufSize is the size of a relay's read buffer and the starting size
// of its write buffer: several events of a few hundred bytes fit, and a
// proxy with thousands of open streams holds that much per stream. Longer
// lines go through long.
const relayBufSize = 4 << 10

var relayPool = sync.Pool{New: func() any {
	return &relayBufs{rd: bufio.NewReaderSize(nil, relayBufSize), out: make([]byte, 0, relayBufSize)}
}}

// relay copies an OpenAI event stream from src to w event by event, as the
// bytes came, but for what Parley must guarantee: the stream ends with
// "data: [DONE]" only when the answer is complete (a server that closes
// after its finish chunk without one gets it added), an error event from
// the server is not passed on but returned (as a *chat.Error, for the
// caller to word as Parley's own), and a stream that ends before its
// finish chunk is an error. Line ends become LF and "data:" gets its
// space; comments (keep-alives) pass. Events that arrived together are
// written together, with one flush when src has nothing more buffered, so
// a fast server costs few writes and a slow one no delay.
//
// It returns nil after [DONE]; ErrClientGone when writing failed; a
// *chat.Error for an error event or a premature end; else src's error.
func relay(w io.Writer, flush func(), src io.Reader, maxEvent int) error {
	return relayUsage(w, flush, src, maxEvent, nil)
}

// relayUsage is relay that also reads, into usage when not nil, the token
// counts of a chunk that carries them (the last one, when the client
// asked for stream_options.include_usage).
func relayUsage(w io.Writer, flush func(), src io.Reader, maxEvent int, usage *chat.Usage) error {
	if maxEvent <= 0 {
		maxEvent = DefaultMaxEventBytes
	}
	return newRelay(w, flush, src, maxEvent, usage).run()
}

// newRelay takes buffers from the pool and starts their state, which is
// pooled with them rather than held in a frame: the first write, deep
// under the relay, takes net/http's largest frame, and a stream's stack
// stays short (see the stack note in httpx). run gives them back.
func newRelay(w io.Writer, flush func(), src io.Reader, maxEvent int, usage *chat.Usage) *relayState {
	b := relayPool.Get().(*relayBufs)
	b.rd.Reset(src)
	b.out = b.out[:0]
	b.state = relayState{b: b, w: w, flush: flush, max: maxEvent, evStart: -1, dataStart: -1, usage: usage}
	return &b.state
}

// release puts b back into the pool, unless an outsized event grew it.
func (b *relayBufs) release() {
	b.rd.Reset(nil)
	b.state = relayState{}
	if cap(b.long) > 4*relayBufSize || cap(b.data) > 4*relayBufSize || cap(b.out) > 4*relayBufSize {
		return // let the GC have these buffers
	}
	relayPool.Put(b)
}

// run relays line by line until the stream ends, then puts the buffers
// back.
func (r *relayState) run() error {
	defer r.b.release()
	for {
		if !r.lineBuffered() {
			// The next read may wait for the server: what is complete
			// goes out first.
			if err := r.writeComplete(); err != nil {
				return err
			}
		}
		line, err := r.readLine(r.max)
		if len(line) > 0 || err == nil {
			done, lerr := r.line(line)
			if errors.Is(lerr, ErrEventTooLarge) {
				err = lerr
			} else if done || lerr != nil {
				return lerr
			}
		}
		if err != nil {
			return r.end(err)
		}
	}
}

// end finishes a relay whose source ended with err: an event over the
// limit, a broken stream, or the end of the body.
func (r *relayState) end(err error) error {
	if errors.Is(err, ErrEventTooLarge) {
		if r.evStart >= 0 {
			r.b.out = r.b.out[:r.evStart]
		}
		_ = r.write()
		return chat.E(chat.KindUpstream, fmt.Sprintf("%s sent a stream event over %d bytes", serverName, r.max), err)
	}
	// The last event may lack its blank line (a server that closes
	// right after "data: [DONE]").
	if done, rerr := r.endEvent(); done || rerr != nil {
		return rerr
	}
	switch {
	case !errors.Is(err, io.EOF):
		_ = r.write()
		return err
	case r.finished:
		return r.done()
	}
	_ = r.write()
	return chat.E(chat.KindUpstream, serverName+" closed the stream before it finished", io.ErrUnexpectedEOF)
}

type relayState struct {
	b     *relayBufs
	w     io.Writer
	flush func()
	max   int // bytes of one event
	// evStart is where the event being read starts in b.out, -1 between
	// events; dataStart where its first data line does.
	evStart, dataStart int
	dataLines          int
	hasData, errorName bool
	finished           bool
	// usage, when not nil, receives the counts of a chunk with usage.
	usage *chat.Usage
}

// readLine returns the next line without its end; err is non-nil only
// when no more lines follow (the line may still hold the last bytes).
func (r *relayState) readLine(limit int) ([]byte, error) {
	line, err := r.b.rd.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		r.b.long = append(r.b.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = r.b.rd.ReadSlice('\n')
			if len(r.b.long)+len(line) > limit+2 {
				return nil, ErrEventTooLarge
			}
			r.b.long = append(r.b.long, line...)
		}
		line = r.b.long
	}
	if len(line) > limit+2 {
		return nil, ErrEventTooLarge
	}
	if err == nil {
		line = line[:len(line)-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, err
}

// line handles one line; an empty one ends the event. done reports that
// the relay is over (err nil: the stream completed).
func (r *relayState) line(line []byte) (done bool, err error) {
	if len(line) == 0 {
		return r.endEvent()
	}
	if line[0] == ':' {
		// A comment, a keep-alive: pass it on by itself.
		if r.evStart < 0 {
			r.b.out = append(append(r.b.out, line...), '\n', '\n')
		}
		return false, nil
	}
	name, value, _ := bytes.Cut(line, []byte(":"))
	if len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	if r.evStart < 0 {
		r.evStart = len(r.b.out)
	}
	switch string(name) {
	case "data":
		if r.dataStart >= 0 && len(r.b.out)-r.dataStart+len(value) > r.max {
			return false, ErrEventTooLarge
		}
		if r.dataStart < 0 {
			r.dataStart = len(r.b.out)
		}
		r.hasData = true
		r.dataLines++
		r.b.out = append(append(append(r.b.out, "data: "...), value...), '\n')
	case "event":
		r.errorName = r.errorName || string(value) == "error"
		r.b.out = append(append(append(r.b.out, "event: "...), value...), '\n')
	case "id", "retry":
		r.b.out = append(append(r.b.out, line...), '\n')
	}
	return false, nil
}

func (r *relayState) endEvent() (done bool, err error) {
	if r.evStart < 0 {
		return false, nil
	}
	start, data := r.evStart, r.eventData()
	r.evStart, r.dataStart, r.dataLines = -1, -1, 0
	hasData, errorName := r.hasData, r.errorName
	r.hasData, r.errorName = false, false
	if !hasData {
		r.b.out = r.b.out[:start] // an event without data is none (SSE)
		return false, nil
	}
	if string(bytes.TrimSpace(data)) == DoneData {
		r.b.out = r.b.out[:start]
		return true, r.done()
	}
	if errorName {
		r.b.out = r.b.out[:start]
		_ = r.write()
		return true, StreamError(ParseErrorBody(data))
	}
	if hasKey(data, `"error"`) {
		var ch struct {
			Error *ErrorBody `json:"error"`
		}
		if json.Unmarshal(data, &ch) == nil && ch.Error != nil {
			r.b.out = r.b.out[:start]
			_ = r.write()
			return true, StreamError(*ch.Error)
		}
	}
	r.finished = r.finished || hasValue(data, `"finish_reason"`)
	if r.usage != nil {
		readUsage(data, r.usage)
	}
	r.b.out = append(r.b.out, '\n')
	return false, nil
}

// eventData returns the data of the event being ended: a slice of b.out
// for one data line, the lines joined with "\n" for several.
func (r *relayState) eventData() []byte {
	if r.dataStart < 0 {
		return nil
	}
	ev := r.b.out[r.dataStart:]
	if r.dataLines == 1 {
		ev = ev[len("data: "):]
		if i := bytes.IndexByte(ev, '\n'); i >= 0 {
			ev = ev[:i]
		}
		return ev
	}
	r.b.data = r.b.data[:0]
	for line := range bytes.Lines(ev) {
		if v, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
			if len(r.b.data) > 0 {
				r.b.data = append(r.b.data, '\n')
			}
			r.b.data = append(r.b.data, bytes.TrimSuffix(v, []byte("\n"))...)
		}
	}
	return r.b.data
}

// lineBuffered reports whether a whole line waits in the read buffer, so
// that reading it will not wait for the server.
func (r *relayState) lineBuffered() bool {
	buf, _ := r.b.rd.Peek(r.b.rd.Buffered())
	return bytes.IndexByte(buf, '\n') >= 0
}

// writeComplete writes the events read whole, keeping the one being read.
func (r *relayState) writeComplete() error {
	if r.evStart < 0 {
		return r.write()
	}
	if r.evStart == 0 {
		return nil
	}
	complete := r.b.out[:r.evStart]
	if _, err := r.w.Write(complete); err != nil {
		return ErrClientGone
	}
	r.flush()
	n := copy(r.b.out, r.b.out[r.evStart:])
	r.b.out = r.b.out[:n]
	if r.dataStart >= 0 {
		r.dataStart -= r.evStart
	}
	r.evStart = 0
	return nil
}

func (r *relayState) done() error {
	r.b.out = append(r.b.out, "data: [DONE]\n\n"...)
	return r.write()
}

func (r *relayState) write() error {
	if len(r.b.out) == 0 {
		return nil
	}
	_, err := r.w.Write(r.b.out)
	r.b.out = r.b.out[:0]
	if err != nil {
		return ErrClientGone
	}
	r.flush()
	return nil
}

// readUsage sets u from the "usage" object of a chunk or answer, if it
// has one that is not null. Only that object is decoded, and only when
// present: the other chunks cost a byte search.
func readUsage(data []byte, u *chat.Usage) {
	i := keyValue(data, `"usage"`)
	if i < 0 || data[i] != '{' {
		return
	}
	var got chat.Usage
	if json.NewDecoder(bytes.NewReader(data[i:])).Decode(&got) == nil {
		*u = got
	}
}

// hasKey reports whether data holds the member name key (quoted), by its
// bytes: a quoted word followed by ':' is a member name, since quotes
// inside JSON strings are escaped.
func hasKey(data []byte, key string) bool {
	return keyValue(data, key) >= 0
}

// hasValue reports whether data holds the member key with a string value
// (a finish_reason that is not null).
func hasValue(data []byte, key string) bool {
	for {
		i := keyValue(data, key)
		if i < 0 {
			return false
		}
		if data[i] == '"' {
			return true
		}
		data = data[i:]
	}
}

// keyValue returns the offset of the value of the first member named key
// in data, -1 if there is none.
func keyValue(data []byte, key string) int {
	off := 0
	for {
		i := bytes.Index(data[off:], []byte(key))
		if i < 0 {
			return -1
		}
		j := off + i + len(key)
		for j < len(data) && isSpace(data[j]) {
			j++
		}
		if j < len(data) && data[j] == ':' {
			j++
			for j < len(data) && isSpace(data[j]) {
				j++
			}
			if j < len(data) {
				return j
			}
			return -1
		}
		off = j
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
