package actors

import (
	"fmt"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/admin"
	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/queue"
)

// configRetry is how soon a queue tries again after get_queue_config failed.
const configRetry = time.Minute

// queueActor owns one scheduled queue: its decision core, its configuration, its timers and its
// connection actors. Message bodies stay in the spool; the queue keeps only what scheduling needs.
type queueActor struct {
	sys   *System
	ref   *queueRef // its directory entry
	name  string
	parts message.QueueName
	core  *queue.Core
	info  *sessionInfo // what connection actors need to know, rebuilt on each config change
	held  map[message.SpoolID]*persistence.Entry
	conns map[queue.SessionID]*actor.PID
	dones map[queue.SessionID]func(bool, time.Time) // breaker reports owed per session
	// outcomes of this queue's attempts, for metrics
	delivered, transient, bounced, expired uint64

	gen        uint64                     // bumped at each policy reload
	sessionGen map[queue.SessionID]uint64 // the reload generation each session started in

	adminCache    admin.QueueCache // the administrators' bounce and suspension for this queue
	suspendReason string
	adminTimer    clock.Timer
	adminAt       time.Time
	gate          time.Time // the pause in force, to notice a new one

	problem      string        // why the queue cannot deliver, "" when it can
	refreshEvery time.Duration // how often get_queue_config runs again
	pid          *actor.PID
	timer        clock.Timer
	armedAt      time.Time
	refresh      clock.Timer
	drainers     []chan struct{}
	reapTimer    clock.Timer // runs while the queue is empty: reap_interval later it is forgotten
	reapInterval time.Duration
	reapSeq      uint64 // numbers reap timers, so that a stale check is ignored
}

// sessionInfo is the part of a queue's configuration its sessions use.
type sessionInfo struct {
	queue       string
	parts       message.QueueName
	constructor string
	site        string // the ready-queue name, "unspecified-><site>@lua:<constructor>"
	egressPool  string
	batchSize   int
	queuePID    *actor.PID
	breaker     *queue.Breaker // the destination's, shared with other queues that deliver there
}

func newQueueActor(sys *System, ref *queueRef) *queueActor {
	name := ref.name
	return &queueActor{sys: sys, ref: ref, name: name, parts: message.ParseQueueName(name),
		held: map[message.SpoolID]*persistence.Entry{}, conns: map[queue.SessionID]*actor.PID{},
		dones: map[queue.SessionID]func(bool, time.Time){}, sessionGen: map[queue.SessionID]uint64{}}
}

