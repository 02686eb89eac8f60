// Package engine is hookd for embedding: load a KumoMTA-style log-hook policy, feed it log records
// and messages, and let it deliver them (usually to webhooks) with KumoMTA's retry, bounce and expiry
// behaviour.
//
//	Log / Inject ──► loggers ──► hooks (Lua: should_enqueue_log_record)
//	                                 │ kept
//	                                 ▼
//	                 spool ◄──── queues (get_queue_config, retry schedule)
//	                                 │ due
//	                                 ▼
//	                          sessions (custom_lua constructor: send / send_batch) ──► HTTP
//
// The caller's contract:
//  1. New loads the policy and runs its pre_init and init events once.
//  2. Start starts the actors and replays what the spool holds.
//  3. Log and Inject return once everything they caused to be queued is in the spool.
//  4. Stop stops intake, lets in-flight deliveries finish, and stops every actor.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd/actors"
	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/lua"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/persistence/segment"
)

// Config configures an Engine. Only Policy (or PolicySource) is required.
type Config struct {
	// Policy is the path of the policy script. With PolicySource set it only names the script in
	// error messages.
	Policy string
	// PolicySource is the policy script itself, for embedders that do not keep it in a file.
	PolicySource []byte
	// InMemory keeps queued messages in memory instead of a spool on disk, whatever the policy
	// defines (tests, benchmarks): they are lost when the process ends.
	InMemory bool
	// SpoolDir is the directory of the durable spool; it wins over kumo.define_spool.
	SpoolDir string
	// DefaultSpoolDir is used when neither SpoolDir nor the policy names a spool directory; when it is
	// empty too, messages are kept in memory. hookd run sets it to ./hookd-data.
	DefaultSpoolDir string
	// Clock is the source of time. Default: the wall clock.
	Clock clock.Clock
	// Logger receives hookd's and the policy's logs. Default: slog.Default().
	Logger *slog.Logger
	// NodeID is the node's UUID written into every record. Default: a random UUID.
	NodeID string
	// HookWorkers is the number of Lua states per log hook. Default 1.
	HookWorkers int
	// Functions are Go functions the policy calls as kumo.NAME(...) in every Lua state.
	Functions map[string]Func
	// LuaModules are Lua sources that `require` finds by name.
	LuaModules map[string]string
	// LuaDeadlines bound calls into the policy by kind (DefaultLuaDeadlines lists the kinds and
	// defaults); a call past its deadline is stopped and its Lua state replaced.
	LuaDeadlines map[string]time.Duration
	// LuaMemoryLimit bounds the memory one Lua state may hold, in bytes (DefaultLuaMemoryLimit when
	// 0, no bound when negative). A call that takes its state past it is stopped like a call past
	// its deadline: the record or message is handled as a policy error and the state is rebuilt.
	LuaMemoryLimit int64
	// Limits bound the queues, sessions and queued messages the node holds (DefaultLimits for zero
	// fields). Work past them is refused with ErrQueueFull or ErrTooManyQueues.
	Limits Limits
	// Cluster makes the engine one member of a cluster of hookd nodes (ClusterConfig); nil runs a
	// single node.
	Cluster *ClusterConfig

	// spool, when set (by this package's tests), is used instead of opening one.
	spool persistence.Spool
}

// Engine is one hookd node's pipeline.
type Engine struct {
	cfg    Config
	policy *lua.Policy

	mu       sync.Mutex
	sys      *actors.System
	spool    persistence.Spool
	spoolDir string
	registry *prometheus.Registry
	cluster  *clusterNode
}

// New loads the policy and runs its pre_init and init events. Errors read "FILE:LINE: reason".
func New(cfg Config) (*Engine, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real
	}
	if cfg.NodeID == "" {
		cfg.NodeID = uuid.NewString()
	}
	e := &Engine{cfg: cfg}
	p, err := e.loadPolicy()
	if err != nil {
		return nil, err
	}
	e.policy = p
	return e, nil
}

