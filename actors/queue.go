package actors

import (
	"log/slog"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/admin"
	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/queue"
	"github.com/hookd/hookd/wire"
)

// configRetry is how soon a queue asks again after get_queue_config failed.
const configRetry = time.Minute

// queueActor owns one scheduled queue: its decision core, its configuration, its timers and the
// sessions delivering it. It never waits: its configuration comes from a policy runner, records
// about its messages are written by the recorder, the spool's requests do not wait for I/O, and the
// destination's breaker answers by message. Message bodies stay in the spool, except those of fresh
// messages (kept, within a byte budget, until their first attempt ends, so a session gets them
// without reading them back) and deferred ones (kept until spooled).
type queueActor struct {
	p      QueuePorts
	engine *actor.Engine
	name   string
	parts  message.QueueName
	pid    *actor.PID

	core    *queue.Core
	pending []queue.Item // inserted while the first configuration is being resolved
	info    SessionInfo
	problem string
	held    map[message.SpoolID]*persistence.Entry // deferred_spool messages, not in the spool
	fresh   map[message.SpoolID]*wire.Stored       // bodies of fresh messages (Bodies budget)
	conns   map[queue.SessionID]*actor.PID
	gen     uint64                     // bumped at each policy reload
	connGen map[queue.SessionID]uint64 // the reload generation each session started in

	resolveGen   uint64 // numbers resolveQueue requests; answers to older ones are ignored
	resolving    bool
	refreshEvery time.Duration
	reapInterval time.Duration

	dest destinationLink

	adminCache    admin.QueueCache
	suspendReason string
	adminTimer    clock.Timer
	adminAt       time.Time

	timer    clock.Timer
	armedAt  time.Time
	refresh  clock.Timer
	drainers []*actor.PID

	reapTimer clock.Timer
	reapSeq   uint64

	// outcomes of this queue's attempts, for metrics
	delivered, transient, bounced, expired uint64

	retired, fenced bool // the queue moved to another member (queue_cluster.go)
}

// QueuePorts are what a queue actor uses.
type QueuePorts struct {
	Home         QueueHome
	Store        QueueStore
	Resolvers    Resolvers
	Sessions     Sessions
	Destinations Destinations
	Recorder     *actor.PID
	Admin        *admin.Registry
	Send         Sender
	Clock        clock.Clock
	Inserts      *Credits // returned as inserts arrive
	Slots        *Credits // the node's session slots: a queue with idle sessions gives them up when others wait
	Bodies       *Credits // bytes of fresh bodies the queues may keep
	Metrics      *Metrics
	Rand         func() float64 // uniform in [0, 1), for retry jitter
	Log          *slog.Logger
	// Owners and Relay are set on a cluster member: who may deliver the queue, and where its
	// messages go when it moved to another member.
	Owners Owners
	Relay  Router
}

func newQueueActor(name string, p QueuePorts) *queueActor {
	return &queueActor{p: p, name: name, parts: message.ParseQueueName(name),
		held: map[message.SpoolID]*persistence.Entry{}, fresh: map[message.SpoolID]*wire.Stored{},
		conns: map[queue.SessionID]*actor.PID{}, connGen: map[queue.SessionID]uint64{}}
}