func (q *queueActor) Receive(c *actor.Context) {
	now := q.sys.clock.Now()
	switch m := c.Message().(type) {
	case actor.Started:
		q.pid = c.PID()
		cfg := q.resolve()
		q.core = queue.New(cfg, q.sys.jitter)
		q.scheduleRefresh()
	case adminCheck: // syncAdmin below does the work
	case actor.Stopped:
		q.stopTimers()
		q.spoolHeld()
		for id, pid := range q.conns {
			c.Engine().Poison(pid)
			delete(q.conns, id)
		}
		return
	case insert:
		q.ref.pending.Add(-1)
		if m.held != nil {
			q.held[m.item.ID] = m.held
		}
		q.apply(c, q.core.Insert(m.item, now), now)
		if m.credits != nil {
			m.credits.Release(1)
		}
	case insertBatch:
		q.ref.pending.Add(-1)
		q.apply(c, q.core.InsertMany(m.items, now), now)
	case reapCheck:
		if q.reapTimer == nil || m.seq != q.reapSeq {
			break // a later change of state made this check stale
		}
		q.reapTimer = nil
		if q.idle() && q.sys.queues.reap(q.ref) {
			q.sys.log.Debug("queue reaped: empty for its reap_interval", "queue", q.name, "reap_interval", q.reapInterval)
			c.Engine().Poison(c.PID())
			return
		}
	case tick:
		q.armedAt = time.Time{}
		q.apply(c, q.core.Tick(now), now)
	case sessionDone:
		if !m.closed && q.sessionGen[m.session] != q.gen { // its Lua state is of a replaced policy
			c.Send(q.conns[m.session], closeSession{reason: "policy reloaded"})
			m.closed = true
		}
		if m.closed {
			delete(q.conns, m.session)
			delete(q.sessionGen, m.session)
		}
		q.countResults(m.results)
		if done := q.dones[m.session]; done != nil {
			delete(q.dones, m.session)
			done(answered(m.results), now)
		}
		q.apply(c, q.core.Finished(m.session, m.results, m.closed, now), now)
	case refreshConfig:
		if m.reload {
			q.gen++
			q.apply(c, q.core.CloseIdle(queue.ReasonReload, now), now)
		}
		cfg := q.resolve()
		q.apply(c, q.core.SetConfig(cfg, now), now)
		q.scheduleRefresh()
	case releaseIdle:
		q.apply(c, q.core.CloseIdle(queue.ReasonSlots, now), now)
	case drain:
		q.drainers = append(q.drainers, m.done)
		q.apply(c, q.core.Drain(now), now)
	case queueSnapshot:
		s, r, f := q.core.Counts()
		st := QueueStats{Name: q.name, Scheduled: s, Ready: r, InFlight: f, Sessions: q.core.Sessions(),
			Delivered: q.delivered, Transient: q.transient, Bounced: q.bounced, Expired: q.expired,
			Deliverable: q.core.Config().Deliverable, Problem: q.problem,
			Gate: [...]string{"flowing", "paused", "probe"}[q.core.Gate()]}
		if b := q.breaker(); b != nil {
			bs, _, _ := b.State()
			st.Breaker = bs.String()
		}
		if q.info != nil {
			st.Site = q.info.site
		}
		if q.core.Suspended() {
			st.Suspended = q.suspendReason
		}
		if m.detail {
			q.detail(&st, now)
		}
		m.reply <- st
	}
	if q.core != nil {
		q.syncAdmin(c, now)
		q.syncGate(c, now)
		if q.sys.sessionSlots.Waiting() > 0 && q.core.IdleSessions() > 0 { // another queue needs a slot
			q.apply(c, q.core.CloseIdle(queue.ReasonSlots, now), now)
		}
		q.armReap()
	}
	if q.core != nil && q.core.Drained() {
		for _, d := range q.drainers {
			close(d)
		}
		q.drainers = nil
	}
}

// apply carries out the core's actions, then re-arms the wake-up timer.
func (q *queueActor) apply(c *actor.Context, acts []queue.Action, now time.Time) {
	for _, a := range acts {
		switch a := a.(type) {
		case queue.Start:
			if q.allow(c, a.Session, now, nil) {
				q.startSession(c, a.Session, a.Batch)
			}
		case queue.Deliver:
			if q.allow(c, a.Session, now, q.conns[a.Session]) {
				c.Send(q.conns[a.Session], q.work(a.Batch))
			}
		case queue.Close:
			if pid := q.conns[a.Session]; pid != nil {
				c.Send(pid, closeSession{reason: a.Reason})
				delete(q.conns, a.Session)
				delete(q.sessionGen, a.Session)
			}
		case queue.Retry:
			q.sys.stats.transient.Add(1)
			if e := q.held[a.Item.ID]; e != nil { // a deferred message is spooled once it is delayed
				e.Attempts, e.Due = a.Item.Attempts, a.Item.Due
				q.sys.spool.Put(e, q.logSpoolError(e.ID))
				delete(q.held, a.Item.ID)
			} else {
				q.sys.spool.Update(a.Item.ID, a.Item.Attempts, a.Item.Due)
			}
		case queue.Expire:
			q.sys.stats.transient.Add(1)
			q.sys.stats.expired.Add(1)
			q.expired++
			q.logAbout(a.Item, func(m *message.Message) *message.LogRecord { return q.expiration(m, a, now) })
			q.forget(a.Item)
		case queue.Forget:
			q.forget(a.Item)
		case queue.Undeliverable:
			q.transient++
			q.logAbout(a.Item, func(m *message.Message) *message.LogRecord { return q.undeliverable(m, a, now) })
		}
	}
	q.arm(now)
}

