package queue

import (
	"container/heap"
	"fmt"
	"math"
	"time"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/throttle"
)

// Item is a queued message as the core sees it: only what scheduling needs. Its creation time is
// the one its spool id carries.
type Item struct {
	ID       message.SpoolID
	Due      time.Time // zero = due at once
	Attempts uint16
}

// entry is how the core stores an item: 32 bytes and no pointers, so that a queue of a million
// messages costs tens of megabytes and nothing for the garbage collector to scan.
type entry struct {
	id       message.SpoolID
	due      int64  // unix nanoseconds
	seq      uint32 // order of scheduling, to break ties between equal due times (wraps safely)
	attempts uint16
}

func toEntry(it Item) entry {
	return entry{id: it.ID, due: it.Due.UnixNano(), attempts: it.Attempts}
}

func (e entry) item() Item {
	return Item{ID: e.id, Due: time.Unix(0, e.due).UTC(), Attempts: e.attempts}
}

// SessionID names one delivery session of a queue.
type SessionID uint64

// Disposition is how one delivery attempt of one message ended.
type Disposition uint8

// The dispositions of an attempt.
const (
	Transient Disposition = iota // TransientFailure: retry with backoff
	Delivered                    // Delivery: done
	Bounced                      // Bounce: done, failed
)

// Result is the outcome of one message of a batch.
type Result struct {
	ID          message.SpoolID
	Disposition Disposition
}

// Action is something the caller must carry out.
type Action interface{ isAction() }

// Start opens a new session whose first batch is Batch.
type Start struct {
	Session SessionID
	Batch   []Item
}

// Deliver hands Batch to an open, idle session.
type Deliver struct {
	Session SessionID
	Batch   []Item
}

// Close ends an idle session.
type Close struct {
	Session SessionID
	Reason  string
}

// Retry records that Item failed transiently: persist its new Attempts and Due.
type Retry struct{ Item Item }

// Expire ends Item: log an Expiration with Response and remove it from storage.
type Expire struct {
	Item     Item
	Response string
}

// Forget removes Item from storage: it was delivered or bounced.
type Forget struct{ Item Item }

// Undeliverable asks for a TransientFailure record for Item, whose queue has no protocol that can
// deliver; Attempts is its count before this failure. A Retry or Expire for it follows.
type Undeliverable struct {
	Item     Item
	Attempts uint16
}

func (Start) isAction()         {}
func (Deliver) isAction()       {}
func (Close) isAction()         {}
func (Retry) isAction()         {}
func (Expire) isAction()        {}
func (Forget) isAction()        {}
func (Undeliverable) isAction() {}

// Close reasons.
const (
	ReasonIdle          = "idle timeout"
	ReasonMaxDeliveries = "max_deliveries_per_connection reached"
	ReasonDrain         = "queue draining"
	ReasonOverLimit     = "connection_limit lowered"
	ReasonReload        = "policy reloaded"
	ReasonSlots         = "another queue needs a session slot"
)

type session struct {
	id        SessionID
	inflight  []entry // nil when idle
	idleSince time.Time
	delivered int
}

// Core is the state of one scheduled queue. It is not safe for concurrent use: one actor owns it.
type Core struct {
	cfg      Config
	rand     func() float64
	total    int // messages held, in any state
	sched    entryHeap
	ready    fifo
	sessions map[SessionID]*session
	idle     []*session // LIFO: the most recently used idle session is reused first
	nextID   SessionID
	seq      uint32
	draining bool
	gate     Gate
	gateTill time.Time // while paused: when to look again
	probing  bool      // a probe batch is out

	suspended bool // an administrator suspended the queue: due messages fail transiently

	queueRate *throttle.Limiter // max_message_rate of the queue, or nil
	pathRate  *throttle.Limiter // max_message_rate of the egress path, or nil
	rateTill  time.Time         // the path throttle refuses batches until then
	throttled uint64            // messages delayed by the queue throttle
}

