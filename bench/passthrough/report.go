package main

import (
	"fmt"
	"strings"
	"time"
)

// report renders the medians over the runs as a markdown table per kind
// of request. Added latency is a proxy's median minus the upstream's
// alone; ratios compare a proxy with the floor.
func report(c config, all []result) string {
	type key struct{ target, kind string }
	series := map[key][]result{}
	for _, r := range all {
		k := key{r.Target, r.Kind}
		series[k] = append(series[k], r)
	}
	med := func(k key, f func(result) float64) float64 {
		var xs []float64
		for _, r := range series[k] {
			xs = append(xs, f(r))
		}
		return median(xs)
	}
	fixed := func(r result) float64 { return us(r.FixedP50) }
	single := func(r result) float64 { return us(r.SingleP50) }
	closed := func(r result) float64 { return r.ClosedRPS }
	rss := func(r result) float64 { return float64(r.PeakRSS) / (1 << 20) }
	names := map[string]string{"upstream": "upstream alone", "floor": "httputil.ReverseProxy (floor)",
		"model": "`parley model --backend openai`", "api": "`parley api` /v1"}
	var b strings.Builder
	for _, kind := range c.kinds {
		up, floor := key{"upstream", kind}, key{"floor", kind}
		fmt.Fprintf(&b, "%s requests (medians of %d runs, %s each):\n\n", kind, c.runs, c.duration.Round(time.Second))
		fmt.Fprintf(&b, "| path | p50 at %d/s | added | × floor | p50, one connection | added | × floor | closed loop (%d) | × floor | peak RSS |\n",
			c.rate, c.workers)
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, target := range append([]string{"upstream"}, c.targets...) {
			k := key{target, kind}
			if len(series[k]) == 0 {
				continue
			}
			row := []string{names[target], fmt.Sprintf("%.0f µs", med(k, fixed))}
			if med(k, func(r result) float64 { return r.FixedSuccess }) < 0.99 {
				row[1] += " (failures)"
			}
			for _, lat := range []func(result) float64{fixed, single} {
				if target == "upstream" {
					if len(row) > 2 {
						row = append(row, fmt.Sprintf("%.0f µs", med(k, lat)))
					}
					row = append(row, "", "")
					continue
				}
				added := med(k, lat) - med(up, lat)
				if len(row) > 2 {
					row = append(row, fmt.Sprintf("%.0f µs", med(k, lat)))
				}
				row = append(row, fmt.Sprintf("%.0f µs", added), ratio(added, med(floor, lat)-med(up, lat), series[floor] != nil))
			}
			row = append(row, fmt.Sprintf("%.0f req/s", med(k, closed)))
			if target == "upstream" {
				row = append(row, "", "")
			} else {
				row = append(row, ratio(med(k, closed), med(floor, closed), series[floor] != nil), fmt.Sprintf("%.1f MB", med(k, rss)))
			}
			b.WriteString("| " + strings.Join(row, " | ") + " |\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func ratio(x, floor float64, haveFloor bool) string {
	if !haveFloor || floor <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", x/floor)
}
