package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/admin"
	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/lua"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/persistence/segment"
	"github.com/hookd/hookd/wire"
)

// Options configure a System.
type Options struct {
	Policy *lua.Policy       // required: a loaded policy
	Spool  persistence.Spool // required
	Clock  clock.Clock       // default clock.Real
	Logger *slog.Logger      // default slog.Default()
	NodeID string            // the node's UUID, written into every record
	// HookWorkers is the number of Lua states (hook actors) per log hook. Default 1.
	HookWorkers int
	// Runners is the number of policy runners (Lua states answering get_queue_config and the HTTP
	// listener's credential checks). Default 4.
	Runners int
	// InsertCredits bounds the messages on their way from hooks to queues. Default 65536.
	InsertCredits int
	// FreshBodies bounds the bytes of message bodies queues keep in memory until their first
	// attempt, so a session need not read them back. Default 64 MiB.
	FreshBodies int
	// Rand yields uniform values in [0, 1) for retry jitter. Default math/rand/v2.
	Rand func() float64
	// IDs generates spool ids. Default: a generator with a random node.
	IDs *message.IDGen
	// Limits bound the queues, sessions and queued messages the node holds.
	Limits Limits
	// Cluster makes the node one member of a cluster (system_cluster.go); nil for a single node.
	Cluster *ClusterOptions
}

// ErrStopped is returned for work offered to a system that is stopping.
var ErrStopped = errors.New("hookd: engine is stopping")

// ErrLowSpace refuses new work while the spool's disk is below its free-space threshold.
var ErrLowSpace = segment.ErrLowSpace

// System is the wiring of a node's actors: it builds them with their ports, and holds what the
// embedding API reads (figures, the admin registry). No actor holds it.
type System struct {
	opts    Options
	log     *slog.Logger
	engine  *actor.Engine
	send    Sender
	policy  *policyBox
	spool   persistence.Spool
	pool    *lua.Pool
	metrics *Metrics
	admin   *admin.Registry

	inserts, slots, bodies *Credits

	intake      *Intake
	router      *localRouter // the directory of this node's queue actors
	actorPool   *actorPool   // the goroutines the pooled actors (queues, destinations) run on
	route       Router       // where queues are found: router itself, or the cluster's router over it
	cluster     *clusterRouter
	forwards    *localRouter // a cluster member's forwarders
	handover    *loop
	adminNet    *adminNet     // a cluster member's peers, for the admin rules (admin_cluster.go)
	adminPID    *actor.PID    // a cluster member's admin actor
	clusterStop chan struct{} // closed when a cluster member stops
	fwdMu       sync.Mutex
	fwdLoops    map[*loop]struct{}
	dests       *destinations
	runners     *runners
	sessions    *sessionSet
	recorder    *loop
	hooks       []*loop
	locals      []*loop

	randMu sync.Mutex

	ctx         context.Context // lives until Stop; blocking waits inside the engine use it
	cancel      context.CancelFunc
	stopping    atomic.Bool
	leaving     atomic.Bool  // a cluster member handing everything over before it stops
	lowLogSpace atomic.Int32 // local loggers whose directory is below its free-space threshold
}

// poolWorkers is how many goroutines run the pooled actors: two per processor, so that an actor
// waiting for a lock (the spool's index, a credit's) never holds the others back for long.
func poolWorkers() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// policyBox is the Policies port: the policy new Lua states are made from, swapped on reload.
type policyBox struct{ p atomic.Pointer[lua.Policy] }

func (b *policyBox) Current() *lua.Policy { return b.p.Load() }

