package actors

import (
	"fmt"
	"strings"

	"github.com/anthdm/hollywood/actor"
	"github.com/google/uuid"

	"github.com/hookd/hookd/lua"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/queue"
)

// connActor is one delivery session of a queue: it owns a Lua state and the connection object the
// custom_lua constructor returned, calls send or send_batch for each batch the queue hands it, logs
// the outcome records and reports the outcome to the queue.
type connActor struct {
	sys     *System
	info    *sessionInfo
	session queue.SessionID
	uuid    string
	state   *lua.State
	conn    *lua.Connection
	slot    bool // holds one of the node's session slots (Limits.MaxSessions)
	worker  *worker
}

func newConnActor(sys *System, info *sessionInfo, id queue.SessionID) *connActor {
	return &connActor{sys: sys, info: info, session: id, uuid: uuid.NewString()}
}

func (c *connActor) Receive(ctx *actor.Context) {
	switch m := ctx.Message().(type) {
	case actor.Started:
		c.sys.stats.sessions.Add(1)
		c.worker = newWorker()
	case actor.Stopped:
		c.worker.do(c.shutdown)
		c.worker.stop()
		c.sys.stats.sessions.Add(-1)
	case sessionWork:
		var results []queue.Result
		var closed bool
		c.worker.do(func() { results, closed = c.deliver(m) })
		ctx.Send(c.info.queuePID, sessionDone{session: c.session, results: results, closed: closed})
		if closed {
			ctx.Engine().Poison(ctx.PID())
		}
	case closeSession:
		c.worker.do(c.shutdown)
		ctx.Engine().Poison(ctx.PID())
	}
}

// shutdown closes the connection object and returns the Lua state. It is idempotent.
func (c *connActor) shutdown() {
	if c.conn != nil {
		if err := c.conn.Close(); err != nil {
			c.sys.log.Warn("error in the connection's close method", "queue", c.info.queue, "error", err)
		}
		c.conn = nil
	}
	if c.state != nil {
		c.sys.pool.Put(c.state)
		c.state = nil
	}
	if c.slot {
		c.sys.sessionSlots.Release(1)
		c.slot = false
	}
}

// deliver runs one batch and reports each message's disposition, and whether the session ended.
func (c *connActor) deliver(w sessionWork) ([]queue.Result, bool) {
	msgs, results := c.load(w)
	if len(msgs) == 0 {
		return results, false
	}
	var verdict queue.Verdict
	if err := c.connect(); err != nil {
		verdict = queue.ConnectFailed(err)
	} else {
		verdict = queue.Classify(c.call(msgs))
	}
	now := c.sys.clock.Now()
	// A record about a message a log hook built is for local logs only (hooks never see those), so
	// without local logs it is not even built.
	locals := len(c.sys.locals) > 0
	events := make([]*Event, 0, len(msgs))
	for _, lm := range msgs {
		if locals || !isHookMessage(lm.Msg) {
			events = append(events, messageEvent(c.record(lm, verdict, now), lm.Msg))
		}
		results = append(results, queue.Result{ID: lm.Msg.ID, Disposition: verdict.Disposition})
	}
	c.count(verdict.Disposition, len(msgs))
	c.sys.emit(events, true)
	if verdict.Close {
		c.shutdown()
	}
	return results, verdict.Close
}

func (c *connActor) count(d queue.Disposition, n int) {
	switch d {
	case queue.Delivered:
		c.sys.stats.delivered.Add(uint64(n))
	case queue.Bounced:
		c.sys.stats.bounced.Add(uint64(n))
	}
}

// load reads the batch's messages; one that has vanished from the spool is reported done.
func (c *connActor) load(w sessionWork) ([]*lua.Message, []queue.Result) {
	var msgs []*lua.Message
	var gone []queue.Result
	for _, it := range w.batch {
		e := w.held[it.ID]
		var err error
		if e == nil {
			e, err = c.sys.spool.Load(it.ID)
		}
		var m *message.Message
		if err == nil {
			m, err = persistence.DecodeMessage(e)
		}
		if err != nil {
			c.sys.log.Error("cannot read a queued message; it is dropped", "queue", c.info.queue,
				"id", it.ID.String(), "error", err)
			gone = append(gone, queue.Result{ID: it.ID, Disposition: queue.Bounced})
			continue
		}
		msgs = append(msgs, &lua.Message{Msg: m, Attempts: it.Attempts})
	}
	return msgs, gone
}

// connect builds the session's connection object on first use: one constructor call per session.
func (c *connActor) connect() error {
	if c.conn != nil {
		return nil
	}
	if !c.slot && !c.sys.sessionSlots.TryAcquire(1) {
		// Every slot is taken: sessions idling in other queues give theirs back, and this one waits.
		for _, ref := range c.sys.queues.all() {
			c.sys.engine.Send(ref.pid, releaseIdle{})
		}
		if err := c.sys.sessionSlots.Acquire(c.sys.ctx, 1); err != nil {
			return fmt.Errorf("waiting for a session slot: %w", err)
		}
	}
	c.slot = true
	st, err := c.sys.pool.Get()
	if err != nil {
		return err
	}
	c.state = st
	p := c.info.parts
	conn, err := st.Connect(c.info.constructor, p.Domain, p.Tenant, p.Campaign)
	if err != nil {
		return err
	}
	c.conn = conn
	return nil
}

func (c *connActor) call(msgs []*lua.Message) queue.Call {
	var out lua.Outcome
	if c.info.batchSize > 1 {
		out = c.conn.SendBatch(msgs)
	} else {
		out = c.conn.Send(msgs[0])
	}
	if out.Interrupted {
		c.sys.stats.interrupted.Add(1)
		c.sys.log.Error("a delivery call into the policy was stopped", "queue", c.info.queue, "error", out.Text)
	}
	return queue.Call{Returned: out.Kind == lua.Returned, Rejected: out.Kind == lua.Rejected, Code: out.Code, Text: out.Text}
}

// record is the Delivery, TransientFailure or Bounce record of one message of the batch.
func (c *connActor) record(lm *lua.Message, v queue.Verdict, now timeT) *message.LogRecord {
	kind := map[queue.Disposition]message.RecordType{queue.Delivered: message.Delivery,
		queue.Transient: message.TransientFailure, queue.Bounced: message.Bounce}[v.Disposition]
	r := c.sys.newRecord(kind, lm.Msg, lm.Attempts, now)
	r.Response = message.Response{Code: uint16(v.Code), Content: v.Content}
	r.Site = c.info.site
	unspecified, lua := "unspecified", "Lua"
	r.EgressPool, r.EgressSource, r.DeliveryProtocol = &unspecified, &unspecified, &lua
	r.SessionID = c.uuid
	if !strings.HasPrefix(v.Content, "KumoMTA internal: ") {
		r.PeerAddress = &message.PeerAddress{Name: fmt.Sprintf("Lua via %s", c.info.constructor), Addr: "0.0.0.0"}
	}
	return r
}
