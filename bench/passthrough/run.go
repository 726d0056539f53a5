package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is the harness's command line.
type config struct {
	parley, vegeta    string
	proxyCPU, loadCPU string
	duration, warmup  time.Duration
	rate, workers     int
	runs, tokens      int
	targets, kinds    []string
	out               string
	keepLogs          bool
}

func parseConfig(args []string) (config, error) {
	var c config
	var targets, kinds string
	fs := flag.NewFlagSet("passthrough", flag.ContinueOnError)
	fs.StringVar(&c.parley, "parley", "", "parley binary (default: build ./cmd/parley)")
	fs.StringVar(&c.vegeta, "vegeta", "", "vegeta binary (default: vegeta on PATH or in $(go env GOPATH)/bin)")
	fs.StringVar(&c.proxyCPU, "proxy-cpu", "0", "CPU the proxy under test is pinned to (taskset -c)")
	fs.StringVar(&c.loadCPU, "load-cpu", "1", "CPU the mock upstream and vegeta are pinned to")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "length of each measurement")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "warm-up load before measuring a proxy")
	fs.IntVar(&c.rate, "rate", 1000, "requests per second of the fixed-rate measurement")
	fs.IntVar(&c.workers, "workers", 64, "concurrent requests of the closed-loop measurement")
	fs.IntVar(&c.runs, "runs", 2, "runs; figures are medians over them")
	fs.IntVar(&c.tokens, "tokens", 16, "tokens (stream events) per answer")
	fs.StringVar(&targets, "targets", "floor,model,api", "proxies to measure: floor, model, api")
	fs.StringVar(&kinds, "kinds", "plain,stream", "requests: plain, stream")
	fs.StringVar(&c.out, "out", "", "directory for raw results (default: a temporary one)")
	fs.BoolVar(&c.keepLogs, "logs", false, "keep the proxies' logs in -out (default: they go to /dev/null)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.targets, c.kinds = strings.Split(targets, ","), strings.Split(kinds, ",")
	for _, t := range c.targets {
		if t != "floor" && t != "model" && t != "api" {
			return c, fmt.Errorf("-targets: unknown %q", t)
		}
	}
	for _, k := range c.kinds {
		if k != "plain" && k != "stream" {
			return c, fmt.Errorf("-kinds: unknown %q", k)
		}
	}
	return c, nil
}

// result is one proxy's figures for one kind of request in one run.
type result struct {
	Target, Kind    string
	FixedP50        time.Duration // at -rate
	FixedSuccess    float64
	SingleP50       time.Duration // one connection, one request at a time
	ClosedRPS       float64       // successful requests per second at -workers
	ClosedSuccess   float64
	PeakRSS, EndRSS int64 // bytes; 0 for the upstream alone
}