// Start builds the actor graph for a loaded policy, replays the spool into its queues and starts
// delivery.
func Start(opts Options) (*System, error) {
	if opts.Policy == nil || opts.Spool == nil {
		return nil, errors.New("actors: a policy and a spool are required")
	}
	opts = withDefaults(opts)
	e, err := newEngine(opts)
	if err != nil {
		return nil, err
	}
	s := &System{opts: opts, log: opts.Logger, engine: e, send: engineSender{e}, policy: &policyBox{},
		spool: opts.Spool, pool: lua.NewPool(opts.Policy, 64), metrics: &Metrics{}, admin: admin.NewRegistry(),
		inserts: NewCredits(opts.InsertCredits), slots: NewCredits(opts.Limits.MaxSessions),
		bodies: NewCredits(opts.FreshBodies), actorPool: newActorPool(poolWorkers())}
	s.policy.p.Store(opts.Policy)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.router = newLocalRouter(opts.Limits.MaxQueues, s.send, s.spawnQueue)
	s.route = s.router
	if opts.Cluster != nil {
		s.forwards = newLocalRouter(0, s.send, s.spawnForwarder)
		s.fwdLoops = map[*loop]struct{}{}
		s.clusterStop = make(chan struct{})
		s.cluster = newClusterRouter(opts.Cluster, s.send, s.router, s.forwards)
		s.route = s.cluster
	}
	s.dests = &destinations{engine: e, pool: s.actorPool, clock: opts.Clock, log: s.log, panics: &s.metrics.Panics,
		actors: map[string]*pooled{}}
	s.intake = &Intake{send: s.send, metrics: s.metrics, log: s.log, ctx: s.ctx, refuse: s.Accepting}
	s.intake.acks = newAcks(e, s.send, s.route, s.spool, s.inserts, s.metrics)
	e.SpawnProc(s.intake.acks)
	s.sessions = &sessionSet{s: s, live: map[*loop]struct{}{}}
	if err := s.spawnAll(); err != nil {
		_ = s.Stop(context.Background())
		return nil, err
	}
	if err := s.recover(); err != nil {
		_ = s.Stop(context.Background())
		return nil, err
	}
	return s, nil
}