func (e *Engine) loadPolicy() (*lua.Policy, error) {
	cfg := &e.cfg
	opts := lua.Options{Logger: cfg.Logger, Functions: functions(cfg.Functions), Modules: cfg.LuaModules, Deadlines: cfg.LuaDeadlines,
		MemoryLimit: cfg.LuaMemoryLimit}
	opts.HTTP.ParseDuration = message.ParseDuration
	switch {
	case cfg.PolicySource != nil:
		name := cfg.Policy
		if name == "" {
			name = "policy.lua"
		}
		return lua.LoadSource(name, cfg.PolicySource, opts)
	case cfg.Policy != "":
		return lua.Load(cfg.Policy, opts)
	default:
		return nil, errors.New("hookd: no policy: set Config.Policy or Config.PolicySource")
	}
}

// Reload loads the policy file again and, when it loads, uses it for all new work: hook workers
// switch before their next record, new sessions and queue configurations use it, and sessions
// already open finish on the old one. When it does not load, the running policy stays and the error
// is returned. Log hooks, local logs, the spool and the listeners are set up at start only: changes
// to them are reported, and take effect at the next start.
func (e *Engine) Reload() error {
	sys, err := e.system()
	if err != nil {
		return err
	}
	p, err := e.loadPolicy()
	if err != nil {
		return err
	}
	old := e.PolicyConfig().Summary()
	if now := p.Config().Summary(); now != old {
		e.cfg.Logger.Warn("the reloaded policy configures hooks, logs, spools or listeners differently; "+
			"those changes take effect at the next start", "running", old, "reloaded", now)
	}
	e.mu.Lock()
	e.policy = p
	e.mu.Unlock()
	sys.Reload(p)
	return nil
}

// PolicyConfig is what the loaded policy configured in its init event: log hooks, spools, local
// logs, listeners.
func (e *Engine) PolicyConfig() *config.Policy {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.policy.Config()
}

// Start starts the actors and replays the spool.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sys != nil || e.spool != nil {
		return errors.New("hookd: engine already started")
	}
	spool, where, err := e.openSpool()
	if err != nil {
		return err
	}
	opts := actors.Options{Policy: e.policy, Spool: spool, Clock: e.cfg.Clock,
		Logger: e.cfg.Logger, NodeID: e.cfg.NodeID, HookWorkers: e.cfg.HookWorkers,
		Limits: actors.Limits(e.cfg.Limits)}
	var node *clusterNode
	incarnation := uint64(time.Now().UnixNano())
	if e.cfg.Cluster != nil {
		if node, err = newClusterNode(*e.cfg.Cluster); err != nil {
			return errors.Join(err, spool.Close())
		}
		opts.Cluster = node.options(incarnation)
	}
	sys, err := actors.Start(opts)
	if err != nil {
		if node != nil {
			node.stop()
		}
		return errors.Join(err, spool.Close())
	}
	if node != nil {
		if err := node.join(ctx, e, sys, incarnation); err != nil {
			stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			node.stop()
			return errors.Join(err, sys.Stop(stopCtx), spool.Close())
		}
	}
	e.sys, e.spool, e.spoolDir, e.cluster = sys, spool, where, node
	e.registry = e.newRegistry()
	return ctx.Err()
}

func (e *Engine) system() (*actors.System, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sys == nil {
		return nil, ErrNotStarted
	}
	return e.sys, nil
}

// Log offers log records to the policy's log hooks, as if the engine had produced them. Missing
// timestamp, event_time and nodeid are filled in. It returns once every hook has decided about every
// record and everything they enqueued is in the spool.
func (e *Engine) Log(ctx context.Context, recs ...*message.LogRecord) error {
	sys, err := e.system()
	if err != nil {
		return err
	}
	if err := e.Accepting(); err != nil {
		return err
	}
	now := e.cfg.Clock.Now()
	events := make([]actors.Record, len(recs))
	for i, r := range recs {
		if r == nil {
			return fmt.Errorf("record %d: nil", i)
		}
		if !r.Type.Valid() {
			return fmt.Errorf("record %d: field \"type\": unknown record type %q", i, r.Type)
		}
		if err := checkText(r); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		e.fill(r, now)
		events[i] = actors.ExternalRecord(*r)
	}
	return public(sys.Log(ctx, events))
}

