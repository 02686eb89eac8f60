package actors

import (
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/queue"
	"github.com/hookd/hookd/wire"
)

// destinationLink is a queue's side of its destination's circuit breaker: the gate the destination
// last broadcast, the probe this queue claimed or carries, and which sessions carry a probe. The
// queue reports every batch's outcome; the destination decides.
type destinationLink struct {
	key    string
	pid    *actor.PID
	remote *wire.Gate // the destination's last verdict; nil before its first
	// claiming: a ClaimProbe is out; granted: the probe is this queue's and not yet handed out
	claiming, granted bool
	probes            map[queue.SessionID]bool // sessions whose batch is the probe
	applied           queue.Gate
	appliedTill       time.Time
	// awaiting is the seq of the last failure reported: after a failed batch the queue sends
	// nothing until the destination's verdict on it arrives, so a failing destination trips after
	// exactly its number of failures, not after what was in flight meanwhile.
	awaiting, seq uint64
}

// configure follows the queue's configuration to its destination (subscribing there), or away
// from any when the queue cannot deliver.
func (d *destinationLink) configure(q *queueActor, m queueResolved) {
	key := ""
	if m.Config.Deliverable {
		key = m.Destination
	}
	if key == d.key {
		return
	}
	d.unsubscribe(q)
	d.key = key
	if key == "" {
		return
	}
	d.pid = q.p.Destinations.Destination(key, m.Breaker)
	q.sendAs(d.pid, &wire.Subscribe{Destination: key})
}

func (d *destinationLink) unsubscribe(q *queueActor) {
	if d.pid != nil {
		q.sendAs(d.pid, &wire.Unsubscribe{Destination: d.key})
	}
	*d = destinationLink{}
}

// gate takes the destination's broadcast verdict.
func (d *destinationLink) gate(q *queueActor, m *wire.Gate, now time.Time) {
	if m.Destination != d.key {
		return // from a destination the queue has since left
	}
	d.remote = m
	if m.Answers != 0 && m.Answers == d.awaiting {
		d.awaiting = 0
	}
	if m.Gate != wire.GateKind_GATE_PROBE {
		d.granted = false
	}
	d.sync(q, now)
}

// open says whether the destination's breaker is open or half-open: the queue's next attempt may be
// minutes away.
func (d *destinationLink) open() bool {
	return d.remote != nil && d.remote.Gate != wire.GateKind_GATE_FLOWING
}

// claimed takes the destination's answer to this queue's ClaimProbe.
func (d *destinationLink) claimed(q *queueActor, m *wire.ProbeClaimed, now time.Time) {
	if m.Destination != d.key {
		return
	}
	d.claiming, d.granted = false, m.Granted
	d.sync(q, now)
}

// sync applies the destination's verdict to the core: flowing or paused as broadcast; when a probe
// is due, the queue claims it (if it has something to send) and holds everything until granted.
func (d *destinationLink) sync(q *queueActor, now time.Time) {
	if q.core == nil {
		return
	}
	g, till := queue.Flowing, time.Time{}
	if q.fenceGate() {
		g, till = queue.Paused, now.Add(time.Hour) // ownerChanged looks again
	} else if d.awaiting != 0 {
		g, till = queue.Paused, now.Add(time.Hour) // the verdict's arrival looks again
	} else if d.remote != nil {
		switch until := dueTime(d.remote.Until); {
		case d.remote.Gate == wire.GateKind_GATE_FLOWING:
		case d.remote.Gate == wire.GateKind_GATE_PAUSED && now.Before(until):
			g, till = queue.Paused, until
		case d.granted:
			g = queue.Probe
		default:
			g, till = queue.Paused, now.Add(time.Second) // look again: the probe may be claimed or over
			if _, ready, _ := q.core.Counts(); ready > 0 && !d.claiming {
				d.claiming = true
				q.sendAs(d.pid, &wire.ClaimProbe{Destination: d.key})
			} else if ready == 0 {
				till = now.Add(time.Hour) // nothing to probe with: new messages look again
			}
		}
	}
	if g == d.applied && (g != queue.Paused || till.Equal(d.appliedTill)) && g == q.core.Gate() {
		return
	}
	d.applied, d.appliedTill = g, till
	if d.open() {
		q.dropAllFresh()
	}
	q.apply(q.core.SetGate(g, till, now), now)
}

// dispatched notes a batch handed to a session: the probe, if the queue holds it.
func (d *destinationLink) dispatched(id queue.SessionID) {
	if !d.granted || d.applied != queue.Probe {
		return
	}
	d.granted = false
	if d.probes == nil {
		d.probes = map[queue.SessionID]bool{}
	}
	d.probes[id] = true
}

// report tells the destination how a session's batch went: answered when something was delivered
// or bounced; a batch that only failed transiently counts against the destination.
func (d *destinationLink) report(q *queueActor, id queue.SessionID, rs []queue.Result) {
	probe := d.probes[id]
	delete(d.probes, id)
	if d.pid == nil || (len(rs) == 0 && !probe) {
		return
	}
	answered := false
	for _, r := range rs {
		if r.Disposition != queue.Transient {
			answered = true
			break
		}
	}
	o := &wire.Outcome{Destination: d.key, Answered: answered, Probe: probe}
	if !answered && !probe {
		d.seq++
		d.awaiting, o.Seq = d.seq, d.seq
	}
	q.sendAs(d.pid, o)
}
