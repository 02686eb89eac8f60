package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/google/uuid"

	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/lua"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/queue"
	"github.com/hookd/hookd/wire"
)

// sessionActor is one delivery session of a queue, on a loop (its own long-lived goroutine: the
// Lua calls it makes need a deep stack, and it may wait for a session slot or for a message read
// back from disk without holding anything else up). It owns a Lua state and the connection object
// the custom_lua constructor returned, calls send or send_batch for each batch the queue hands it,
// logs the outcome records and answers the queue with a SessionDone.
type sessionActor struct {
	p     SessionPorts
	spec  SessionSpec
	uuid  string
	state *lua.State
	conn  *lua.Connection
	slot  bool // holds one of the node's session slots (Limits.MaxSessions)
}

// SessionPorts are what a session uses.
type SessionPorts struct {
	States  States
	Loader  Loader
	Router  Router   // to ask idle sessions of other queues for their slot
	Slots   *Credits // the node's session slots
	Emitter Emitter
	Send    Sender
	Clock   clock.Clock
	Metrics *Metrics
	Log     *slog.Logger
	Ctx     context.Context // ends when the node stops
	Node    string          // the node's UUID, for records
	// LocalLogs says whether records about hook messages are wanted (only local logs take them).
	LocalLogs bool
}

func newSessionActor(spec SessionSpec, p SessionPorts) *sessionActor {
	return &sessionActor{p: p, spec: spec, uuid: uuid.NewString()}
}

func (s *sessionActor) Receive(l *loopCtx, msgs []actor.Envelope) {
	for _, env := range msgs {
		switch m := env.Msg.(type) {
		case actor.Started:
			s.p.Metrics.Sessions.Add(1)
		case actor.Stopped:
			s.shutdown()
			s.p.Metrics.Sessions.Add(-1)
		case *wire.SessionWork:
			results, closed := s.deliver(m)
			l.Send(s.spec.QueuePID, &wire.SessionDone{Session: m.Session, Results: wireResults(results), Closed: closed})
			if closed {
				l.Stop()
				return
			}
		case *wire.CloseSession:
			s.shutdown()
			l.Stop()
			return
		}
	}
}

// shutdown closes the connection object and returns the Lua state. It is idempotent.
func (s *sessionActor) shutdown() {
	if s.conn != nil {
		if err := s.conn.Close(); err != nil {
			s.p.Log.Warn("error in the connection's close method", "queue", s.spec.Info.Queue, "error", err)
		}
		s.conn = nil
	}
	if s.state != nil {
		s.p.States.Put(s.state)
		s.state = nil
	}
	if s.slot {
		s.p.Slots.Release(1)
		s.slot = false
	}
}

// deliver runs one batch and reports each message's disposition, and whether the session ended.
func (s *sessionActor) deliver(w *wire.SessionWork) ([]queue.Result, bool) {
	msgs, hookMade, results := s.load(w)
	if len(msgs) == 0 {
		return results, false
	}
	var verdict queue.Verdict
	if err := s.connect(); err != nil {
		verdict = queue.ConnectFailed(err)
	} else {
		verdict = queue.Classify(s.call(msgs))
	}
	now := s.p.Clock.Now()
	// A record about a message a log hook built is for local logs only (hooks never see those), so
	// without local logs it is not even built.
	recs := make([]Record, 0, len(msgs))
	for i, lm := range msgs {
		if lm.Complete() { // the policy may have changed its meta
			hookMade[i] = isHookMessage(lm.Msg)
		}
		if s.p.LocalLogs || !hookMade[i] {
			if m, err := lm.Full(); err != nil {
				s.p.Log.Error("no log record for a delivery attempt: the message cannot be read", "queue",
					s.spec.Info.Queue, "id", lm.Msg.ID.String(), "error", err)
			} else {
				recs = append(recs, messageRecord(s.record(lm, verdict, now), m))
			}
		}
		results = append(results, queue.Result{ID: lm.Msg.ID, Disposition: verdict.Disposition})
	}
	s.count(verdict.Disposition, len(msgs))
	if len(recs) > 0 {
		s.p.Emitter.Emit(recs, true)
	}
	if verdict.Close {
		s.shutdown()
	}
	return results, verdict.Close
}

func (s *sessionActor) count(d queue.Disposition, n int) {
	switch d {
	case queue.Delivered:
		s.p.Metrics.Delivered.Add(uint64(n))
	case queue.Bounced:
		s.p.Metrics.Bounced.Add(uint64(n))
	}
}