// Gate is what a queue's circuit breaker allows.
type Gate uint8

// The gates.
const (
	Flowing Gate = iota // deliver as usual
	Paused              // start nothing and hand out nothing: due messages wait without spending attempts
	Probe               // hand out a single batch, then wait for the breaker's verdict
)

// New returns an empty queue core. rand yields uniform values in [0, 1) for retry jitter.
func New(cfg Config, rand func() float64) *Core {
	c := &Core{cfg: cfg.normalized(), rand: rand, sessions: make(map[SessionID]*session)}
	c.setLimiters()
	return c
}

// setLimiters makes the throttles for the configured rates, keeping those whose spec is unchanged.
func (c *Core) setLimiters() {
	c.queueRate = limiterFor(c.queueRate, c.cfg.MessageRate)
	c.pathRate = limiterFor(c.pathRate, c.cfg.PathRate)
}

func limiterFor(l *throttle.Limiter, spec throttle.Spec) *throttle.Limiter {
	switch {
	case spec.Limit == 0:
		return nil
	case l != nil && l.Spec() == spec:
		return l
	default:
		return throttle.NewLimiter(spec)
	}
}

// Throttled is the number of messages the queue's max_message_rate has delayed so far.
func (c *Core) Throttled() uint64 { return c.throttled }

// Config returns the configuration in force.
func (c *Core) Config() Config { return c.cfg }

// SetConfig replaces the configuration (a refresh) and re-plans.
func (c *Core) SetConfig(cfg Config, now time.Time) []Action {
	c.cfg = cfg.normalized()
	c.setLimiters()
	return c.plan(now, nil)
}

// Insert adds a message. A zero Due means due now. Ids must be unique (the spool makes them so).
func (c *Core) Insert(it Item, now time.Time) []Action {
	c.add(it, now)
	return c.plan(now, nil)
}

// InsertMany adds many messages (a recovered spool) and plans once.
func (c *Core) InsertMany(items []Item, now time.Time) []Action {
	for _, it := range items {
		c.add(it, now)
	}
	return c.plan(now, nil)
}

func (c *Core) add(it Item, now time.Time) {
	if it.Due.IsZero() {
		it.Due = now
	}
	c.total++
	c.schedule(toEntry(it))
}

// Tick re-plans at now: due messages become ready, idle sessions time out.
func (c *Core) Tick(now time.Time) []Action { return c.plan(now, nil) }

// Finished reports the end of a session's batch. Messages of the batch missing from results count as
// transient failures. closed says the session ended itself (its connection was closed).
func (c *Core) Finished(id SessionID, results []Result, closed bool, now time.Time) []Action {
	s := c.sessions[id]
	if s == nil {
		return nil
	}
	var acts []Action
	found := dispositions{results: results}
	for i, e := range s.inflight {
		switch found.of(i, e.id) {
		case Delivered, Bounced:
			c.total--
			acts = append(acts, Forget{Item: e.item()})
		default:
			acts = append(acts, c.fail(e, now))
		}
	}
	s.delivered += len(s.inflight)
	s.inflight = nil
	switch {
	case closed:
		delete(c.sessions, id)
	case c.draining:
		acts = c.endSession(s, ReasonDrain, acts)
	case s.delivered >= c.cfg.MaxDeliveriesPerConnection:
		acts = c.endSession(s, ReasonMaxDeliveries, acts)
	default:
		s.idleSince = now
		c.idle = append(c.idle, s)
	}
	return c.plan(now, acts)
}

// dispositions finds the result for each message of a batch. Results come in the batch's order
// but for messages a session could not read, so the i-th message's is looked for at position i
// first, then among a few by scanning, and only a long batch out of order gets a map (one per
// batch was an allocation per record with one message per call). A message without a result
// failed transiently.
type dispositions struct {
	results []Result
	byID    map[message.SpoolID]Disposition
}

