package actors

import (
	"time"

	"github.com/hookd/hookd/queue"
	"github.com/hookd/hookd/wire"
)

// snapshot is the queue's figures for the admin API and metrics; detail adds the oldest message's
// age and the attempts histogram, which cost a pass over the queue. A queue still waiting for its
// first configuration answers too: its messages count as scheduled.
func (q *queueActor) snapshot(detail bool, now time.Time) *wire.QueueStats {
	st := &wire.QueueStats{Name: q.name, Delivered: int64(q.delivered), Transient: int64(q.transient),
		Bounced: int64(q.bounced), Expired: int64(q.expired), Problem: q.problem, Site: q.info.Site,
		Gate: "flowing", Configuring: q.core == nil}
	if q.dest.remote != nil {
		st.Breaker = q.dest.remote.State
	}
	if q.core == nil {
		st.Scheduled = int64(len(q.pending))
		if detail {
			q.detail(st, now, func(fn func(queue.Item)) {
				for _, it := range q.pending {
					fn(it)
				}
			})
		}
		return st
	}
	s, r, f := q.core.Counts()
	st.Scheduled, st.Ready, st.InFlight, st.Sessions = int64(s), int64(r), int64(f), int64(q.core.Sessions())
	st.Deliverable = q.core.Config().Deliverable
	st.Gate = [...]string{"flowing", "paused", "probe"}[q.core.Gate()]
	if !st.Deliverable {
		st.Site = ""
	}
	if q.core.Suspended() {
		st.Suspended = true
		st.SuspendReason = q.suspendReason
	}
	if detail {
		q.detail(st, now, q.core.Items)
	}
	return st
}

// detail adds the oldest message's age and the attempts histogram to a snapshot.
func (q *queueActor) detail(st *wire.QueueStats, now time.Time, each func(func(queue.Item))) {
	var oldest time.Time
	st.Attempts = map[uint32]int64{}
	each(func(it queue.Item) {
		if c := it.ID.Created(); oldest.IsZero() || c.Before(oldest) {
			oldest = c
		}
		st.Attempts[uint32(it.Attempts)]++
	})
	if !oldest.IsZero() {
		st.OldestAge = int64(now.Sub(oldest).Truncate(time.Second))
	}
}
