package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/admin"
	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/lua"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/queue"
)

// Options configure a System.
type Options struct {
	Policy *lua.Policy       // required: a loaded policy
	Spool  persistence.Spool // required
	Clock  clock.Clock       // default clock.Real
	Logger *slog.Logger      // default slog.Default()
	NodeID string            // the node's UUID, written into every record
	// HookWorkers is the number of Lua states (worker actors) per log hook. Default 1.
	HookWorkers int
	// InsertCredits bounds the messages on their way from hooks to queues. Default 65536.
	InsertCredits int
	// Rand yields uniform values in [0, 1) for retry jitter. Default math/rand/v2.
	Rand func() float64
	// IDs generates spool ids. Default: a generator with a random node.
	IDs *message.IDGen
	// Limits bound the queues, sessions and queued messages the node holds.
	Limits Limits
}

// ErrStopped is returned for work offered to a system that is stopping.
var ErrStopped = errors.New("hookd: engine is stopping")

// System is the running actor graph: loggers, hook workers, queues and their connections.
type System struct {
	opts    Options
	log     *slog.Logger
	clock   clock.Clock
	engine  *actor.Engine
	policy  atomic.Pointer[lua.Policy] // swapped by Reload; new Lua states come from the current one
	spool   persistence.Spool
	pool    *lua.Pool
	ids     *message.IDGen
	rand    func() float64
	randMu  sync.Mutex
	hooks   []*hookLogger
	locals  []*localRef
	workers []*actor.PID
	queues  *directory
	inserts *Credits
	// sessionSlots bounds the sessions connected at once, over every queue (Limits.MaxSessions).
	sessionSlots *Credits
	breakers     *breakers
	admin        *admin.Registry
	stats        counters

	ctx         context.Context // lives until Stop; blocking waits inside the engine use it
	cancel      context.CancelFunc
	stopping    atomic.Bool
	lowLogSpace atomic.Int32 // local loggers whose directory is below its free-space threshold
}

