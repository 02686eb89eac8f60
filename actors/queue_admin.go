package actors

import (
	"time"

	"github.com/hookd/hookd/message"
)

// syncAdmin applies the administrators' bounce or suspension in force for this queue, if any.
// Bounced messages leave the queue now; their AdminBounce records are written by the recorder, which
// then deletes them from the spool.
func (q *queueActor) syncAdmin(now time.Time) {
	reg := q.p.Admin
	if e, ok := q.adminCache.Bounce(reg, q.name, now); ok {
		if taken := q.core.TakeWaiting(); len(taken) > 0 {
			q.p.Metrics.Bounced.Add(uint64(len(taken)))
			q.bounced += uint64(len(taken))
			for range taken {
				reg.CountBounce(e.ID, q.name)
			}
			if e.SuppressLogging {
				for _, it := range taken {
					q.forget(it)
				}
			} else {
				q.p.Send.Send(q.p.Recorder, q.record(recordWork{Type: message.AdminBounce, Site: "localhost", Response: message.Response{Code: 551,
					Enhanced: &message.EnhancedCode{Class: 5, Subject: 7, Detail: 1},
					Content:  "Administrator bounced with reason: " + e.Reason}}, taken, true))
			}
		}
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
