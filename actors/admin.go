package actors

import (
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/admin"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/queue"
)

// adminCheck asks a queue to look at the administrators' bounces and suspensions again.
type adminCheck struct{}

// Admin is the registry of administrators' bounces and suspensions the queues obey.
func (s *System) Admin() *admin.Registry { return s.admin }

// AdminChanged tells every queue that a bounce or suspension was added or cancelled, so that
// existing queues act on it now (KumoMTA drains bounced queues asynchronously too).
func (s *System) AdminChanged() {
	for _, ref := range s.queues.all() {
		s.engine.Send(ref.pid, adminCheck{})
	}
}

// syncAdmin applies the bounce or suspension in force for this queue, if any.
func (q *queueActor) syncAdmin(c *actor.Context, now time.Time) {
	reg := q.sys.admin
	if e, ok := q.adminCache.Bounce(reg, q.name, now); ok {
		for _, it := range q.core.TakeWaiting() {
			if !e.SuppressLogging {
				q.logAbout(it, func(m *message.Message) *message.LogRecord { return q.adminBounce(m, it, e, now) })
			}
			q.sys.stats.bounced.Add(1)
			q.bounced++
			q.forget(it)
			reg.CountBounce(e.ID, q.name)
		}
	}
	e, suspended := q.adminCache.Suspended(reg, q.name, now)
	if suspended {
		q.suspendReason = e.Reason
		q.armAdmin(e.Expires, now)
	}
	if suspended != q.core.Suspended() {
		q.apply(c, q.core.SetSuspended(suspended, now), now)
	}
}

// armAdmin makes sure the queue looks again when a suspension ends.
func (q *queueActor) armAdmin(at, now time.Time) {
	if q.adminTimer != nil && q.adminAt.Equal(at) {
		return
	}
	if q.adminTimer != nil {
		q.adminTimer.Stop()
	}
	pid, engine := q.pid, q.sys.engine
	q.adminAt = at
	q.adminTimer = q.sys.clock.At(at, func() { engine.Send(pid, adminCheck{}) })
}

// adminBounce is the AdminBounce record of a message an administrator bounced.
func (q *queueActor) adminBounce(m *message.Message, it queue.Item, e *admin.Entry, now time.Time) *message.LogRecord {
	r := q.sys.newRecord(message.AdminBounce, m, it.Attempts, now)
	r.Response = message.Response{Code: 551, Enhanced: &message.EnhancedCode{Class: 5, Subject: 7, Detail: 1},
		Content: "Administrator bounced with reason: " + e.Reason}
	r.Site = "localhost"
	return r
}