func run(args []string) error {
	c, err := parseConfig(args)
	if err != nil {
		return err
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return errors.New("taskset not found (Debian: util-linux)")
	}
	if c.vegeta, err = findVegeta(c.vegeta); err != nil {
		return err
	}
	if c.out == "" {
		if c.out, err = os.MkdirTemp("", "passthrough-bench-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	if c.parley == "" {
		c.parley = filepath.Join(c.out, "parley")
		fmt.Fprintln(os.Stderr, "building parley ...")
		// As the Makefile and the image build it: static (no libc mapped
		// in, which alone adds 2 MB of RSS), stripped.
		build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", c.parley, "./cmd/parley")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build parley (run from the repository root, or pass -parley): %w", err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	// Ctrl-C stops the processes the harness started, not just itself.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	upAddr := freeAddr()
	up, err := startProc(ctx, c, c.loadCPU, "upstream", self, "upstream", "-addr", upAddr, "-tokens", strconv.Itoa(c.tokens))
	if err != nil {
		return err
	}
	defer up.stop()
	upURL := "http://" + upAddr
	if err := waitReady(upURL + "/v1/models"); err != nil {
		return fmt.Errorf("upstream: %w", err)
	}
	printHeader(c)
	var all []result
	for r := 1; r <= c.runs; r++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Printf("run %d: uptime before: %s\n", r, uptime())
		res, err := measureRun(ctx, c, r, self, upURL)
		if err != nil {
			return fmt.Errorf("run %d: %w", r, err)
		}
		all = append(all, res...)
		fmt.Printf("run %d: uptime after:  %s\n", r, uptime())
	}
	raw, _ := json.MarshalIndent(all, "", "  ")
	if err := os.WriteFile(filepath.Join(c.out, "results.json"), raw, 0o644); err != nil {
		return err
	}
	fmt.Println()
	fmt.Print(report(c, all))
	fmt.Printf("\nraw vegeta results and results.json in %s\n", c.out)
	return nil
}

func findVegeta(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	if p, err := exec.LookPath("vegeta"); err == nil {
		return p, nil
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "vegeta")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("vegeta not found: go install github.com/tsenart/vegeta/v12@v12.13.0 (or pass -vegeta)")
}

// target is one path measured: a proxy (or, for "upstream", none: vegeta
// goes straight to the mock).
type target struct {
	name, url string
	p         *proc
}

// measureRun starts every proxy, then takes each measurement on each path
// back to back, so that a change in the machine's load touches all of them
// alike. The proxies wait idle while another is measured.
func measureRun(ctx context.Context, c config, runNo int, self, upURL string) ([]result, error) {
	targets := []target{{name: "upstream", url: upURL}}
	for _, name := range c.targets {
		addr := freeAddr()
		var args []string
		switch name {
		case "floor":
			args = []string{self, "floor", "-addr", addr, "-upstream", upURL}
		case "model":
			args = []string{c.parley, "model", "--backend", "openai", "--upstream-url", upURL + "/v1",
				"--model", benchModel, "--addr", addr, "--log-format", "json"}
		case "api":
			db := filepath.Join(c.out, fmt.Sprintf("api-run%d.db", runNo))
			// The load is one client, far over a user's limits.
			args = []string{c.parley, "api", "--model-url", upURL, "--database", db, "--addr", addr, "--log-format", "json",
				"--rate-limit", "0", "--max-running-replies", "0"}
		}
		p, err := startProc(ctx, c, c.proxyCPU, fmt.Sprintf("%s-run%d", name, runNo), args[0], args[1:]...)
		if err != nil {
			return nil, err
		}
		defer p.stop()
		targets = append(targets, target{name: name, url: "http://" + addr, p: p})
	}
	for _, t := range targets[1:] {
		if err := waitReady(t.url + "/v1/models"); err != nil {
			return nil, err
		}
		// A few requests at a time: warm, without piling up connections
		// (and memory) on a machine that could not keep up with -rate.
		if _, err := attack(ctx, c, t.url, "stream", fmt.Sprintf("run%d-%s-warmup", runNo, t.name), c.warmup, 0, 8); err != nil {
			return nil, err
		}
	}
	results := make(map[string]*result)
	var out []result
	for _, kind := range c.kinds {
		for _, t := range targets {
			results[t.name+kind] = &result{Target: t.name, Kind: kind}
		}
		for _, m := range []struct {
			mode          string
			rate, workers int
			keep          func(*result, vegetaReport)
		}{
			{"fixed", c.rate, 0, func(r *result, v vegetaReport) { r.FixedP50, r.FixedSuccess = v.Latencies.P50, v.Success }},
			{"single", 0, 1, func(r *result, v vegetaReport) { r.SingleP50 = v.Latencies.P50 }},
			{"closed", 0, c.workers, func(r *result, v vegetaReport) { r.ClosedRPS, r.ClosedSuccess = v.Throughput, v.Success }},
		} {
			for _, t := range targets {
				rep, err := attack(ctx, c, t.url, kind, fmt.Sprintf("run%d-%s-%s-%s", runNo, t.name, kind, m.mode), c.duration, m.rate, m.workers)
				if err != nil {
					return nil, err
				}
				m.keep(results[t.name+kind], rep)
			}
		}
		for _, t := range targets {
			res := results[t.name+kind]
			if t.p != nil {
				res.PeakRSS, res.EndRSS = t.p.rss()
			}
			if res.FixedP50 > 10*res.SingleP50 {
				fmt.Printf("  warning: %s %s: p50 at %d/s is %.0fx the one-connection p50: the machine cannot keep that rate; the fixed-rate figures are queueing, not overhead\n",
					t.name, kind, c.rate, float64(res.FixedP50)/float64(res.SingleP50))
			}
			fmt.Printf("  %-8s %-6s p50 %6.0fµs at %d/s (%.1f%% ok), %6.0fµs on one connection, %7.0f req/s closed loop (%.1f%% ok), RSS %s\n",
				t.name, kind, us(res.FixedP50), c.rate, 100*res.FixedSuccess, us(res.SingleP50), res.ClosedRPS, 100*res.ClosedSuccess, mb(res.PeakRSS))
			out = append(out, *res)
		}
	}
	return out, nil
}

// vegetaReport is the part of `vegeta report -type=json` used here.
type vegetaReport struct {
	Latencies struct {
		P50 time.Duration `json:"50th"`
	} `json:"latencies"`
	Throughput float64        `json:"throughput"`
	Success    float64        `json:"success"`
	Errors     []string       `json:"errors"`
	Status     map[string]int `json:"status_codes"`
}

// requestBody is what every measured request asks.
func requestBody(kind string) string {
	stream := ""
	if kind == "stream" {
		stream = `,"stream":true`
	}
	return `{"model":"` + benchModel + `","messages":[{"role":"system","content":"You are a helpful assistant."},` +
		`{"role":"user","content":"Say hello in sixteen words."}],"max_tokens":64` + stream + `}`
}

// attack runs vegeta against url: at rate requests/s, or, with rate 0,
// closed-loop with workers requests at a time (1: over one connection).
func attack(ctx context.Context, c config, url, kind, name string, d time.Duration, rate, workers int) (vegetaReport, error) {
	var rep vegetaReport
	target, _ := json.Marshal(map[string]any{
		"method": "POST", "url": url + "/v1/chat/completions",
		"body":   base64.StdEncoding.EncodeToString([]byte(requestBody(kind))),
		"header": map[string][]string{"Content-Type": {"application/json"}},
	})
	targets := filepath.Join(c.out, "target-"+kind+".json")
	if err := os.WriteFile(targets, append(target, '\n'), 0o644); err != nil {
		return rep, err
	}
	bin := filepath.Join(c.out, name+".bin")
	args := []string{"-c", c.loadCPU, c.vegeta, "attack", "-format=json", "-targets=" + targets, "-duration=" + d.String(),
		"-rate=" + strconv.Itoa(rate), "-max-body=0", "-timeout=10s", "-output=" + bin}
	if rate == 0 {
		w := strconv.Itoa(workers)
		args = append(args, "-workers="+w, "-max-workers="+w)
		if workers == 1 {
			args = append(args, "-connections=1", "-max-connections=1")
		}
	}
	if out, err := exec.CommandContext(ctx, "taskset", args...).CombinedOutput(); err != nil {
		return rep, fmt.Errorf("vegeta attack: %v: %s", err, out)
	}
	out, err := exec.Command(c.vegeta, "report", "-type=json", bin).Output()
	if err != nil {
		return rep, fmt.Errorf("vegeta report: %w", err)
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return rep, fmt.Errorf("vegeta report: %w", err)
	}
	if rep.Success < 0.99 {
		errs := rep.Errors
		if len(errs) > 2 {
			errs = errs[:2]
		}
		fmt.Printf("  warning: %s: only %.1f%% of requests succeeded (%v, %v)\n", name, 100*rep.Success, rep.Status, errs)
	}
	return rep, nil
}

// proc is a process the harness started, pinned to a CPU.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

func startProc(ctx context.Context, c config, cpu, name, bin string, args ...string) (*proc, error) {
	cmd := exec.CommandContext(ctx, "taskset", append([]string{"-c", cpu, bin}, args...)...)
	logs := os.DevNull
	if c.keepLogs {
		logs = filepath.Join(c.out, name+".log")
	}
	f, err := os.Create(logs)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	return p, nil
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// rss returns the process's peak and current resident set (VmHWM, VmRSS).
func (p *proc) rss() (peak, now int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmHWM":
			peak = n << 10
		case "VmRSS":
			now = n << 10
		}
	}
	return peak, now
}

func waitReady(url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after 30s", url)
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func uptime() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return "load average " + strings.Join(f[:3], " ")
}

func printHeader(c config) {
	model := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	commit, _ := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	fmt.Printf("%s, %d CPUs (%s), %s, parley %s, proxy on CPU %s, upstream and vegeta on CPU %s\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), model, runtime.Version(),
		strings.TrimSpace(string(commit)), c.proxyCPU, c.loadCPU)
	fmt.Printf("%d tokens per answer, %s per measurement, fixed rate %d/s, closed loop %d workers, %d runs\n",
		c.tokens, c.duration, c.rate, c.workers, c.runs)
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func mb(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