func (q *queueActor) Receive(c *pooledCtx) {
	now := q.p.Clock.Now()
	switch m := c.Message().(type) {
	case actor.Started:
		q.pid, q.engine = c.PID(), c.Engine()
		q.resolve()
	case actor.Stopped:
		q.stopped(c)
		return
	case *wire.Insert:
		traceHop(HopQueue)
		q.insert(m, now)
	case queueResolved:
		q.resolved(c, m, now)
	case queueTick:
		q.armedAt = time.Time{}
		if q.core != nil {
			q.apply(q.core.Tick(now), now)
		}
	case *wire.SessionDone:
		q.sessionDone(c, m, now)
	case *wire.Gate:
		q.dest.gate(q, m, now)
	case *wire.ProbeClaimed:
		q.dest.claimed(q, m, now)
	case refreshDue:
		q.resolve()
	case reloadQueue:
		q.gen++
		if q.core != nil {
			q.apply(q.core.CloseIdle(queue.ReasonReload, now), now)
		}
		q.resolve()
	case releaseIdle:
		if q.core != nil {
			q.apply(q.core.CloseIdle(queue.ReasonSlots, now), now)
		}
	case reapCheck:
		if q.reapTimer == nil || m.seq != q.reapSeq {
			break // a later change of state made this check stale
		}
		q.reapTimer = nil
		if q.idle() && q.p.Home.Reap() {
			q.p.Log.Debug("queue reaped: empty for its reap_interval", "queue", q.name, "reap_interval", q.reapInterval)
			c.Stop()
			return
		}
	case adminCheck, *wire.AdminChanged: // syncAdmin below does the work
	case drainQueue:
		q.drainers = append(q.drainers, c.Sender())
		if q.core != nil {
			q.apply(q.core.Drain(now), now)
		}
	case *wire.QueueStatsRequest:
		c.Respond(q.snapshot(m.Detail, now))
	case retireQueue:
		q.retire(now)
	case ownerChanged: // after looks again
	}
	if q.retired {
		if q.handOff(now) {
			c.Stop()
			return
		}
	}
	q.after(c, now)
}

// after runs once every message has been handled: administrators' rules, the breaker's probe, the
// session slots, the reap timer and the drain waiters.
func (q *queueActor) after(c *pooledCtx, now time.Time) {
	if q.core == nil {
		q.answerDrainers(c)
		return
	}
	q.syncAdmin(now)
	q.dest.sync(q, now)
	if q.p.Slots.Waiting() > 0 && q.core.IdleSessions() > 0 { // another queue needs a slot
		q.apply(q.core.CloseIdle(queue.ReasonSlots, now), now)
	}
	q.armReap()
	if q.core.Drained() {
		q.answerDrainers(c)
	}
}

func (q *queueActor) answerDrainers(c *pooledCtx) {
	if len(q.conns) > 0 {
		return
	}
	for _, pid := range q.drainers {
		c.Engine().Send(pid, queueDrained{})
	}
	q.drainers = nil
}

// insert takes messages from a hook (fresh, with their bodies), from recovery or a handover (without).
func (q *queueActor) insert(m *wire.Insert, now time.Time) {
	n := len(m.Messages)
	q.p.Home.Arrived(n)
	if m.Counted {
		q.p.Inserts.Release(n)
	}
	items := make([]queue.Item, 0, n)
	for _, s := range m.Messages {
		it, err := storedItem(s)
		if err != nil {
			q.p.Log.Error("an insert with a malformed message id was dropped", "queue", q.name, "error", err)
			q.p.Metrics.Queued.Add(-1)
			continue
		}
		switch {
		case m.Held:
			e, _ := storedEntry(q.name, s)
			q.held[it.ID] = e
		case len(s.Body) > 0 && q.keepsFresh() && q.p.Bodies.TryAcquire(len(s.Body)+len(s.Meta)):
			q.fresh[it.ID] = s
		}
		items = append(items, it)
	}
	if q.core == nil || q.retired {
		q.pending = append(q.pending, items...)
		return
	}
	q.apply(q.core.InsertMany(q.admit(items, now), now), now)
}

// keepsFresh says whether new messages keep their bodies for their first attempt: not while the
// destination's breaker is open, when that attempt may be minutes away.
func (q *queueActor) keepsFresh() bool { return !q.dest.open() }

// dropAllFresh forgets every fresh body (the destination's breaker opened: they are durable in the
// spool, and the first attempts may be minutes away).
func (q *queueActor) dropAllFresh() {
	for id, s := range q.fresh {
		delete(q.fresh, id)
		q.p.Bodies.Release(len(s.Body) + len(s.Meta))
	}
}