func withDefaults(opts Options) Options {
	if opts.Clock == nil {
		opts.Clock = clock.Real
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.HookWorkers = max(opts.HookWorkers, 1)
	if opts.Runners < 1 {
		opts.Runners = 4
	}
	if opts.InsertCredits < 1 {
		opts.InsertCredits = 65536
	}
	if opts.FreshBodies < 1 {
		opts.FreshBodies = 64 << 20
	}
	if opts.IDs == nil {
		opts.IDs = message.NewIDGen(message.RandomNode())
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	opts.Limits = opts.Limits.withDefaults()
	return opts
}

func (s *System) loop(kind, id string, recv loopReceiver) (*loop, error) {
	return spawnLoop(s.engine, kind, id, recv, s.log, &s.metrics.Panics)
}

// spawnAll starts the policy runners, the recorder, the local loggers and the log hooks.
func (s *System) spawnAll() error {
	s.runners = &runners{}
	for i := range s.opts.Runners {
		busy := &atomic.Int64{}
		l, err := s.loop("runner", strconv.Itoa(i), &runner{p: RunnerPorts{Policies: s.policy, Log: s.log}, outstanding: busy})
		if err != nil {
			return err
		}
		s.runners.loops, s.runners.busy = append(s.runners.loops, l), append(s.runners.busy, busy)
	}
	rec, err := s.loop("recorder", "0", &recorder{p: RecorderPorts{Loader: s.spool, Store: s.spool,
		Emitter: s.intake, Clock: s.opts.Clock, Log: s.log, Node: s.opts.NodeID}})
	if err != nil {
		return err
	}
	s.recorder = rec
	for i, cfg := range s.opts.Policy.Config().LocalLogs {
		credits := NewCredits(cfg.BackPressure)
		l, err := s.loop("logger", fmt.Sprintf("local-%d", i), &localLogger{cfg: cfg, p: LocalPorts{Policies: s.policy,
			Credits: credits, Send: s.send, Clock: s.opts.Clock, Log: s.log, LowSpace: &s.lowLogSpace}})
		if err != nil {
			return err
		}
		s.locals = append(s.locals, l)
		s.intake.locals = append(s.intake.locals, &localRoute{cfg: cfg, pid: l.pid, credits: credits})
	}
	for _, cfg := range s.opts.Policy.Config().Hooks {
		route := &hookRoute{cfg: cfg, credits: NewCredits(cfg.BackPressure), counts: &hookCounts{}}
		ports := HookPorts{Policies: s.policy, Spool: s.spool, Router: s.route, Send: s.send, Intake: route.credits,
			Inserts: s.inserts, IDs: s.opts.IDs, Clock: s.opts.Clock, Metrics: s.metrics, Log: s.log, Ctx: s.ctx}
		for i := range s.opts.HookWorkers {
			l, err := s.loop("hook", fmt.Sprintf("%s/%d", cfg.Name, i), newHookActor(cfg, route.counts, ports))
			if err != nil {
				return err
			}
			s.hooks = append(s.hooks, l)
			route.actors = append(route.actors, l.pid)
		}
		s.intake.hooks = append(s.intake.hooks, route)
	}
	return s.spawnHandover()
}

// spawnQueue starts a queue actor (the local router's spawn function).
func (s *System) spawnQueue(name, id string, home QueueHome) (*actor.PID, error) {
	p := QueuePorts{Home: home, Store: s.spool, Resolvers: s.runners, Sessions: s.sessions, Destinations: s.dests,
		Recorder: s.recorder.pid, Admin: s.admin, Send: s.send, Clock: s.opts.Clock, Inserts: s.inserts,
		Slots: s.slots, Bodies: s.bodies, Metrics: s.metrics, Rand: s.jitter, Log: s.log}
	if s.cluster != nil {
		p.Owners, p.Relay = s.cluster, s.cluster
	}
	a, err := spawnPooled(s.engine, s.actorPool, "queue", id, newQueueActor(name, p), s.log, &s.metrics.Panics)
	if err != nil {
		return nil, err
	}
	return a.pid, nil
}

// sessionSet is the Sessions port: it starts session loops and keeps them until they end.
type sessionSet struct {
	s    *System
	mu   sync.Mutex
	live map[*loop]struct{}
}

// Start starts a session for a queue.
func (ss *sessionSet) Start(spec SessionSpec) (*actor.PID, error) {
	s := ss.s
	p := SessionPorts{States: s.pool, Loader: s.spool, Router: s.route, Slots: s.slots, Emitter: s.intake,
		Send: s.send, Clock: s.opts.Clock, Metrics: s.metrics, Log: s.log, Ctx: s.ctx, Node: s.opts.NodeID,
		LocalLogs: s.intake.HasLocalLogs()}
	l, err := s.loop("session", spec.QueuePID.ID+"/"+strconv.FormatUint(uint64(spec.Session), 10), newSessionActor(spec, p))
	if err != nil {
		return nil, err
	}
	ss.mu.Lock()
	ss.live[l] = struct{}{}
	ss.mu.Unlock()
	go func() {
		<-l.Done()
		ss.mu.Lock()
		delete(ss.live, l)
		ss.mu.Unlock()
	}()
	return l.pid, nil
}

// wait waits for every session to end (their queues closed them), or ctx.
func (ss *sessionSet) wait(ctx context.Context) {
	ss.mu.Lock()
	live := make([]*loop, 0, len(ss.live))
	for l := range ss.live {
		live = append(live, l)
	}
	ss.mu.Unlock()
	for _, l := range live {
		select {
		case <-l.Done():
		case <-ctx.Done():
			l.requestStop()
		}
	}
}

// recover hands every message the spool holds to its queue, in batches per queue.
func (s *System) recover() error {
	const batch = 4096
	n := 0
	pending := map[string][]*wire.Stored{}
	var failed error
	send := func(name string) {
		msgs := pending[name]
		delete(pending, name)
		pid, err := s.route.Recover(name, len(msgs)) // what the spool holds is taken whatever the limits
		if err != nil {
			failed = err
			return
		}
		s.engine.Send(pid, &wire.Insert{Queue: name, Messages: msgs})
	}
	err := s.spool.Recover(func(e *persistence.Entry) error {
		n++
		id := e.ID
		msgs := append(pending[e.Queue], &wire.Stored{Id: id[:], Attempts: uint32(e.Attempts), Due: dueNanos(e.Due)})
		pending[e.Queue] = msgs
		if len(msgs) >= batch {
			send(e.Queue)
		}
		return nil
	})
	for name := range pending {
		send(name)
	}
	s.metrics.Queued.Add(int64(n))
	if n > 0 {
		s.log.Info("recovered spooled messages", "count", n)
	}
	return errors.Join(err, failed)
}

// Policy is the policy new Lua states are made from.
func (s *System) Policy() *lua.Policy { return s.policy.Current() }

// Reload makes p the policy of every Lua state made from now on: hooks and runners move to it before
// their next call, new sessions and queue configurations use it, and sessions already open finish
// on the old one. Loggers keep the configuration they were started with (log hooks and local logs
// are read at start only).
func (s *System) Reload(p *lua.Policy) {
	s.policy.p.Store(p)
	s.pool.SetPolicy(p)
	for _, ref := range s.router.Queues() {
		s.engine.Send(ref.PID, reloadQueue{})
	}
}

// Accepting returns nil while the system takes new work, else why not.
func (s *System) Accepting() error {
	if s.stopping.Load() || s.leaving.Load() {
		return ErrStopped
	}
	if s.lowLogSpace.Load() > 0 {
		return ErrLogSpace
	}
	if limit := s.opts.Limits.MaxQueued; s.metrics.Queued.Load() >= int64(limit) {
		return fmt.Errorf("%w: %d messages are queued, the node's limit", ErrQueueFull, limit)
	}
	return nil
}

// Log offers records to every log hook and returns once each hook has decided about each record
// and everything kept is durable and queued. An error means nothing of the call was kept.
func (s *System) Log(ctx context.Context, recs []Record) error { return s.intake.Log(ctx, recs) }

// AuthBasic asks the policy's http_server_validate_auth_basic event whether HTTP basic credentials
// are good. An error in the handler (or its absence) refuses them.
func (s *System) AuthBasic(user, password string) bool {
	res, err := s.engine.Request(s.runners.Pick(), authBasic{User: user, Password: password}, 30*time.Second).Result()
	if err != nil {
		s.log.Error("checking HTTP credentials", "user", user, "error", err)
		return false
	}
	ok, _ := res.(bool)
	return ok
}

// Queues returns a snapshot of every queue, sorted by name. detail adds each queue's oldest message
// age and attempts histogram (a pass over every message).
func (s *System) Queues(ctx context.Context, detail bool) []QueueStats {
	snaps := s.snapshots(ctx, detail)
	out := make([]QueueStats, len(snaps))
	for i, st := range snaps {
		out[i] = queueStats(st)
	}
	return out
}

// snapshots are the figures of every queue of this node, as the queue actors answer, sorted by name.
func (s *System) snapshots(ctx context.Context, detail bool) []*wire.QueueStats {
	timeout := 5 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(d), time.Millisecond)
	}
	refs := s.router.Queues()
	resps := make([]*actor.Response, len(refs))
	for i, ref := range refs {
		resps[i] = s.engine.Request(ref.PID, &wire.QueueStatsRequest{Detail: detail}, timeout)
	}
	out := make([]*wire.QueueStats, 0, len(refs))
	for _, r := range resps {
		res, err := r.Result()
		if st, ok := res.(*wire.QueueStats); ok && err == nil { // a queue reaped meanwhile was empty
			out = append(out, st)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// queueStats reads a queue's figures off the wire.
func queueStats(st *wire.QueueStats) QueueStats {
	q := QueueStats{Name: st.Name, Scheduled: int(st.Scheduled), Ready: int(st.Ready), InFlight: int(st.InFlight),
		Sessions: int(st.Sessions), Site: st.Site, Delivered: uint64(st.Delivered), Transient: uint64(st.Transient),
		Bounced: uint64(st.Bounced), Expired: uint64(st.Expired), Deliverable: st.Deliverable, Problem: st.Problem,
		Gate: st.Gate, Breaker: st.Breaker, Configuring: st.Configuring}
	if st.Suspended {
		q.Suspended = st.SuspendReason
	}
	if len(st.Attempts) > 0 { // detail of a queue holding messages: an age, "0s" included
		q.OldestAge = message.FormatDuration(time.Duration(st.OldestAge))
	}
	if st.Attempts != nil {
		q.Attempts = make(map[uint16]int, len(st.Attempts))
		for k, v := range st.Attempts {
			q.Attempts[uint16(k)] = int(v)
		}
	}
	return q
}

// Breakers describes every destination's breaker, sorted.
func (s *System) Breakers(ctx context.Context) []BreakerStats { return s.dests.stats(ctx) }

// NewID returns a fresh spool id.
func (s *System) NewID() message.SpoolID { return s.opts.IDs.New(s.opts.Clock.Now()) }

// Now is the system's clock reading.
func (s *System) Now() time.Time { return s.opts.Clock.Now() }

func (s *System) jitter() float64 {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return s.opts.Rand()
}

// Stop stops intake, lets sessions finish their batches, lets the hooks finish what they hold, and
// stops every actor. Messages still queued stay in the spool.
func (s *System) Stop(ctx context.Context) error {
	if s.stopping.Swap(true) {
		return nil
	}
	late := "" // the step during which the time ran out, for the error
	step := func(name string, f func()) {
		f()
		if ctx.Err() != nil && late == "" {
			late = name
		}
	}
	s.router.keepAll()
	step("draining the queues", func() { s.drainQueues(ctx) })
	step("stopping the log hooks", func() {
		for _, h := range s.hooks {
			stopLoop(ctx, h)
		}
	})
	step(fmt.Sprintf("waiting for %d inserts on their way to queues", s.inserts.InUse()), func() { _ = s.inserts.WaitIdle(ctx) })
	s.router.close(ErrStopped)
	step("stopping the queues", func() { s.router.stopAll(ctx, s.engine) })
	step("stopping the cluster's forwarders and handovers", func() { s.stopCluster(ctx) })
	step("waiting for the sessions", func() { s.sessions.wait(ctx) })
	step("stopping the destinations", func() { s.dests.stop(ctx) })
	step("stopping the policy runners", func() {
		if s.recorder != nil {
			stopLoop(ctx, s.recorder)
		}
		if s.runners != nil {
			for _, l := range s.runners.loops {
				stopLoop(ctx, l)
			}
		}
	})
	for _, l := range s.locals { // last: everything before may still log
		stopLoop(ctx, l)
	}
	s.cancel()
	s.pool.Close()
	s.actorPool.close()
	err := ctx.Err()
	if err != nil && late == "" {
		late = "before stopping began"
	}
	if err != nil {
		err = fmt.Errorf("stopping before everything finished (the time ran out %s): %w", late, err)
	}
	return err
}

// drainQueues asks every queue to finish its sessions and waits for them (or ctx).
func (s *System) drainQueues(ctx context.Context) {
	timeout := time.Minute
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(d), time.Millisecond)
	}
	var resps []*actor.Response
	for _, ref := range s.router.Queues() {
		resps = append(resps, s.engine.Request(ref.PID, drainQueue{}, timeout))
	}
	for _, r := range resps {
		_, _ = r.Result() // a queue reaped meanwhile never answers: it had nothing to drain
	}
}

func stopLoop(ctx context.Context, l *loop) {
	l.requestStop()
	select {
	case <-l.Done():
	case <-ctx.Done():
	}
}

func waitDone(ctx context.Context, done context.Context) {
	select {
	case <-done.Done():
	case <-ctx.Done():
	}
}
