package actors

import (
	"time"

	"github.com/hookd/hookd/admin"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/queue"
)

// syncAdmin applies the administrators' bounce or suspension in force for this queue, if any.
// Bounced messages leave the queue now; their AdminBounce records are written by the recorder, which
// then deletes them from the spool.
func (q *queueActor) syncAdmin(now time.Time) {
	reg := q.p.Admin
	if e, ok := q.adminCache.Bounce(reg, q.name, now); ok {
		q.bounce(e, q.core.TakeWaiting())
	}
	e, suspended := q.adminCache.Suspended(reg, q.name, now)
	if suspended {
		q.suspendReason = e.Reason
		q.armAdmin(e.Expires)
	}
	if suspended != q.core.Suspended() {
		q.apply(q.core.SetSuspended(suspended, now), now)
	}
}

// armAdmin makes sure the queue looks again when a suspension ends.
func (q *queueActor) armAdmin(at time.Time) {
	if q.adminTimer != nil && q.adminAt.Equal(at) {
		return
	}
	if q.adminTimer != nil {
		q.adminTimer.Stop()
	}
	pid, send := q.pid, q.p.Send
	q.adminAt = at
	q.adminTimer = q.p.Clock.At(at, func() { send.Send(pid, adminCheck{}) })
}

// admit applies the rules in force to messages about to enter the queue, before any session can
// have them: under a suspension they enter held, under a bounce they are bounced instead (the
// items returned are those to insert).
func (q *queueActor) admit(items []queue.Item, now time.Time) []queue.Item {
	q.syncAdmin(now)
	if e, ok := q.adminCache.Bounce(q.p.Admin, q.name, now); ok {
		q.bounce(e, items)
		return nil
	}
	return items
}

// bounce takes messages out of the queue's care for an administrator's bounce entry e.
func (q *queueActor) bounce(e *admin.Entry, taken []queue.Item) {
	if len(taken) == 0 {
		return
	}
	q.p.Metrics.Bounced.Add(uint64(len(taken)))
	q.bounced += uint64(len(taken))
	for range taken {
		q.p.Admin.CountBounce(e.ID, q.name)
	}
	if e.SuppressLogging {
		for _, it := range taken {
			q.forget(it)
		}
		return
	}
	q.p.Send.Send(q.p.Recorder, q.record(recordWork{Type: message.AdminBounce, Site: "localhost", Response: message.Response{Code: 551,
		Enhanced: &message.EnhancedCode{Class: 5, Subject: 7, Detail: 1},
		Content:  "Administrator bounced with reason: " + e.Reason}}, taken, true))
}