func (d *dispositions) of(i int, id message.SpoolID) Disposition {
	if i < len(d.results) && d.results[i].ID == id {
		return d.results[i].Disposition
	}
	if len(d.results) <= 16 {
		for _, r := range d.results {
			if r.ID == id {
				return r.Disposition
			}
		}
		return Transient
	}
	if d.byID == nil {
		d.byID = make(map[message.SpoolID]Disposition, len(d.results))
		for _, r := range d.results {
			d.byID[r.ID] = r.Disposition
		}
	}
	return d.byID[id] // Transient when missing
}

// SetGate applies the breaker's verdict. Paused holds everything until `until` (Wake includes it);
// Probe allows one batch.
func (c *Core) SetGate(g Gate, until time.Time, now time.Time) []Action {
	if g != Probe {
		c.probing = false
	}
	c.gate, c.gateTill = g, until
	return c.plan(now, nil)
}

// SetSuspended starts or ends an administrator's suspension: while suspended, messages reaching
// their due time, and those already ready, fail transiently (an Undeliverable action each, then the
// normal retry schedule), as KumoMTA does at promotion and when popping the ready queue.
func (c *Core) SetSuspended(on bool, now time.Time) []Action {
	c.suspended = on
	if !on {
		return c.plan(now, nil)
	}
	var acts []Action
	for c.ready.len() > 0 {
		e := c.ready.pop()
		acts = append(acts, Undeliverable{Item: e.item(), Attempts: e.attempts}, c.fail(e, now))
	}
	return c.plan(now, acts)
}

// Suspended reports whether an administrator's suspension is in force.
func (c *Core) Suspended() bool { return c.suspended }

// TakeWaiting removes and returns every message not handed to a session (scheduled or ready): an
// administrator bounced the queue. Messages in flight finish their attempt first.
func (c *Core) TakeWaiting() []Item {
	out := make([]Item, 0, len(c.sched)+c.ready.len())
	for _, e := range c.sched {
		out = append(out, e.item())
	}
	for c.ready.len() > 0 {
		out = append(out, c.ready.pop().item())
	}
	c.sched = c.sched[:0]
	c.total -= len(out)
	return out
}

// Gate returns the gate in force.
func (c *Core) Gate() Gate { return c.gate }

// Return hands a batch back without an attempt (the breaker refused it at the last moment): the
// messages go back to the front of the ready set, the session is gone, and the queue pauses until
// `until`, when it asks the breaker again.
func (c *Core) Return(id SessionID, until time.Time, now time.Time) []Action {
	c.gate, c.gateTill, c.probing = Paused, until, false
	s := c.sessions[id]
	if s == nil {
		return nil
	}
	for i := len(s.inflight) - 1; i >= 0; i-- {
		c.ready.pushFront(s.inflight[i])
	}
	delete(c.sessions, id)
	return c.plan(now, nil)
}

// IdleSessions returns the number of open sessions waiting for work.
func (c *Core) IdleSessions() int { return len(c.idle) }

// CloseIdle closes every idle session, for reason: the policy was reloaded (new batches go to new
// sessions), or another queue is waiting for a session slot.
func (c *Core) CloseIdle(reason string, now time.Time) []Action {
	var acts []Action
	for _, s := range c.idle {
		acts = c.endSession(s, reason, acts)
	}
	c.idle = c.idle[:0]
	return c.plan(now, acts)
}

// Drain stops handing out work: idle sessions close now, busy ones when their batch finishes.
// Messages stay queued.
func (c *Core) Drain(now time.Time) []Action {
	c.draining = true
	return c.plan(now, nil)
}

// Drained reports whether a draining queue has no session left.
func (c *Core) Drained() bool { return c.draining && len(c.sessions) == 0 }