// Start builds the actor graph for a loaded policy, replays the spool into its queues and starts
// delivery.
func Start(opts Options) (*System, error) {
	if opts.Policy == nil || opts.Spool == nil {
		return nil, errors.New("actors: a policy and a spool are required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.HookWorkers < 1 {
		opts.HookWorkers = 1
	}
	if opts.InsertCredits < 1 {
		opts.InsertCredits = 65536
	}
	if opts.IDs == nil {
		opts.IDs = message.NewIDGen(message.RandomNode())
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	opts.Limits = opts.Limits.withDefaults()
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		return nil, err
	}
	s := &System{opts: opts, log: opts.Logger, clock: opts.Clock, engine: e,
		spool: opts.Spool, ids: opts.IDs, rand: opts.Rand, inserts: NewCredits(opts.InsertCredits),
		pool: lua.NewPool(opts.Policy, 64), sessionSlots: NewCredits(opts.Limits.MaxSessions)}
	s.policy.Store(opts.Policy)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.queues = &directory{sys: s, refs: map[string]*queueRef{}}
	s.breakers = &breakers{m: map[string]*queue.Breaker{}}
	s.admin = admin.NewRegistry()
	if err := s.spawnLoggers(); err != nil {
		_ = s.Stop(context.Background())
		return nil, err
	}
	if err := s.recover(); err != nil {
		_ = s.Stop(context.Background())
		return nil, err
	}
	return s, nil
}

func (s *System) spawnLoggers() error {
	for i, cfg := range s.Policy().Config().LocalLogs {
		credits := NewCredits(cfg.BackPressure)
		cfg := cfg
		pid, err := s.spawn(func() actor.Receiver { return &localLogger{sys: s, cfg: cfg, credits: credits} },
			"logger", fmt.Sprintf("local-%d", i))
		if err != nil {
			return err
		}
		s.locals = append(s.locals, &localRef{cfg: cfg, pid: pid, credits: credits})
	}
	return s.spawnHooks()
}

func (s *System) spawnHooks() error {
	for _, cfg := range s.Policy().Config().Hooks {
		var workers []*actor.PID
		counts := &hookCounts{}
		for i := 0; i < s.opts.HookWorkers; i++ {
			cfg := cfg
			pid, err := s.spawn(func() actor.Receiver { return &hookWorker{sys: s, counts: counts, cfg: cfg} },
				"hook", fmt.Sprintf("%s/%d", cfg.Name, i))
			if err != nil {
				return err
			}
			workers = append(workers, pid)
		}
		s.workers = append(s.workers, workers...)
		credits := NewCredits(cfg.BackPressure)
		cfg := cfg
		pid, err := s.spawn(func() actor.Receiver {
			return &logger{stats: &s.stats, counts: counts, cfg: cfg, credits: credits, workers: workers}
		}, "logger", "hook-"+cfg.Name)
		if err != nil {
			return err
		}
		s.hooks = append(s.hooks, &hookLogger{cfg: cfg, pid: pid, credits: credits, counts: counts})
	}
	return nil
}

// recover hands every message the spool holds to its queue, in batches per queue.
func (s *System) recover() error {
	const batch = 4096
	n := 0
	pending := map[string][]queue.Item{}
	var failed error
	send := func(name string) {
		ref, err := s.queues.reserve(name, 0) // what the spool holds is taken whatever the limits
		if err != nil {
			failed = err
		} else {
			s.engine.Send(ref.pid, insertBatch{items: pending[name]})
		}
		delete(pending, name)
	}
	err := s.spool.Recover(func(e *persistence.Entry) error {
		n++
		items := append(pending[e.Queue], queue.Item{ID: e.ID, Attempts: e.Attempts, Due: e.Due})
		pending[e.Queue] = items
		if len(items) >= batch {
			send(e.Queue)
		}
		return nil
	})
	for name := range pending {
		send(name)
	}
	s.stats.queued.Add(int64(n))
	if n > 0 {
		s.log.Info("recovered spooled messages", "count", n)
	}
	return errors.Join(err, failed)
}

// Policy is the policy new Lua states are made from.
func (s *System) Policy() *lua.Policy { return s.policy.Load() }

// Reload makes p the policy of every Lua state made from now on: hook workers move to it before
// their next record, new sessions and queue configurations use it, and sessions already open finish
// on the old one. Loggers keep the configuration they were started with (log hooks and local logs
// are read at start only).
func (s *System) Reload(p *lua.Policy) {
	s.policy.Store(p)
	s.pool.SetPolicy(p)
	for _, ref := range s.queues.all() {
		s.engine.Send(ref.pid, refreshConfig{reload: true})
	}
}

// Accepting returns nil while the system takes new work, else why not.
func (s *System) Accepting() error {
	if s.stopping.Load() {
		return ErrStopped
	}
	if s.lowLogSpace.Load() > 0 {
		return ErrLogSpace
	}
	if max := s.opts.Limits.MaxQueued; s.stats.queued.Load() >= int64(max) {
		return fmt.Errorf("%w: %d messages are queued, the node's limit", ErrQueueFull, max)
	}
	return nil
}

// Log offers records to every log hook and returns once each hook has decided about each record
// and everything it enqueued is durable.
func (s *System) Log(ctx context.Context, events []*Event) error {
	if err := s.Accepting(); err != nil {
		return err
	}
	if err := s.logLocally(ctx, events, true); err != nil {
		return err
	}
	ack := NewAck()
	taken := make([]int, len(s.hooks))
	for i, h := range s.hooks {
		n := 0
		for _, ev := range events {
			if !isLogRecord(ev.Record) {
				n++
			}
		}
		if n == 0 {
			continue
		}
		if err := h.credits.Acquire(ctx, n); err != nil {
			for j := range i {
				s.hooks[j].credits.Release(taken[j])
			}
			return fmt.Errorf("log hook %s is full (back_pressure %d): %w", h.cfg.Name, h.cfg.BackPressure, err)
		}
		taken[i] = n
	}
	for i, h := range s.hooks {
		if taken[i] == 0 {
			continue
		}
		ack.Add(taken[i])
		s.stats.received.Add(uint64(taken[i]))
		s.engine.Send(h.pid, logBatch{events: withoutLogRecords(events), ack: ack})
	}
	ack.Seal()
	return ack.Wait(ctx)
}

func withoutLogRecords(events []*Event) []*Event {
	out := events[:0:0]
	for _, ev := range events {
		if !isLogRecord(ev.Record) {
			out = append(out, ev)
		}
	}
	return out
}

// emit offers records the engine produced (delivery outcomes, expirations) to the log hooks without
// waiting for them. block says whether the caller may wait for room (connection actors may; queue
// actors must not, and go past the bound instead).
func (s *System) emit(events []*Event, block bool) {
	_ = s.logLocally(s.ctx, events, block)
	events = withoutLogRecords(events)
	if len(events) == 0 {
		return
	}
	for _, h := range s.hooks {
		if block {
			if err := h.credits.Acquire(s.ctx, len(events)); err != nil {
				s.log.Warn("dropping records at shutdown", "hook", h.cfg.Name, "count", len(events))
				continue
			}
		} else {
			h.credits.Force(len(events))
		}
		s.stats.received.Add(uint64(len(events)))
		s.engine.Send(h.pid, logBatch{events: events})
	}
}

// logLocally hands records to every local logger (records about hook messages included). Local log
// lines are not part of what Log acknowledges; only their back pressure is.
func (s *System) logLocally(ctx context.Context, events []*Event, block bool) error {
	if len(events) == 0 {
		return nil
	}
	for _, l := range s.locals {
		if block {
			if err := l.credits.Acquire(ctx, len(events)); err != nil {
				return fmt.Errorf("local logs %s are full (back_pressure %d): %w", l.cfg.LogDir, l.cfg.BackPressure, err)
			}
		} else {
			l.credits.Force(len(events))
		}
		s.engine.Send(l.pid, logBatch{events: events})
	}
	return nil
}

// Enqueue queues a message: it is written to the spool (unless deferred) and then handed to its
// queue. ack is settled once the message is durable (or refused).
func (s *System) Enqueue(ctx context.Context, m *message.Message, ack *Ack, deferred bool) {
	ack.Add(1)
	name, err := m.QueueName()
	if err != nil {
		s.log.Error("cannot compute the queue name; message dropped", "id", m.ID.String(), "error", err)
		ack.Done(nil)
		return
	}
	if name == "null" {
		ack.Done(nil)
		return
	}
	meta, err := persistence.EncodeMeta(m)
	if err != nil {
		ack.Done(fmt.Errorf("encoding message %s: %w", m.ID, err))
		return
	}
	if err := s.inserts.Acquire(ctx, 1); err != nil {
		ack.Done(err)
		return
	}
	ref, err := s.queues.reserve(name, s.opts.Limits.MaxQueues)
	if err != nil {
		s.inserts.Release(1)
		ack.Done(err)
		return
	}
	entry := &persistence.Entry{ID: m.ID, Queue: name, Meta: meta, Body: m.Body}
	item := queue.Item{ID: m.ID}
	if deferred {
		s.enqueued(ref, item, entry)
		ack.Done(nil)
		return
	}
	s.spool.Put(entry, func(err error) {
		if err != nil {
			ref.release()
			s.inserts.Release(1)
			ack.Done(fmt.Errorf("spooling message %s: %w", m.ID, err))
			return
		}
		s.enqueued(ref, item, nil)
		ack.Done(nil)
	})
}

// enqueued sends a reserved queue its new message.
func (s *System) enqueued(ref *queueRef, item queue.Item, held *persistence.Entry) {
	s.stats.enqueued.Add(1)
	s.stats.queued.Add(1)
	s.engine.Send(ref.pid, insert{item: item, credits: s.inserts, held: held})
}

func (s *System) jitter() float64 {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return s.rand()
}

// Stop stops intake, lets sessions finish their batches, lets the loggers and hooks finish what they
// hold, and stops every actor. Messages still queued stay in the spool.
func (s *System) Stop(ctx context.Context) error {
	if s.stopping.Swap(true) {
		return nil
	}
	s.queues.drainAll(ctx)
	for _, h := range s.hooks {
		waitDone(ctx, s.engine.Poison(h.pid))
	}
	for _, w := range s.workers {
		waitDone(ctx, s.engine.Poison(w))
	}
	_ = s.inserts.WaitIdle(ctx)
	s.queues.stopAll(ctx)
	for _, l := range s.locals { // last: everything before may still log
		waitDone(ctx, s.engine.Poison(l.pid))
	}
	s.cancel()
	s.pool.Close()
	err := ctx.Err()
	if err != nil {
		err = fmt.Errorf("stopping before everything finished: %w", err)
	}
	return err
}

func waitDone(ctx context.Context, done context.Context) {
	select {
	case <-done.Done():
	case <-ctx.Done():
	}
}