func (q *queueActor) forget(it queue.Item) {
	q.sys.stats.queued.Add(-1)
	if _, ok := q.held[it.ID]; ok {
		delete(q.held, it.ID)
		return
	}
	q.sys.spool.Delete(it.ID)
}

func (q *queueActor) work(batch []queue.Item) sessionWork {
	w := sessionWork{batch: batch}
	for _, it := range batch {
		if e := q.held[it.ID]; e != nil {
			if w.held == nil {
				w.held = map[message.SpoolID]*persistence.Entry{}
			}
			w.held[it.ID] = e
		}
	}
	return w
}

func (q *queueActor) startSession(c *actor.Context, id queue.SessionID, batch []queue.Item) {
	info := q.info
	// Connection actors are not hollywood children of the queue: a child that stops itself would be
	// stopped a second time by its parent's cleanup, and hollywood never acknowledges that second
	// stop. The queue ends its sessions itself (closeSession) and stops the rest when it stops.
	pid, err := q.sys.spawn(func() actor.Receiver { return newConnActor(q.sys, info, id) },
		"conn", fmt.Sprintf("%s/%d", q.name, id))
	if err != nil {
		q.sys.log.Error("starting a session", "queue", q.name, "error", err)
		q.apply(c, q.core.Finished(id, nil, true, q.sys.clock.Now()), q.sys.clock.Now())
		return
	}
	q.conns[id] = pid
	q.sessionGen[id] = q.gen
	c.Send(pid, q.work(batch))
}

// arm makes sure a tick arrives at the core's next wake-up time.
func (q *queueActor) arm(now time.Time) {
	at, ok := q.core.Wake()
	if !ok || (q.timer != nil && q.armedAt.Equal(at)) {
		return
	}
	if q.timer != nil {
		q.timer.Stop()
	}
	pid, engine := q.pid, q.sys.engine
	q.armedAt = at
	q.timer = q.sys.clock.At(at, func() { engine.Send(pid, tick{}) })
}

func (q *queueActor) scheduleRefresh() {
	every := q.refreshEvery
	if every <= 0 {
		return
	}
	if q.refresh != nil {
		q.refresh.Stop()
	}
	pid, engine := q.pid, q.sys.engine
	q.refresh = q.sys.clock.AfterFunc(every, func() { engine.Send(pid, refreshConfig{}) })
}

func (q *queueActor) stopTimers() {
	if q.timer != nil {
		q.timer.Stop()
	}
	if q.adminTimer != nil {
		q.adminTimer.Stop()
	}
	if q.refresh != nil {
		q.refresh.Stop()
	}
	if q.reapTimer != nil {
		q.reapTimer.Stop()
		q.reapTimer = nil
	}
}

// idle reports whether the queue holds nothing: no message, no session, nobody waiting on it.
func (q *queueActor) idle() bool {
	s, r, f := q.core.Counts()
	return s+r+f == 0 && q.core.Sessions() == 0 && len(q.conns) == 0 && len(q.held) == 0 &&
		len(q.drainers) == 0 && q.ref.pending.Load() == 0
}

// armReap starts the reap timer when the queue has become idle and stops it when it no longer is.
func (q *queueActor) armReap() {
	idle := q.idle() && q.reapInterval > 0
	switch {
	case idle && q.reapTimer == nil:
		q.reapSeq++
		pid, engine, seq := q.pid, q.sys.engine, q.reapSeq
		q.reapTimer = q.sys.clock.AfterFunc(q.reapInterval, func() { engine.Send(pid, reapCheck{seq: seq}) })
	case !idle && q.reapTimer != nil:
		q.reapTimer.Stop()
		q.reapTimer = nil
	}
}