// dropFresh forgets a fresh body: the message's first attempt is over.
func (q *queueActor) dropFresh(id message.SpoolID) {
	if s, ok := q.fresh[id]; ok {
		delete(q.fresh, id)
		q.p.Bodies.Release(len(s.Body) + len(s.Meta))
	}
}

func (q *queueActor) sessionDone(c *pooledCtx, m *wire.SessionDone, now time.Time) {
	id := queue.SessionID(m.Session)
	closed := m.Closed
	if !closed && q.connGen[id] != q.gen { // its Lua state is of a replaced policy
		if pid := q.conns[id]; pid != nil {
			c.Send(pid, &wire.CloseSession{Reason: queue.ReasonReload})
		}
		closed = true
	}
	if closed {
		delete(q.conns, id)
		delete(q.connGen, id)
	}
	rs := results(m.Results)
	q.countResults(rs)
	q.dest.report(q, id, rs)
	q.dest.sync(q, now) // a failure holds the queue until the destination's verdict
	if q.core != nil {
		q.apply(q.core.Finished(id, rs, closed, now), now)
	}
}

// apply carries out the core's actions, then re-arms the wake-up timer. Records go to the recorder
// last, so that whoever reads one finds the spool already updated by the same actions.
func (q *queueActor) apply(acts []queue.Action, now time.Time) {
	var records []recordWork
	for _, a := range acts {
		switch a := a.(type) {
		case queue.Start:
			q.startSession(a.Session, a.Batch)
		case queue.Deliver:
			q.dest.dispatched(a.Session)
			q.p.Send.Send(q.conns[a.Session], q.work(a.Session, a.Batch))
		case queue.Close:
			if pid := q.conns[a.Session]; pid != nil {
				q.p.Send.Send(pid, &wire.CloseSession{Reason: a.Reason})
				delete(q.conns, a.Session)
				delete(q.connGen, a.Session)
			}
		case queue.Retry:
			q.p.Metrics.Transient.Add(1)
			q.dropFresh(a.Item.ID)
			if e := q.held[a.Item.ID]; e != nil { // a deferred message is spooled once it is delayed
				e.Attempts, e.Due = a.Item.Attempts, a.Item.Due
				q.p.Store.Put(e, q.logSpoolError(e.ID))
				delete(q.held, a.Item.ID)
			} else {
				q.p.Store.Update(a.Item.ID, a.Item.Attempts, a.Item.Due)
			}
		case queue.Expire:
			q.p.Metrics.Transient.Add(1)
			q.p.Metrics.Expired.Add(1)
			q.expired++
			records = append(records, q.record(expirationWork(q.info, a), []queue.Item{a.Item}, true))
		case queue.Forget:
			q.forget(a.Item)
		case queue.Undeliverable:
			q.transient++
			records = append(records, q.record(q.undeliverableWork(), []queue.Item{{ID: a.Item.ID, Attempts: a.Attempts}}, false))
		}
	}
	for _, w := range records {
		q.p.Send.Send(q.p.Recorder, w)
	}
	q.arm(now)
}

// forget removes a finished message from the spool (or from memory, when it never went there).
func (q *queueActor) forget(it queue.Item) {
	q.p.Metrics.Queued.Add(-1)
	q.dropFresh(it.ID)
	if _, ok := q.held[it.ID]; ok {
		delete(q.held, it.ID)
		return
	}
	q.p.Store.Delete(it.ID)
}

// record prepares the recorder's work of a record for each message, with the bodies the queue holds;
// with remove, the recorder deletes them once it has read them, and the queue forgets them now.
func (q *queueActor) record(w recordWork, items []queue.Item, remove bool) recordWork {
	w.Delete = remove
	for _, it := range items {
		ri := recordItem{ID: it.ID, Attempts: it.Attempts}
		if e := q.held[it.ID]; e != nil {
			ri.Meta, ri.Body = e.Meta, e.Body
			if remove {
				delete(q.held, it.ID)
			}
		} else if s := q.fresh[it.ID]; s != nil {
			ri.Meta, ri.Body = s.Meta, s.Body
		}
		w.Items = append(w.Items, ri)
		if remove {
			q.p.Metrics.Queued.Add(-1)
			q.dropFresh(it.ID)
		}
	}
	return w
}