// Wake returns when Tick must next be called, if ever.
func (c *Core) Wake() (time.Time, bool) {
	var at time.Time
	ok := false
	earliest := func(t time.Time) {
		if !ok || t.Before(at) {
			at, ok = t, true
		}
	}
	if len(c.sched) > 0 && (!c.draining || !c.cfg.Deliverable) {
		earliest(time.Unix(0, c.sched[0].due).UTC())
	}
	if c.ready.len() > 0 && !c.rateTill.IsZero() && !c.draining && c.gate != Paused {
		earliest(c.rateTill)
	}
	if c.gate == Paused {
		earliest(c.gateTill)
	} else if c.ready.len() > 0 && c.ready.len() < c.cfg.MinBatchSize && !c.draining {
		earliest(time.Unix(0, c.ready.at(0).due+int64(c.batchWait())).UTC())
	}
	for _, s := range c.idle {
		earliest(s.idleSince.Add(c.cfg.IdleTimeout))
	}
	return at, ok
}

// Counts reports how many messages are waiting for their due time, ready, and in flight.
func (c *Core) Counts() (scheduled, ready, inflight int) {
	scheduled, ready = len(c.sched), c.ready.len()
	return scheduled, ready, c.total - scheduled - ready
}

// Len is the number of messages the queue holds, in any state.
func (c *Core) Len() int { return c.total }

// Sessions is the number of open sessions.
func (c *Core) Sessions() int { return len(c.sessions) }

// Items calls fn for every message the queue holds, in no particular order.
func (c *Core) Items(fn func(Item)) {
	for _, e := range c.sched {
		fn(e.item())
	}
	for i := 0; i < c.ready.len(); i++ {
		fn(c.ready.at(i).item())
	}
	for _, s := range c.sessions {
		for _, e := range s.inflight {
			fn(e.item())
		}
	}
}

// fail applies the retry schedule to a transiently failed message: it is rescheduled, or expires
// when its next attempt would fall past max_age (its age counted from its spool id's time).
func (c *Core) fail(e entry, now time.Time) Action {
	delay := c.cfg.RetryDelay(e.attempts, c.rand())
	if delay < time.Second {
		delay = time.Second // never retry in a busy loop, whatever the configuration
	}
	if e.attempts < math.MaxUint16 {
		e.attempts++
	}
	if age := now.Sub(e.id.Created()); age+delay > c.cfg.MaxAge {
		c.total--
		return Expire{Item: e.item(), Response: fmt.Sprintf(
			"Next delivery time would be %s after creation, which exceeds max_age=%s",
			message.FormatDuration(age+delay), message.FormatDuration(c.cfg.MaxAge))}
	}
	e.due = now.Add(delay).UnixNano()
	c.schedule(e)
	return Retry{Item: e.item()}
}

func (c *Core) schedule(e entry) {
	c.seq++
	e.seq = c.seq
	heap.Push(&c.sched, e)
}

func (c *Core) endSession(s *session, reason string, acts []Action) []Action {
	delete(c.sessions, s.id)
	return append(acts, Close{Session: s.id, Reason: reason})
}

// plan moves due messages forward and matches ready messages with sessions.
func (c *Core) plan(now time.Time, acts []Action) []Action {
	for nowNanos := now.UnixNano(); len(c.sched) > 0 && c.sched[0].due <= nowNanos; {
		e := heap.Pop(&c.sched).(entry)
		if c.queueRate != nil {
			if ok, wait := c.queueRate.Allow(now, 1); !ok {
				// Throttled: back to the schedule for the throttle's delay, no attempt spent.
				e.due = now.Add(wait).UnixNano()
				c.throttled++
				c.schedule(e)
				break
			}
		}
		if c.cfg.Deliverable && !c.suspended {
			c.ready.push(e)
			continue
		}
		acts = append(acts, Undeliverable{Item: e.item(), Attempts: e.attempts}, c.fail(e, now))
	}
	acts = c.closeIdle(now, acts)
	if c.draining {
		return acts
	}
	for len(c.idle) > 0 && c.mayDispatch(now) {
		s := c.idle[len(c.idle)-1]
		c.idle = c.idle[:len(c.idle)-1]
		s.inflight = c.takeBatch()
		acts = append(acts, Deliver{Session: s.id, Batch: items(s.inflight)})
	}
	target := IdealConnections(c.cfg.ConnectionLimit, c.ready.len())
	for len(c.sessions) < target && c.mayDispatch(now) {
		c.nextID++
		s := &session{id: c.nextID, inflight: c.takeBatch()}
		c.sessions[s.id] = s
		acts = append(acts, Start{Session: s.id, Batch: items(s.inflight)})
	}
	return acts
}

