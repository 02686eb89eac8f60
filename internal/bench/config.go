package bench

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"time"
)

// Config describes one run of the load generator. The zero value of a field means its default.
type Config struct {
	// Records is how many synthetic records to send (required).
	Records int
	// Rate is the offered load in records per second; 0 sends as fast as Concurrency allows.
	Rate float64
	// Concurrency bounds the outstanding Log calls (or POSTs to Target). Default:
	// DefaultConcurrency(LogBatch).
	Concurrency int
	// LogBatch is the number of records per Log call (or per POST to Target). Default 1.
	LogBatch int
	// Connections is the built-in policy's connection_limit and the baseline client's number of
	// concurrent requests. Default 32, KumoMTA's default connection_limit.
	Connections int
	// Batch makes the built-in policy deliver with send_batch, Batch records (a JSON array) per
	// webhook request; 0 or 1 posts one record per request. The baseline posts the same arrays.
	Batch int
	// MinBatch is the built-in policy's min_batch_size. Default: Batch.
	MinBatch int
	// BatchLatency is the built-in policy's max_batch_latency, and how long a baseline worker waits
	// to fill a batch. Default 100ms.
	BatchLatency time.Duration
	// Mix is the proportion of each record type. Default DefaultMix.
	Mix Mix
	// Queues is the number of tenants; the built-in policies give each its own webhook queue.
	// Default 1; with Cluster, 4 per member (in both phases, so that they compare).
	Queues int
	// Seed seeds the record generator and the receiver's simulated failures. Default 1.
	Seed uint64
	// FailRate is the fraction of webhook requests the receiver answers 503, in [0, 1).
	FailRate float64
	// PolicyFile replaces the built-in policy. WEBHOOK_URL is set to the receiver's URL in the
	// environment, and "{{WEBHOOK_URL}}" in the script is replaced by it.
	PolicyFile string
	// SpoolDir is the engine's spool directory; it must be empty or absent. Default: a temporary
	// directory, removed at the end.
	SpoolDir string
	// Memory makes the engine keep its queue in memory instead of a durable spool.
	Memory bool
	// HookWorkers is the engine's number of Lua states per log hook (engine.Config.HookWorkers);
	// 0 keeps the engine's default.
	HookWorkers int
	// HeapBudget, when positive, paces the collector during the engine's phase as `hookd run` does
	// (internal/gcpace): the Go heap may grow by this many bytes less what the engine holds off-heap.
	HeapBudget int64
	// Target is the base URL of a running `hookd run` node to drive through POST /api/log/v1,
	// instead of an engine in this process. Its policy must deliver to the receiver (Listen).
	Target string
	// Listen is the receiver's address. Default 127.0.0.1:0, or 127.0.0.1:8081 with Target (where
	// examples/webhook/policy.lua delivers by default).
	Listen string
	// Baseline measures a plain Go HTTP client posting the same bodies to the receiver first.
	Baseline bool
	// Dead points the built-in policy at a closed port: every record stays queued, and the report
	// shows the memory they take.
	Dead bool
	// Cluster, when 2 or more, adds a cluster phase after the hookd phase: that many engines in this
	// process form a cluster over loopback (engine.Config.Cluster), with the same policy and spool
	// kind (Memory, else a temporary directory each), and the records are offered to the members in
	// turn, so that about (Cluster-1)/Cluster of them are forwarded to their queue's owner. The
	// report compares the two phases (ClusterFigures). 0: no cluster phase; at most MaxCluster.
	Cluster int
	// Timeout bounds each phase's wait for deliveries. Default 5 minutes.
	Timeout time.Duration
	// DecodeEvery makes the receiver decode every N-th request in full (see ReceiverConfig).
	// Default 100; negative: never. (A full decode costs the receiver far more than the scan.)
	DecodeEvery int
	// CPUProfile, when set, receives a pprof CPU profile of the hookd phase.
	CPUProfile io.Writer
	// BaselineCPUProfile, when set, receives a pprof CPU profile of the baseline phase (Baseline
	// must be set), to set beside the hookd phase's.
	BaselineCPUProfile io.Writer
	// MemProfile, when set, receives a pprof heap profile taken when the last record was accepted.
	MemProfile io.Writer
	// Progress, when set, is called a few times a second while a phase runs.
	Progress func(Progress)
	// Logger receives the engine's logs. Default: errors only, to stderr.
	Logger *slog.Logger

	// keepBodies is ReceiverConfig.KeepBodies, for tests.
	keepBodies int
}