// work is the batch for a session, with the bodies the queue holds.
func (q *queueActor) work(id queue.SessionID, batch []queue.Item) *wire.SessionWork {
	w := &wire.SessionWork{Session: uint64(id), Batch: make([]*wire.Stored, len(batch))}
	for i, it := range batch {
		var e *persistence.Entry
		if h := q.held[it.ID]; h != nil {
			e = h
		} else if s := q.fresh[it.ID]; s != nil {
			e = &persistence.Entry{Meta: s.Meta, Body: s.Body}
		}
		w.Batch[i] = itemStored(it, e)
	}
	return w
}

func (q *queueActor) startSession(id queue.SessionID, batch []queue.Item) {
	pid, err := q.p.Sessions.Start(SessionSpec{Info: q.info, Session: id, QueuePID: q.pid})
	if err != nil {
		q.p.Log.Error("starting a session", "queue", q.name, "error", err)
		now := q.p.Clock.Now()
		q.apply(q.core.Finished(id, nil, true, now), now)
		return
	}
	q.conns[id] = pid
	q.connGen[id] = q.gen
	q.dest.dispatched(id)
	q.p.Send.Send(pid, q.work(id, batch))
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
	pid, send := q.pid, q.p.Send
	q.armedAt = at
	q.timer = q.p.Clock.At(at, func() { send.Send(pid, queueTick{}) })
}

func (q *queueActor) stopped(c *pooledCtx) {
	for _, t := range []clock.Timer{q.timer, q.adminTimer, q.refresh, q.reapTimer} {
		if t != nil {
			t.Stop()
		}
	}
	q.reapTimer = nil
	for id, e := range q.held { // deferred messages are spooled at shutdown, as KumoMTA does
		q.p.Store.Put(e, q.logSpoolError(id))
	}
	q.held = map[message.SpoolID]*persistence.Entry{}
	for id := range q.fresh {
		q.dropFresh(id)
	}
	for id, pid := range q.conns {
		q.p.Send.Send(pid, &wire.CloseSession{Reason: queue.ReasonDrain})
		delete(q.conns, id)
	}
	q.dest.unsubscribe(q)
	q.p.Home.Stopped()
}

// idle reports whether the queue holds nothing: no message, no session, nobody waiting on it.
func (q *queueActor) idle() bool {
	if q.core == nil {
		return false
	}
	s, r, f := q.core.Counts()
	return s+r+f == 0 && q.core.Sessions() == 0 && len(q.conns) == 0 && len(q.held) == 0 &&
		len(q.drainers) == 0 && len(q.pending) == 0
}

// armReap starts the reap timer when the queue has become idle and stops it when it no longer is.
func (q *queueActor) armReap() {
	idle := q.idle() && q.reapInterval > 0
	switch {
	case idle && q.reapTimer == nil:
		q.reapSeq++
		pid, send, seq := q.pid, q.p.Send, q.reapSeq
		q.reapTimer = q.p.Clock.AfterFunc(q.reapInterval, func() { send.Send(pid, reapCheck{seq: seq}) })
	case !idle && q.reapTimer != nil:
		q.reapTimer.Stop()
		q.reapTimer = nil
	}
}

func (q *queueActor) logSpoolError(id message.SpoolID) func(error) {
	log, name := q.p.Log, q.name
	return func(err error) {
		if err != nil {
			log.Error("spooling a deferred message", "queue", name, "id", id.String(), "error", err)
		}
	}
}

// sendAs sends with the queue as the sender, for messages that are answered.
func (q *queueActor) sendAs(pid *actor.PID, msg any) { q.engine.SendWithSender(pid, msg, q.pid) }

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