// mayDispatch reports whether a batch may be handed out now: the breaker lets it, and either enough
// messages are ready for a batch of min_batch_size, or the oldest has waited max_batch_latency. A true
// answer while probing takes the probe, so call it only when a batch will then be handed out.
func (c *Core) mayDispatch(now time.Time) bool {
	n := c.ready.len()
	switch {
	case n == 0 || c.gate == Paused:
		return false
	case c.gate == Probe && c.probing:
		return false
	case n < c.cfg.MinBatchSize && now.UnixNano() < c.ready.at(0).due+int64(c.batchWait()):
		return false
	case now.Before(c.rateTill):
		return false
	}
	if c.pathRate != nil {
		if ok, wait := c.pathRate.Allow(now, uint64(c.batchLen())); !ok {
			c.rateTill = now.Add(wait) // the egress path's max_message_rate: wait, no attempt spent
			return false
		}
	}
	if c.gate == Probe {
		c.probing = true // this batch is the probe
	}
	return true
}

// batchLen is the size of the next batch: batch_size, the ready count and the path throttle's burst
// all bound it.
func (c *Core) batchLen() int {
	n := min(c.cfg.BatchSize, c.ready.len())
	if c.pathRate != nil {
		n = min(n, int(min(c.pathRate.Burst(), uint64(n))))
	}
	return max(n, 1)
}

// batchWait is how long an incomplete batch waits for more messages: max_batch_latency, but never
// longer than the idle timeout (as a KumoMTA session that idles out sends what it holds).
func (c *Core) batchWait() time.Duration { return min(c.cfg.MaxBatchLatency, c.cfg.IdleTimeout) }

// closeIdle ends idle sessions that timed out, all idle sessions while draining, and idle sessions
// above the connection limit.
func (c *Core) closeIdle(now time.Time, acts []Action) []Action {
	kept := c.idle[:0]
	over := len(c.sessions) - c.cfg.ConnectionLimit
	for _, s := range c.idle {
		switch {
		case c.draining:
			acts = c.endSession(s, ReasonDrain, acts)
		case !now.Before(s.idleSince.Add(c.cfg.IdleTimeout)):
			acts = c.endSession(s, ReasonIdle, acts)
			over--
		case over > 0:
			acts = c.endSession(s, ReasonOverLimit, acts)
			over--
		default:
			kept = append(kept, s)
		}
	}
	for i := len(kept); i < len(c.idle); i++ {
		c.idle[i] = nil
	}
	c.idle = kept
	return acts
}

func (c *Core) takeBatch() []entry {
	n := c.batchLen()
	batch := make([]entry, n)
	for i := range batch {
		batch[i] = c.ready.pop()
	}
	return batch
}

func items(es []entry) []Item {
	out := make([]Item, len(es))
	for i, e := range es {
		out[i] = e.item()
	}
	return out
}

// IdealConnections is KumoMTA's target number of sessions for a ready queue of readyLen messages:
// ceil(limit * (1 - e^(-0.023*readyLen))), never more than readyLen.
func IdealConnections(limit, readyLen int) int {
	if readyLen <= 0 || limit <= 0 {
		return 0
	}
	n := int(math.Ceil(float64(limit) * (1 - math.Exp(-0.023*float64(readyLen)))))
	return min(n, readyLen, limit)
}