// Progress is a phase's state, for progress displays.
type Progress struct {
	Phase     string
	Records   int           // records the phase sends
	Accepted  int           // accepted so far
	Delivered int           // distinct records received so far
	Expected  int           // records the receiver should get; -1 until known
	Queued    int64         // messages waiting in the engine's queues (in-process runs)
	Elapsed   time.Duration // since the phase started
	Done      bool          // the phase's last report
}

// ConfigError is a Config that does not make sense: the caller's mistake, not the run's.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }

func (e *ConfigError) Unwrap() error { return e.Err }

// withDefaults validates c and returns it with its defaults filled in.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	positive := func(name string, v int) {
		if v < 0 {
			bad("%s must not be negative (got %d)", name, v)
		}
	}
	if c.Records <= 0 {
		bad("records must be at least 1 (got %d)", c.Records)
	}
	if c.Rate < 0 {
		bad("rate must not be negative (got %v)", c.Rate)
	}
	positive("concurrency", c.Concurrency)
	positive("log batch", c.LogBatch)
	positive("connections", c.Connections)
	positive("batch", c.Batch)
	positive("min batch", c.MinBatch)
	positive("queues", c.Queues)
	positive("hook workers", c.HookWorkers)
	if c.FailRate < 0 || c.FailRate >= 1 {
		bad("fail rate must be in [0, 1) (got %v): at 1 nothing is ever delivered", c.FailRate)
	}
	if c.Batch > 1 && c.MinBatch > c.Batch {
		bad("min batch (%d) must not exceed batch (%d)", c.MinBatch, c.Batch)
	}
	if c.Memory && c.SpoolDir != "" {
		bad("choose the memory spool or a spool directory, not both")
	}
	if c.BaselineCPUProfile != nil && !c.Baseline {
		bad("a CPU profile of the baseline needs the baseline phase (--baseline)")
	}
	if c.PolicyFile != "" && c.Batch > 1 {
		bad("batch configures the built-in policy; a policy file decides its own batching")
	}
	if c.Target != "" {
		u, err := url.Parse(c.Target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("target %q is not an http(s) URL such as http://127.0.0.1:8000", c.Target)
		}
		for name, set := range map[string]bool{"a spool directory": c.SpoolDir != "", "the memory spool": c.Memory,
			"hook workers": c.HookWorkers > 0, "a heap budget": c.HeapBudget > 0,
			"a policy": c.PolicyFile != "", "dead-webhook mode": c.Dead, "batch": c.Batch > 1, "a CPU profile": c.CPUProfile != nil,
			"a heap profile": c.MemProfile != nil} {
			if set {
				bad("%s applies to an engine in this process, not to a target node", name)
			}
		}
	}
	switch {
	case c.Cluster < 0 || c.Cluster == 1 || c.Cluster > MaxCluster:
		bad("a cluster has 2 to %d members (got %d)", MaxCluster, c.Cluster)
	case c.Cluster > 0 && c.Target != "":
		bad("a cluster runs in this process; it cannot drive a target node")
	case c.Cluster > 0 && c.Dead:
		bad("a cluster is measured by what it delivers: dead-webhook mode delivers nothing")
	case c.Cluster > 0 && c.SpoolDir != "":
		bad("cluster members spool to temporary directories (or memory): a spool directory is for the single node alone")
	}
	if c.Dead && (c.Baseline || c.FailRate > 0) {
		bad("dead-webhook mode delivers nothing: it takes neither a baseline nor a fail rate")
	}
	if err := errors.Join(errs...); err != nil {
		return c, &ConfigError{err}
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.LogBatch, 1)
	def(&c.Concurrency, DefaultConcurrency(c.LogBatch))
	def(&c.Connections, 32)
	def(&c.Batch, 1)
	def(&c.MinBatch, c.Batch)
	if c.Cluster > 0 {
		def(&c.Queues, queuesPerMember*c.Cluster)
	}
	def(&c.Queues, 1)
	def(&c.DecodeEvery, 100)
	if c.BatchLatency == 0 {
		c.BatchLatency = 100 * time.Millisecond
	}
	if c.Mix == nil {
		c.Mix = DefaultMix
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Minute
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
		if c.Target != "" {
			c.Listen = "127.0.0.1:8081"
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	return c, nil
}

// MaxCluster is the most members Config.Cluster may ask for.
const MaxCluster = 16

// queuesPerMember is the number of queues (tenants) per cluster member when Config.Queues is not
// set in a run with a cluster phase, so that every member owns some.
const queuesPerMember = 4

// DefaultConcurrency is the number of outstanding Log calls a run makes when not told: 64, or fewer
// with records batched per call, so that about a thousand records are in flight. More only fills the
// engine's queues (and the heap) without delivering faster.
func DefaultConcurrency(logBatch int) int {
	return min(64, max(8, 1024/max(logBatch, 1)))
}
