package actors

import "sync/atomic"

// counters are the system's running totals, updated by every actor.
type counters struct {
	received    atomic.Uint64 // records offered to log hooks (one per hook)
	disabled    atomic.Uint64 // records a hook's per_record settings turned away
	kept        atomic.Uint64 // records a hook's should_enqueue_log_record kept
	dropped     atomic.Uint64 // records it dropped
	hookErrors  atomic.Uint64 // records lost to an error in a hook
	enqueued    atomic.Uint64 // messages queued
	delivered   atomic.Uint64
	transient   atomic.Uint64 // transient failures (attempts that will be retried or expire)
	bounced     atomic.Uint64
	expired     atomic.Uint64
	queued      atomic.Int64 // messages held by queues now
	sessions    atomic.Int64 // open delivery sessions now
	Panics      atomic.Uint64
	interrupted atomic.Uint64 // calls into the policy stopped at their deadline
}

// Stats is a snapshot of the system's figures.
type Stats struct {
	Received   uint64 // records offered to log hooks (counted once per hook)
	Disabled   uint64 // records turned away by a hook's per_record enable = false
	Kept       uint64 // records kept by should_enqueue_log_record
	Dropped    uint64 // records it declined
	HookErrors uint64 // records lost to an error in the policy
	Enqueued   uint64 // messages queued
	Delivered  uint64 // messages delivered
	Transient  uint64 // transient failures
	Bounced    uint64 // messages bounced
	Expired    uint64 // messages expired
	Queued     int64  // messages waiting in queues now
	Sessions   int64  // delivery sessions open now
	Queues     int    // queues that exist now
	Panics     uint64 // panics recovered inside actors
	// Interrupted counts calls into the policy stopped at their deadline.
	Interrupted uint64
	// SessionWaits counts sessions that had to wait for a slot (Limits.MaxSessions).
	SessionWaits uint64
}

// Stats returns a snapshot of the running totals.
func (s *System) Stats() Stats {
	c := &s.stats
	return Stats{
		Received: c.received.Load(), Disabled: c.disabled.Load(), Kept: c.kept.Load(), Dropped: c.dropped.Load(),
		HookErrors: c.hookErrors.Load(), Enqueued: c.enqueued.Load(), Delivered: c.delivered.Load(),
		Transient: c.transient.Load(), Bounced: c.bounced.Load(), Expired: c.expired.Load(),
		Queued: c.queued.Load(), Sessions: c.sessions.Load(), Queues: s.queues.len(), Panics: c.Panics.Load(),
		Interrupted: c.interrupted.Load(), SessionWaits: s.sessionSlots.Waits(),
	}
}
