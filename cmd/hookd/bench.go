package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hookd/hookd/internal/bench"
	"github.com/hookd/hookd/internal/gcpace"
)

func cmdBench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: hookd bench [flags]

Load generator: feeds synthetic KumoMTA log records to an engine in this process (or to a running
node with --target), delivers them to a loopback webhook receiver, and reports throughput, latency
(Log returned -> webhook received), CPU per record and memory. --baseline first measures a plain Go
HTTP client posting the same bodies, and reports hookd's figures as multiples of it. --cluster N
then runs the same records through N engines in this process joined as a cluster on loopback,
offering each record to the next member in turn, and reports the cluster's throughput against the
single node's and the CPU a forwarded record costs.

`)
		fs.PrintDefaults()
	}
	var cfg bench.Config
	fs.IntVar(&cfg.Records, "records", 100000, "synthetic log records to send")
	fs.Float64Var(&cfg.Rate, "rate", 0, "records per second offered (0: as fast as --concurrency allows)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 0, "outstanding Log calls (or POSTs to --target) (default 64; with --log-batch N, 1024/N but 8 at least)")
	fs.IntVar(&cfg.LogBatch, "log-batch", 1, "records per Log call (or per POST to --target)")
	fs.IntVar(&cfg.Connections, "connections", 32, "the built-in policy's connection_limit, and the baseline's concurrent requests")
	fs.IntVar(&cfg.Batch, "batch", 1, "records per webhook request: >1 makes the built-in policy use send_batch with JSON arrays")
	fs.IntVar(&cfg.MinBatch, "min-batch", 0, "the built-in batch policy's min_batch_size (default: --batch)")
	fs.DurationVar(&cfg.BatchLatency, "batch-latency", 100*time.Millisecond, "the built-in batch policy's max_batch_latency")
	mix := fs.String("mix", bench.DefaultMix.String(), "record types and their weights, TYPE=WEIGHT,...")
	fs.IntVar(&cfg.Queues, "queues", 0, "distinct tenants; the built-in policies give each its own webhook queue (default 1; with --cluster N, 4N)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the record generator and of the receiver's failures")
	fs.Float64Var(&cfg.FailRate, "fail-rate", 0, "fraction of webhook requests the receiver answers 503 (retried by the policy)")
	fs.StringVar(&cfg.PolicyFile, "policy", "", "a policy of your own instead of the built-in one ($WEBHOOK_URL and {{WEBHOOK_URL}} name the receiver)")
	fs.StringVar(&cfg.SpoolDir, "spool", "", "spool directory, empty or absent (default: a temporary directory)")
	fs.BoolVar(&cfg.Memory, "memory", false, "keep the queue in memory instead of a durable spool")
	fs.IntVar(&cfg.HookWorkers, "hook-workers", 0, "Lua states per log hook in the engine (default: the engine's, 1)")
	heapBudget := fs.Int("heap-budget", defaultHeapBudget>>20, "MiB the Go heap may grow by between collections, less what is queued off-heap, as in hookd run (0: the runtime's pacing; unused when $GOGC is set)")
	fs.StringVar(&cfg.Target, "target", "", "drive the running node at this URL (e.g. http://127.0.0.1:8000) through POST /api/log/v1")
	fs.StringVar(&cfg.Listen, "listen", "", "the receiver's address (default 127.0.0.1:0; 127.0.0.1:8081 with --target)")
	fs.BoolVar(&cfg.Baseline, "baseline", false, "first measure a plain Go HTTP client posting the same bodies, and report ratios")
	fs.BoolVar(&cfg.Dead, "dead", false, "point the policy at a closed port: queue every record and report the memory they take")
	fs.IntVar(&cfg.Cluster, "cluster", 0, "then run the same records through a cluster of N members in this process, "+
		"offered to each in turn, and report the cost of a forwarded record against the single node")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Minute, "how long each phase waits for deliveries")
	fs.IntVar(&cfg.DecodeEvery, "decode-every", 100, "the receiver decodes every N-th request in full (1: all; -1: none)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the hookd phase to this file")
	baseprofile := fs.String("baseline-cpuprofile", "", "write a CPU profile of the baseline phase to this file (with --baseline)")
	memprofile := fs.String("memprofile", "", "write a heap profile, taken when the last record was accepted, to this file")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	quiet := fs.Bool("quiet", false, "no progress display")
	level := fs.String("log-level", "error", "the engine's log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hookd bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *heapBudget < 0 {
		fmt.Fprintln(stderr, "hookd bench: --heap-budget must not be negative")
		return 2
	}
	if cfg.Target == "" && gcpace.Wanted(os.Getenv) {
		cfg.HeapBudget = int64(*heapBudget) << 20
	}
	var err error
	if cfg.Mix, err = bench.ParseMix(*mix); err != nil {
		fmt.Fprintln(stderr, "hookd bench: --mix:", err)
		return 2
	}
	if cfg.Logger, err = newLogger(stderr, *level); err != nil {
		fmt.Fprintln(stderr, "hookd bench:", err)
		return 2
	}
	if cfg.Cluster > 0 {
		defer useDefaultLogger(cfg.Logger)() // the cluster membership logs through the default logger
	}
	for _, p := range []struct {
		path string
		to   *io.Writer
	}{{*cpuprofile, &cfg.CPUProfile}, {*baseprofile, &cfg.BaselineCPUProfile}, {*memprofile, &cfg.MemProfile}} {
		if p.path == "" {
			continue
		}
		f, err := os.Create(p.path)
		if err != nil {
			fmt.Fprintln(stderr, "hookd bench:", err)
			return 1
		}
		defer f.Close()
		*p.to = f
	}
	var bar *progressBar
	if !*quiet {
		bar = &progressBar{w: stderr, tty: isTerminal(stderr)}
		cfg.Progress = bar.update
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, cfg)
	bar.end()
	if rep == nil {
		fmt.Fprintln(stderr, "hookd bench:", err)
		if _, bad := errors.AsType[*bench.ConfigError](err); bad {
			return 2
		}
		return 1
	}
	if *asJSON {
		err = errors.Join(err, rep.WriteJSON(stdout))
	} else {
		err = errors.Join(err, rep.WriteTable(stdout))
	}
	if err != nil {
		fmt.Fprintln(stderr, "hookd bench:", err)
		return 1
	}
	if (rep.Hookd != nil && !rep.Hookd.Complete) || (rep.Baseline != nil && !rep.Baseline.Complete) ||
		(rep.Cluster != nil && !rep.Cluster.Complete) {
		return 1
	}
	return 0
}

// progressBar shows a phase's progress on stderr: a bar redrawn in place on a terminal, a plain line
// every two seconds otherwise; each phase ends with a line of its own.
type progressBar struct {
	w    io.Writer
	tty  bool
	mu   sync.Mutex
	last time.Time
	drew bool
}

func (b *progressBar) update(p bench.Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	done := p.Delivered
	want := p.Expected
	if want < 0 {
		want = p.Records
	}
	what := "delivered"
	if want == 0 { // dead-webhook mode: nothing is delivered, everything is queued
		done, want, what = int(p.Queued), p.Accepted, "queued"
	}
	if b.tty {
		const width = 30
		filled := width
		if want > 0 {
			filled = min(width, done*width/want)
		}
		fmt.Fprintf(b.w, "\r%-8s [%s%s] accepted %d/%d, %s %d/%d, %.1fs ", p.Phase, strings.Repeat("#", filled),
			strings.Repeat(".", width-filled), p.Accepted, p.Records, what, done, want, p.Elapsed.Seconds())
		b.drew = !p.Done
		if p.Done {
			fmt.Fprintln(b.w)
		}
		return
	}
	if !p.Done && time.Since(b.last) < 2*time.Second {
		return
	}
	b.last = time.Now()
	fmt.Fprintf(b.w, "%s: accepted %d/%d, %s %d/%d, %.1fs\n", p.Phase, p.Accepted, p.Records, what, done, want,
		p.Elapsed.Seconds())
}

// end finishes the bar's line.
func (b *progressBar) end() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drew {
		fmt.Fprintln(b.w)
	}
}

// useDefaultLogger makes l the process's default logger (slog's, and the log package's through it)
// until the returned function puts back the previous ones.
func useDefaultLogger(l *slog.Logger) (restore func()) {
	prev, out, flags := slog.Default(), log.Writer(), log.Flags()
	slog.SetDefault(l)
	return func() {
		slog.SetDefault(prev)
		log.SetOutput(out)
		log.SetFlags(flags)
	}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
