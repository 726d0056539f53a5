package openai

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// DefaultMaxEventBytes bounds one SSE event (all its data lines together),
// so that a server sending an endless line cannot exhaust memory.
const DefaultMaxEventBytes = 8 << 20

// ErrEventTooLarge is returned by SSEReader.Next for an event over the limit.
var ErrEventTooLarge = errors.New("sse: event too large")

// Event is one Server-Sent Event.
type Event struct {
	// Name is the "event:" field, "" for the default "message".
	Name string
	// Data is the "data:" lines joined with "\n".
	Data []byte
	ID   string
}

// SSEReader decodes a text/event-stream. It follows the WHATWG rules
// leniently: "field:value" and "field: value", comment lines starting with
// ':', multi-line data, LF or CRLF line ends, lines of any length up to the
// event limit, and a last event not followed by a blank line (servers that
// close right after "data: [DONE]").
type SSEReader struct {
	r   *bufio.Reader
	max int
}

// NewSSEReader returns a reader of the events in r; maxEventBytes <= 0 means
// DefaultMaxEventBytes.
func NewSSEReader(r io.Reader, maxEventBytes int) *SSEReader {
	if maxEventBytes <= 0 {
		maxEventBytes = DefaultMaxEventBytes
	}
	return &SSEReader{r: bufio.NewReaderSize(r, 64<<10), max: maxEventBytes}
}

// readLine returns one line without its end, reading past bufio's buffer
// for long lines. eof is true when the stream ended (the line may still be
// non-empty).
func (d *SSEReader) readLine(limit int) (line []byte, eof bool, err error) {
	for {
		chunk, err := d.r.ReadSlice('\n')
		if len(line)+len(chunk) > limit+2 {
			return nil, false, ErrEventTooLarge
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			line = line[:len(line)-1]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			return line, false, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			return line, true, nil
		default:
			return line, false, err
		}
	}
}

// Next returns the next event with data. It returns io.EOF at the clean end
// of the stream, and the transport's error (often io.ErrUnexpectedEOF) when
// the connection broke.
func (d *SSEReader) Next() (Event, error) {
	var (
		ev      Event
		data    []byte
		hasData bool
	)
	for {
		line, eof, err := d.readLine(d.max - len(data))
		if err != nil {
			return Event{}, err
		}
		if len(line) == 0 {
			if hasData {
				ev.Data = data
				return ev, nil
			}
			if eof {
				return Event{}, io.EOF
			}
			ev = Event{}
			continue
		}
		if line[0] != ':' {
			field, value, found := bytes.Cut(line, []byte(":"))
			if found && len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
			switch string(field) {
			case "data":
				if hasData {
					data = append(data, '\n')
				}
				data = append(data, value...)
				hasData = true
			case "event":
				ev.Name = string(value)
			case "id":
				ev.ID = string(value)
			}
		}
		if eof {
			if hasData {
				ev.Data = data
				return ev, nil
			}
			return Event{}, io.EOF
		}
	}
}

// DoneData is the data of the event that ends an OpenAI stream.
const DoneData = "[DONE]"

// IsDone reports whether ev is the "data: [DONE]" terminator.
func IsDone(ev Event) bool {
	return string(bytes.TrimSpace(ev.Data)) == DoneData
}
