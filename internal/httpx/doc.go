// Package httpx is the HTTP plumbing shared by every Parley service: the one
// place where domain errors become status codes and OpenAI-style JSON,
// request ids, access logs, panic recovery, body limits, health endpoints,
// server-sent events and graceful serving. It knows nothing of
// conversations or models.
//
// # The stack under a request
//
// net/http serves each connection on a goroutine whose stack starts small
// (4 or 8 KB) and keeps what it grew to until a GC finds it mostly unused;
// under load, the connections are mid-request when the GC looks. Two points
// of every request are deep: the first write of the answer, where
// net/http's chunkWriter.writeHeader (a 2.8 KB frame, and its callees
// another kilobyte) runs at the bottom of the stack the handlers built, and
// the access-log line, where slog passes its 300-byte Record by value
// through each log handler. With more than about 1.5 KB of Parley frames
// above the first, every busy connection's goroutine doubles to 16 KB:
// half a megabyte more at 64 connections, and the GC's heap goal counts
// stacks too. So the handlers that stay under every request keep their
// frames small:
//
//   - wrappers are types with a ServeHTTP method, not http.HandlerFunc
//     closures, whose trampoline is one more frame;
//   - what a wrapper keeps for the whole request lives in a heap object it
//     made anyway (the recorder, the route slot), and the work done before
//     or after calling the next handler (authentication, the access-log
//     line, a panic's 500) is in functions of its own, whose frames are
//     gone while the request runs;
//   - one mux routes a service's paths, not one mux in front of another.
//
// app's TestPassThroughStackDepth holds the frames of the pass-through
// path to a budget.
package httpx
