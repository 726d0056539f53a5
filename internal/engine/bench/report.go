package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// row is one line of the results table.
type row struct {
	file    string
	model   string // "llama Q8_0"
	size    int64  // bytes of tensor data
	params  int64
	threads int
	test    string // pp512, tg128
	n       int    // tokens per run
	samples []float64
	mean    float64
	stddev  float64
	peakRSS int64 // bytes; 0 if unknown
	mapped  bool  // the weights were a mapping of the file (--mmap)
}

// writeTable writes llama-bench's markdown table, with the model named by
// its file (several files of one architecture and type are told apart)
// and its architecture and type in a column of their own.
func writeTable(w io.Writer, rows []row) {
	fmt.Fprintf(w, "| %-30s | %-12s | %10s | %10s | %-7s | %7s | %13s | %20s | %10s |\n",
		"model", "type", "size", "params", "backend", "threads", "test", "t/s", "peak RSS")
	fmt.Fprintf(w, "| %s | %s | %s: | %s: | %s | %s: | %s: | %s: | %s: |\n",
		strings.Repeat("-", 30), strings.Repeat("-", 12), strings.Repeat("-", 9), strings.Repeat("-", 9), strings.Repeat("-", 7),
		strings.Repeat("-", 6), strings.Repeat("-", 12), strings.Repeat("-", 19), strings.Repeat("-", 9))
	for _, r := range rows {
		peak := "-"
		if r.peakRSS > 0 {
			peak = fmt.Sprintf("%.1f MiB", float64(r.peakRSS)/(1<<20))
		}
		fmt.Fprintf(w, "| %-30s | %-12s | %10s | %10s | %-7s | %7d | %13s | %20s | %10s |\n",
			filepath.Base(r.file), r.model, fmt.Sprintf("%.2f MiB", float64(r.size)/(1<<20)), fmt.Sprintf("%.2f M", float64(r.params)/1e6),
			"Go CPU", r.threads, r.test, fmt.Sprintf("%.2f ± %.2f", r.mean, r.stddev), peak)
	}
}

// writeJSONL writes one object per test, with llama-bench's -o jsonl
// field names where they exist.
func writeJSONL(w io.Writer, rows []row) {
	enc := json.NewEncoder(w)
	for _, r := range rows {
		nPrompt, nGen := r.n, 0
		if strings.HasPrefix(r.test, "tg") {
			nPrompt, nGen = 0, r.n
		}
		enc.Encode(map[string]any{
			"build_commit": "parley", "backends": "Go CPU",
			"model_filename": r.file, "model_type": r.model, "model_size": r.size, "model_n_params": r.params,
			"n_threads": r.threads, "n_prompt": nPrompt, "n_gen": nGen, "test": r.test,
			"avg_ts": r.mean, "stddev_ts": r.stddev, "samples_ts": r.samples, "peak_rss_bytes": r.peakRSS,
			"use_mmap": r.mapped,
		})
	}
}

// peakRSS is the process's resident high-water mark (VmHWM): weights
// paged in from the mapped file count, as they do for llama.cpp.
func peakRSS() int64 {
	fh, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			fields := strings.Fields(rest)
			if len(fields) >= 1 {
				kb, _ := strconv.ParseInt(fields[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// resetPeakRSS starts a new high-water mark so each row's peak is its own
// (Linux: writing 5 to clear_refs); elsewhere the peak stays cumulative.
func resetPeakRSS() {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}
