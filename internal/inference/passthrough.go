package inference

import (
	"context"
	"errors"
	"net/http"

	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/openai"
)

// forward passes a checked request to the Forwarder and its answer back.
func (s *server) forward(ctx context.Context, w http.ResponseWriter, r *http.Request, req *openai.Request) error {
	resp, err := s.fwd.Forward(ctx, req)
	if err != nil {
		return s.failure(ctx, r, err)
	}
	defer resp.Close()
	switch {
	case req.Stream && resp.IsStream():
		return s.relay(ctx, w, r, resp)
	case req.Stream:
		return s.streamWhole(ctx, w, r, req, resp)
	}
	switch err := resp.WriteTo(w); {
	case errors.Is(err, openai.ErrClientGone):
		s.clientGone(r)
	case err != nil:
		return s.failure(ctx, r, err)
	}
	return nil
}

// relay copies a streamed answer, event by event.
func (s *server) relay(ctx context.Context, w http.ResponseWriter, r *http.Request, resp *openai.Response) error {
	sse, err := httpx.StartSSE(w)
	if err != nil {
		return err
	}
	// The events, framed already, go straight to w: through sse they
	// would pass one more frame under every write (see the stack note in httpx).
	err = resp.Relay(w, sse.Flush)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, openai.ErrClientGone):
		s.clientGone(r)
		return nil
	}
	return s.streamFailed(ctx, r, sse, err)
}

// streamWhole answers a streaming request whose server sent one JSON
// document (servers that ignore "stream") with the chunks it stands for.
func (s *server) streamWhole(ctx context.Context, w http.ResponseWriter, r *http.Request, req *openai.Request, resp *openai.Response) error {
	text, gen, err := resp.Collect()
	if err != nil {
		return s.failure(ctx, r, err)
	}
	rs := s.newReply(w, req.Legacy, gen.Model)
	if err := rs.start(); err != nil {
		return err
	}
	if text != "" {
		if err := rs.sse.Data(rs.deltaChunk(text)); err != nil {
			return nil
		}
	}
	return rs.finish(gen, req.IncludeUsage)
}
