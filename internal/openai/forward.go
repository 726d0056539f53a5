package openai

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/parley-chat/parley/internal/chat"
)

// Response is a server's 2xx answer to a forwarded request. Close it.
type Response struct {
	// Model is the model the request went out for.
	Model string

	c      *Client
	parent context.Context
	cl     *call
	resp   *http.Response

	// head is what Prime read ahead, passed on before the rest; whole
	// says it is all of the answer (then buf holds it).
	head  []byte
	whole bool
	buf   *bytes.Buffer
	// failed is the error reading the answer ended in; onClose hears it.
	failed error
	// usage is what the answer said it used, once read (Usage).
	usage   chat.Usage
	onClose func(failed error)
}

// Forward sends req to the server without turning it into Parley's terms
// and back: the body goes as the client wrote it, but for what
// Request.AppendBody changes (the model, resolved here when req names
// none; the token limit; the ignored fields). Failures before the answer
// are mapped as Generate maps them.
func (c *Client) Forward(ctx context.Context, req *Request) (*Response, error) {
	model, err := c.model(ctx, req.Target())
	if err != nil {
		return nil, err
	}
	path := "/chat/completions"
	if req.Legacy {
		path = "/completions"
	}
	body := req.AppendBody(make([]byte, 0, len(req.body)+64), model)
	resp, cl, err := c.do(ctx, http.MethodPost, path, body, model)
	if err != nil {
		return nil, err
	}
	return &Response{Model: model, c: c, parent: ctx, cl: cl, resp: resp}, nil
}

// DefaultModel names the model a request without one goes to.
func (c *Client) DefaultModel(ctx context.Context) (string, error) { return c.model(ctx, "") }

// Close ends the exchange.
func (r *Response) Close() {
	r.resp.Body.Close()
	r.cl.stop()
	if r.buf != nil {
		if r.buf.Cap() <= 1<<20 {
			wholeBufs.Put(r.buf)
		}
		r.buf, r.head = nil, nil
	}
	if f := r.onClose; f != nil {
		r.onClose = nil
		f(r.failed)
	}
}

// OnClose makes Close call f with the error that reading the answer
// ended in: nil when it was read to its end, or when the client went away
// (ErrClientGone is the client's doing, not the server's). Functions
// given by several calls all run, first given first.
func (r *Response) OnClose(f func(failed error)) {
	if prev := r.onClose; prev != nil {
		r.onClose = func(failed error) { prev(failed); f(failed) }
		return
	}
	r.onClose = f
}

// ContentType is the answer's media type, without parameters.
func (r *Response) ContentType() string {
	mt, _, _ := strings.Cut(r.resp.Header.Get("Content-Type"), ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// IsStream reports whether the answer is an event stream.
func (r *Response) IsStream() bool { return r.ContentType() == "text/event-stream" }

// err maps a failure while reading the answer: the caller's cancellation as
// is, our timers as timeouts, a *chat.Error as it is, anything else as a
// broken stream.
func (r *Response) err(err error) error {
	var ce *chat.Error
	switch {
	case err == nil || errors.Is(err, ErrClientGone):
		return err
	case r.parent.Err() != nil:
		err = context.Cause(r.parent)
	case !errors.As(err, &ce):
		err = r.c.callErr(r.parent, r.cl, err, brokeOff)
	}
	r.failed = err
	return err
}

// src is the answer's body, with what Prime read ahead in front.
//
// Not inlined: its readers' temporaries would stay in Relay's frame,
// under every event of a stream (see the stack note in httpx).
//
//go:noinline
func (r *Response) src() io.Reader {
	switch {
	case r.whole:
		return bytes.NewReader(r.head)
	case len(r.head) > 0:
		return io.MultiReader(bytes.NewReader(r.head), r.resp.Body)
	}
	return r.resp.Body
}

// Relay copies the streamed answer to w, flushing as events arrive; see
// relay for what it guarantees. It returns nil once "data: [DONE]" went
// out, ErrClientGone when w failed, else the stream's error as a
// *chat.Error (or the caller's cancellation).
func (r *Response) Relay(w io.Writer, flush func()) error {
	err := newRelay(w, flush, r.src(), DefaultMaxEventBytes, &r.usage).run()
	if err == nil {
		r.cl.drain(r.resp.Body)
	}
	return r.err(err)
}

var wholeBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// WriteTo writes the whole answer to w, with its length. It is read first
// (up to 16 MiB): a server that reports an error in a 2xx answer
// ({"error": …}) gets it mapped, not passed on. Errors before anything was
// written are mapped as Relay's; ErrClientGone means w failed.
func (r *Response) WriteTo(w http.ResponseWriter) error {
	body, err := r.wholeBody()
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", r.ContentType())
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	readUsage(body, &r.usage)
	if _, err := w.Write(body); err != nil {
		return ErrClientGone
	}
	return nil
}

// Usage is the token counts the answer reported, once Relay or WriteTo
// passed it on: zero when the server reported none (a stream whose
// request did not ask for stream_options.include_usage).
func (r *Response) Usage() chat.Usage { return r.usage }

// Collect reads an answer that came as one JSON document (a server that
// ignored "stream": true) and returns its text and outcome.
func (r *Response) Collect() (string, chat.Generation, error) {
	var text strings.Builder
	st := &stream{gen: chat.Generation{Model: r.Model}, emit: func(d chat.Delta) error {
		text.WriteString(d.Content)
		return nil
	}}
	if err := st.readJSON(r.src()); err != nil {
		return "", st.gen, r.err(err)
	}
	return text.String(), st.gen, nil
}