// load wraps the batch's messages for the policy, reading back from the spool those the queue did
// not send with their body, and reports which a log hook made; one that has vanished or is damaged
// is reported bounced (it cannot be delivered, ever).
func (s *sessionActor) load(w *wire.SessionWork) ([]*lua.Message, []bool, []queue.Result) {
	msgs := make([]*lua.Message, 0, len(w.Batch))
	hookMade := make([]bool, 0, len(w.Batch))
	var gone []queue.Result
	for _, st := range w.Batch {
		it, err := storedItem(st)
		if err != nil {
			s.p.Log.Error("a batch carried a malformed message id", "queue", s.spec.Info.Queue, "error", err)
			continue
		}
		var e *persistence.Entry
		if st.Body != nil {
			e = &persistence.Entry{ID: it.ID, Queue: s.spec.Info.Queue, Attempts: it.Attempts, Meta: st.Meta, Body: st.Body}
		} else {
			e, err = s.p.Loader.Load(it.ID)
		}
		var lm *lua.Message
		var hook bool
		if err == nil {
			lm, hook, err = lazyMessage(e, it.Attempts)
		}
		if err != nil {
			s.p.Log.Error("cannot read a queued message; it is dropped", "queue", s.spec.Info.Queue,
				"id", it.ID.String(), "error", err)
			gone = append(gone, queue.Result{ID: it.ID, Disposition: queue.Bounced})
			continue
		}
		msgs, hookMade = append(msgs, lm), append(hookMade, hook)
	}
	return msgs, hookMade, gone
}

// lazyMessage wraps a spool entry for the policy without decoding its envelope and meta, which a
// webhook's send never reads (DecodeMessage was ~4 µs per record in `hookd bench`), and reports
// whether a log hook made it. The meta's structure is checked now, so a damaged entry is still
// dropped before any attempt; the rest is decoded when the policy or a log record asks for it. Meta
// in the first (JSON) form is decoded at once.
func lazyMessage(e *persistence.Entry, attempts uint16) (*lua.Message, bool, error) {
	proto, _, err := persistence.MetaValue(e.Meta, "reception_protocol")
	if err != nil {
		if !errors.Is(err, persistence.ErrNotV1) {
			return nil, false, fmt.Errorf("spool entry %s: meta: %w", e.ID, err)
		}
		m, err := persistence.DecodeMessage(e)
		if err != nil {
			return nil, false, err
		}
		return &lua.Message{Msg: m, Attempts: attempts}, isHookMessage(m), nil
	}
	hook := string(proto) == hookProtocol
	return lua.NewLazyMessage(e.ID, e.Body, attempts, func(m *message.Message) error {
		full, err := persistence.DecodeMessage(e)
		if err != nil {
			return err
		}
		body := m.Body // set_data may have replaced it
		*m = *full
		m.Body = body
		return nil
	}), hook, nil
}

// connect builds the session's connection object on first use: one constructor call per session.
func (s *sessionActor) connect() error {
	if s.conn != nil {
		return nil
	}
	if !s.slot && !s.p.Slots.TryAcquire(1) {
		// Every slot is taken: sessions idling in other queues give theirs back, and this one waits.
		for _, ref := range s.p.Router.Queues() {
			if ref.PID != nil && !ref.PID.Equals(s.spec.QueuePID) {
				s.p.Send.Send(ref.PID, releaseIdle{})
			}
		}
		if err := s.p.Slots.Acquire(s.p.Ctx, 1); err != nil {
			return fmt.Errorf("waiting for a session slot: %w", err)
		}
	}
	s.slot = true
	st, err := s.p.States.Get()
	if err != nil {
		return err
	}
	s.state = st
	p := s.spec.Info.Parts
	conn, err := st.Connect(s.spec.Info.Constructor, p.Domain, p.Tenant, p.Campaign)
	if err != nil {
		return err
	}
	s.conn = conn
	return nil
}

func (s *sessionActor) call(msgs []*lua.Message) queue.Call {
	traceHop(HopSend)
	var out lua.Outcome
	if s.spec.Info.BatchSize > 1 {
		out = s.conn.SendBatch(msgs)
	} else {
		out = s.conn.Send(msgs[0])
	}
	if out.Interrupted {
		s.p.Metrics.Interrupted.Add(1)
		s.p.Log.Error("a delivery call into the policy was stopped", "queue", s.spec.Info.Queue, "error", out.Text)
	}
	return queue.Call{Returned: out.Kind == lua.Returned, Rejected: out.Kind == lua.Rejected, Code: out.Code, Text: out.Text}
}

// record is the Delivery, TransientFailure or Bounce record of one message of the batch.
func (s *sessionActor) record(lm *lua.Message, v queue.Verdict, now time.Time) message.LogRecord {
	kind := map[queue.Disposition]message.RecordType{queue.Delivered: message.Delivery,
		queue.Transient: message.TransientFailure, queue.Bounced: message.Bounce}[v.Disposition]
	r := newRecord(kind, lm.Msg, lm.Attempts, now, s.p.Node)
	r.Response = message.Response{Code: uint16(v.Code), Content: v.Content}
	r.Site = s.spec.Info.Site
	unspecified, proto := "unspecified", "Lua"
	r.EgressPool, r.EgressSource, r.DeliveryProtocol = &unspecified, &unspecified, &proto
	r.SessionID = s.uuid
	if !strings.HasPrefix(v.Content, "KumoMTA internal: ") {
		r.PeerAddress = &message.PeerAddress{Name: fmt.Sprintf("Lua via %s", s.spec.Info.Constructor), Addr: "0.0.0.0"}
	}
	return r
}