func (e *Engine) fill(r *message.LogRecord, now timeT) {
	if r.Timestamp == 0 && r.EventTime.IsZero() {
		r.Timestamp, r.EventTime = now.Unix(), now.UTC()
	} else if r.EventTime.IsZero() {
		r.EventTime = unix(r.Timestamp)
	} else if r.Timestamp == 0 {
		r.Timestamp = r.EventTime.Unix()
	}
	if r.NodeID == "" {
		r.NodeID = e.cfg.NodeID
	}
}

// Accepting returns nil while the engine takes work, else why it does not: ErrNotStarted, ErrStopped
// once Stop began, ErrLowSpace while the spool's disk is short of space.
func (e *Engine) Accepting() error {
	sys, err := e.system()
	if err != nil {
		return err
	}
	if err := sys.Accepting(); err != nil {
		return public(err)
	}
	if ls, ok := e.spool.(lowSpacer); ok && ls.LowSpace() {
		return ErrLowSpace
	}
	return nil
}

// SpoolDir is the directory of the durable spool in use, "memory" for the in-memory spool, "given"
// for a Config.Spool, or "" before Start.
func (e *Engine) SpoolDir() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.spoolDir
}

// Stats returns the engine's running totals.
func (e *Engine) Stats() Stats {
	sys, err := e.system()
	if err != nil {
		return Stats{}
	}
	return Stats(sys.Stats())
}

// SpoolStats returns the durable spool's figures (writes, fsyncs, loads and cache hits, disk use),
// and false when the engine keeps its queue elsewhere (in memory, or a Config.Spool of another kind).
func (e *Engine) SpoolStats() (SpoolStats, bool) {
	e.mu.Lock()
	st, ok := e.spool.(*segment.Store)
	e.mu.Unlock()
	if !ok {
		return SpoolStats{}, false
	}
	return SpoolStats(st.Stats()), true
}

// Breakers describes every destination's circuit breaker.
func (e *Engine) Breakers(ctx context.Context) []BreakerStats {
	sys, err := e.system()
	if err != nil {
		return nil
	}
	return convert(sys.Breakers(ctx), func(b actors.BreakerStats) BreakerStats { return BreakerStats(b) })
}

// Queues describes every queue.
func (e *Engine) Queues(ctx context.Context) []QueueStats {
	sys, err := e.system()
	if err != nil {
		return nil
	}
	return convert(sys.Queues(ctx, false), func(q actors.QueueStats) QueueStats { return QueueStats(q) })
}

// QueuesDetail is Queues with each queue's oldest message age and attempts histogram (a pass over
// every queued message).
func (e *Engine) QueuesDetail(ctx context.Context) []QueueStats {
	sys, err := e.system()
	if err != nil {
		return nil
	}
	return convert(sys.Queues(ctx, true), func(q actors.QueueStats) QueueStats { return QueueStats(q) })
}

// Stop stops intake, lets in-flight deliveries finish, stops every actor and closes the spool.
// Queued messages stay in the spool. ctx bounds how long it waits.
func (e *Engine) Stop(ctx context.Context) error {
	e.mu.Lock()
	sys, spool, node := e.sys, e.spool, e.cluster
	e.mu.Unlock()
	var err error
	if sys != nil && node != nil {
		err = node.leave(ctx, sys)
	}
	if sys != nil {
		err = errors.Join(err, sys.Stop(ctx))
	}
	if node != nil {
		node.stop()
	}
	if spool != nil {
		err = errors.Join(err, spool.Close())
	}
	return err
}

// ChecksBasicAuth reports whether the policy handles http_server_validate_auth_basic, so that
// AuthBasic can accept credentials.
func (e *Engine) ChecksBasicAuth() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.policy.Handles("http_server_validate_auth_basic")
}

// AuthBasic asks the policy's http_server_validate_auth_basic event whether HTTP basic credentials
// are good. It refuses them before Start, after Stop, and when the handler fails or is missing.
func (e *Engine) AuthBasic(user, password string) bool {
	sys, err := e.system()
	if err != nil {
		return false
	}
	return sys.AuthBasic(user, password)
}