// spoolHeld writes deferred messages to the spool when the queue stops, as KumoMTA does at shutdown.
func (q *queueActor) spoolHeld() {
	for id, e := range q.held {
		q.sys.spool.Put(e, q.logSpoolError(id))
	}
	q.held = map[message.SpoolID]*persistence.Entry{}
}

func (q *queueActor) logSpoolError(id message.SpoolID) func(error) {
	return func(err error) {
		if err != nil {
			q.sys.log.Error("spooling a deferred message", "queue", q.name, "id", id.String(), "error", err)
		}
	}
}

// load reads a message back for a record about it.
func (q *queueActor) load(id message.SpoolID) (*message.Message, error) {
	e := q.held[id]
	if e == nil {
		var err error
		if e, err = q.sys.spool.Load(id); err != nil {
			return nil, err
		}
	}
	return persistence.DecodeMessage(e)
}

// logAbout emits the record build makes for a queued message; the queue must not block, so the
// record goes past the loggers' bound if they are full.
func (q *queueActor) logAbout(it queue.Item, build func(*message.Message) *message.LogRecord) {
	m, err := q.load(it.ID)
	if err != nil {
		q.sys.log.Error("cannot read a queued message back", "queue", q.name, "id", it.ID.String(), "error", err)
		return
	}
	q.sys.emit([]*Event{messageEvent(build(m), m)}, false)
}

// answered reports whether the destination answered a batch (something was delivered or bounced);
// a batch that only failed transiently counts against the destination's breaker.
func answered(results []queue.Result) bool {
	for _, r := range results {
		if r.Disposition != queue.Transient {
			return true
		}
	}
	return false
}

// allow asks the destination's breaker for a batch about to go out. Refused (the breaker opened
// meanwhile, or another queue's probe is out), the batch goes back to the queue without an attempt
// and the session (conn, if it runs) is closed.
func (q *queueActor) allow(c *actor.Context, id queue.SessionID, now time.Time, conn *actor.PID) bool {
	b := q.breaker()
	if b == nil {
		return true
	}
	done, ok := b.Allow(now)
	if ok {
		q.dones[id] = done
		return true
	}
	if conn != nil {
		c.Send(conn, closeSession{reason: "circuit breaker open"})
		delete(q.conns, id)
	}
	_, until := b.Check(now)
	if until.IsZero() {
		until = now.Add(time.Second)
	}
	q.gate = until
	q.apply(c, q.core.Return(id, until, now), now)
	return false
}

func (q *queueActor) breaker() *queue.Breaker {
	if q.info == nil || !q.core.Config().Deliverable {
		return nil
	}
	return q.info.breaker
}

// syncGate applies the breaker's verdict to the core when it changed.
func (q *queueActor) syncGate(c *actor.Context, now time.Time) {
	b := q.breaker()
	if b == nil {
		return
	}
	g, until := b.Check(now)
	if g == q.core.Gate() && (g != queue.Paused || until.Equal(q.gate)) {
		return
	}
	q.gate = until
	q.apply(c, q.core.SetGate(g, until, now), now)
}

// countResults counts a batch's outcomes for metrics.
func (q *queueActor) countResults(results []queue.Result) {
	for _, r := range results {
		switch r.Disposition {
		case queue.Delivered:
			q.delivered++
		case queue.Bounced:
			q.bounced++
		default:
			q.transient++
		}
	}
}

// detail adds the oldest message's age and the attempts histogram to a snapshot.
func (q *queueActor) detail(st *QueueStats, now time.Time) {
	var oldest time.Time
	st.Attempts = map[uint16]int{}
	q.core.Items(func(it queue.Item) {
		if c := it.ID.Created(); oldest.IsZero() || c.Before(oldest) {
			oldest = c
		}
		st.Attempts[it.Attempts]++
	})
	if !oldest.IsZero() {
		st.OldestAge = message.FormatDuration(now.Sub(oldest).Truncate(time.Second))
	}
}
