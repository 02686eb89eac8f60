package actors

import (
	"fmt"
	"time"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/queue"
)

// resolve asks a policy runner for the queue's configuration; the answer comes back as a
// queueResolved. One request is out at a time; a newer one supersedes it.
func (q *queueActor) resolve() {
	if q.refresh != nil {
		q.refresh.Stop()
		q.refresh = nil
	}
	q.resolveGen++
	q.resolving = true
	q.p.Send.Send(q.p.Resolvers.Pick(), resolveQueue{Queue: q.name, Gen: q.resolveGen, Reply: q.pid})
}

// resolved applies a configuration. A failure leaves a new queue unable to deliver until a later
// refresh succeeds (its messages wait and are retried on the default schedule, never dropped); a
// failing refresh keeps the configuration in force.
func (q *queueActor) resolved(c *pooledCtx, m queueResolved, now time.Time) {
	if m.Gen != q.resolveGen {
		return // the answer to a request since replaced
	}
	q.resolving = false
	if m.Err != "" {
		q.p.Log.Error("get_queue_config failed; the queue will not deliver until it succeeds",
			"queue", q.name, "error", m.Err)
		if q.core == nil {
			q.problem = fmt.Sprintf("queue %s: configuration failed: %s", q.name, m.Err)
			q.reapInterval = config.DefaultQueue().ReapInterval
			q.start(queue.DefaultConfig(), now)
		}
		q.scheduleRefresh(configRetry)
		return
	}
	q.problem = m.Problem
	q.refreshEvery, q.reapInterval = m.RefreshEvery, m.ReapInterval
	if m.Config.Deliverable {
		q.info = m.Session
	}
	q.dest.configure(q, m)
	if q.core == nil {
		q.start(m.Config, now)
	} else {
		q.apply(q.core.SetConfig(m.Config, now), now)
	}
	q.scheduleRefresh(q.refreshEvery)
}

// start makes the core with the first configuration and hands it what arrived meanwhile.
func (q *queueActor) start(cfg queue.Config, now time.Time) {
	q.core = queue.New(cfg, q.p.Rand)
	if q.fenceGate() { // a queue gained from a member still delivering it starts held
		q.dest.sync(q, now)
	}
	pending := q.pending
	q.pending = nil
	q.apply(q.core.InsertMany(q.admit(pending, now), now), now)
}

func (q *queueActor) scheduleRefresh(every time.Duration) {
	if every <= 0 {
		return
	}
	if q.refresh != nil {
		q.refresh.Stop()
	}
	pid, send := q.pid, q.p.Send
	q.refresh = q.p.Clock.AfterFunc(every, func() { send.Send(pid, refreshDue{}) })
}

// undeliverableWork is the TransientFailure of messages the queue could not hand to a session: an
// administrator suspended it, or it has no protocol hookd can deliver with.
func (q *queueActor) undeliverableWork() recordWork {
	if q.core != nil && q.core.Suspended() {
		return recordWork{Type: message.TransientFailure, Response: message.Response{Code: 451,
			Enhanced: &message.EnhancedCode{Class: 4, Subject: 4, Detail: 4},
			Content:  "KumoMTA internal: scheduled queue is suspended: " + q.suspendReason}}
	}
	return recordWork{Type: message.TransientFailure, Response: message.Response{Code: 400, Content: q.problem}}
}

// expirationWork is the Expiration record of a message whose next attempt would pass max_age.
func expirationWork(info SessionInfo, a queue.Expire) recordWork {
	pool := "unspecified"
	if info.EgressPool != "" {
		pool = info.EgressPool
	}
	return recordWork{Type: message.Expiration, EgressPool: &pool, Response: message.Response{Code: 551,
		Enhanced: &message.EnhancedCode{Class: 5, Subject: 4, Detail: 7}, Content: a.Response}}
}
