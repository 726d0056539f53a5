// Command passthrough measures what Parley's OpenAI-compatible
// pass-through adds to a request, side by side in one run with a bare
// httputil.ReverseProxy (the floor): `parley model --backend openai` and
// `parley api`'s /v1, each in front of the same loopback mock upstream.
// The proxy under test is pinned to one core; the mock upstream and the
// load generator (vegeta) share the other. For plain and streamed
// requests it measures the median latency at a fixed rate and over one
// connection (minus what the upstream alone takes: the added latency),
// closed-loop throughput, and the proxy's peak RSS. See README.md.
//
// The same binary is the mock upstream (`passthrough upstream`) and the
// floor (`passthrough floor`), which the harness starts itself.
package main

import (
	"fmt"
	"os"
)

func main() {
	var err error
	sub := ""
	if len(os.Args) > 1 {
		sub = os.Args[1]
	}
	switch sub {
	case "upstream":
		err = runUpstream(os.Args[2:])
	case "floor":
		err = runFloor(os.Args[2:])
	default:
		err = run(os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "passthrough:", err)
		os.Exit(1)
	}
}
