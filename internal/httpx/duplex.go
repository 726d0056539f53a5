package httpx

import "net/http"

// FullDuplex wraps a handler that forwards its request body while it
// writes the response: a reverse proxy. Every proxy hop must use it.
//
// Go's HTTP/1 server, by default, reads any unread rest of the request
// body and closes it the moment a handler writes the response headers
// (golang/go#40747). A proxy's transport sends the body and then reads it
// once more to see its end; when the upstream answers between those two
// steps (a busy machine delays the transport's goroutine), the proxy
// copies the answer's headers, the server closes the body under the
// transport, the transport takes the failed read for a broken request and
// closes its connection to the upstream, and the client's stream ends
// mid-answer ("ReverseProxy read error during body copy: use of closed
// network connection").
//
// Full duplex removes the cause: the server leaves the body alone, and
// the transport reads it to its end whenever it gets to it. Reading the
// (bounded) body into memory before forwarding would also avoid the race,
// but only for bodies small enough to hold, and at the cost of
// store-and-forward on every request; full duplex keeps the proxy
// streaming both ways and needs no limit of its own. HTTP/2 is always
// full duplex, which is why the error there is ignored.
func FullDuplex(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 1 {
			_ = http.NewResponseController(w).EnableFullDuplex()
		}
		h.ServeHTTP(w, r)
	})
}
