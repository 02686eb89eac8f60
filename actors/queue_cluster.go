package actors

import (
	"time"

	"github.com/hookd/hookd/queue"
	"github.com/hookd/hookd/wire"
)

// A queue actor on a cluster member. The member owns the queue when the actor is made; when the
// membership changes so that another member owns it, the Router retires the actor (takes it out of
// its directory) and sends it retireQueue. From then on the actor starts no session: its idle
// sessions close, busy ones finish their batch, and everything it holds, what comes back from those
// batches and the inserts still on their way to it, goes back through the Router, which hands it to
// the queue's forwarder. Once its last session has ended it tells its home (Fenced), which is what
// lets this member tell the others that it released the new membership; once it holds nothing and
// nothing is on its way, it stops.
//
// An owner may start sessions only when Owners.MayDeliver says so: a queue gained from a member that
// is still alive waits until that member has released it.

type (
	retireQueue  struct{} // the queue now belongs to another member
	ownerChanged struct{} // the membership changed, or a member released it: look again
)

// fenceGate holds the queue when this member may not deliver it (yet).
func (q *queueActor) fenceGate() bool {
	return q.retired || (q.p.Owners != nil && !q.p.Owners.MayDeliver(q.name))
}

// retire starts handing the queue over.
func (q *queueActor) retire(now time.Time) {
	if q.retired {
		return
	}
	q.retired = true
	q.p.Log.Debug("queue moved to another member: handing it over", "queue", q.name)
	if q.core != nil {
		q.apply(q.core.Drain(now), now)
	}
}

// handOff runs after every message of a retired queue: it relays what the queue holds and no session
// has, reports once that no session is left, and stops the actor when nothing is left at all.
func (q *queueActor) handOff(now time.Time) (stop bool) {
	var items []queue.Item
	items = append(items, q.pending...)
	q.pending = nil
	if q.core != nil {
		items = append(items, q.core.TakeWaiting()...)
	}
	if len(items) > 0 {
		q.relay(items)
	}
	sessions := len(q.conns)
	if q.core != nil {
		sessions += q.core.Sessions()
	}
	if sessions > 0 {
		return false
	}
	if !q.fenced {
		q.fenced = true
		q.p.Home.Fenced()
	}
	if (q.core == nil || q.core.Len() == 0) && len(q.held) == 0 && q.p.Home.Reap() {
		return true
	}
	return false
}

// relay sends items (with the bodies the queue holds) back through the Router: to the queue's
// forwarder, or to a new local queue actor if the queue has come back meanwhile. Deferred messages
// travel with their bodies in an insert of their own, still marked held.
func (q *queueActor) relay(items []queue.Item) {
	spooled := &wire.Insert{Queue: q.name}
	held := &wire.Insert{Queue: q.name, Held: true}
	for _, it := range items {
		if e := q.held[it.ID]; e != nil {
			held.Messages = append(held.Messages, itemStored(it, e))
			delete(q.held, it.ID)
			continue
		}
		s := itemStored(it, nil)
		if f := q.fresh[it.ID]; f != nil {
			s.Meta, s.Body = f.Meta, f.Body
			q.dropFresh(it.ID)
		}
		spooled.Messages = append(spooled.Messages, s)
	}
	for _, ins := range []*wire.Insert{spooled, held} {
		if len(ins.Messages) == 0 {
			continue
		}
		pid, err := q.p.Relay.Recover(q.name, len(ins.Messages))
		if err != nil {
			// Only a stopping node refuses; the messages stay in the spool for the next start.
			q.p.Log.Warn("handing a queue over", "queue", q.name, "messages", len(ins.Messages), "error", err)
			continue
		}
		q.p.Send.Send(pid, ins)
	}
}
