package actors

import "sync/atomic"

// Metrics are the node's running totals. Actors update them through the pointer their ports carry;
// the wiring reads them for Stats and Prometheus. Every field is safe for concurrent use.
type Metrics struct {
	Received    atomic.Uint64 // records offered to log hooks (one per hook)
	Disabled    atomic.Uint64 // records a hook's per_record settings turned away
	Kept        atomic.Uint64 // records a hook's should_enqueue_log_record kept
	Dropped     atomic.Uint64 // records it dropped
	HookErrors  atomic.Uint64 // records lost to an error in a hook
	Enqueued    atomic.Uint64 // messages queued
	Delivered   atomic.Uint64
	Transient   atomic.Uint64 // transient failures (attempts that will be retried or expire)
	Bounced     atomic.Uint64
	Expired     atomic.Uint64
	Queued      atomic.Int64 // messages held by queues now
	Sessions    atomic.Int64 // open delivery sessions now
	Panics      atomic.Uint64
	Interrupted atomic.Uint64 // calls into the policy stopped at their deadline
	Forwarded   atomic.Uint64 // messages handed over to their queue's owner on another member
	HandedIn    atomic.Uint64 // messages other members handed over to this one
	HandedAgain atomic.Uint64 // messages handed over that this member held already
	HandedBytes atomic.Uint64 // bytes of meta and body of the messages handed over by this member
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
	// Forwarded and HandedIn count messages handed to their queue's owner on another cluster
	// member, and messages other members handed to this one.
	Forwarded, HandedIn uint64
}

// Stats returns a snapshot of the running totals.
func (s *System) Stats() Stats {
	c := s.metrics
	return Stats{
		Received: c.Received.Load(), Disabled: c.Disabled.Load(), Kept: c.Kept.Load(), Dropped: c.Dropped.Load(),
		HookErrors: c.HookErrors.Load(), Enqueued: c.Enqueued.Load(), Delivered: c.Delivered.Load(),
		Transient: c.Transient.Load(), Bounced: c.Bounced.Load(), Expired: c.Expired.Load(),
		Queued: c.Queued.Load(), Sessions: c.Sessions.Load(), Queues: len(s.router.Queues()), Panics: c.Panics.Load(),
		Interrupted: c.Interrupted.Load(), SessionWaits: s.slots.Waits(),
		Forwarded: c.Forwarded.Load(), HandedIn: c.HandedIn.Load(),
	}
}

// QueueStats describes one queue.
type QueueStats struct {
	Name      string `json:"name"`
	Scheduled int    `json:"scheduled"` // waiting for their due time
	Ready     int    `json:"ready"`     // due, waiting for a session
	InFlight  int    `json:"in_flight"` // handed to a session
	Sessions  int    `json:"sessions"`
	Site      string `json:"site,omitempty"` // the ready queue, "unspecified-><site>@lua:<constructor>"
	// Outcomes of the queue's attempts since the node started.
	Delivered   uint64 `json:"delivered"`
	Transient   uint64 `json:"transient_failures"`
	Bounced     uint64 `json:"bounced"`
	Expired     uint64 `json:"expired"`
	Deliverable bool   `json:"deliverable"`
	Problem     string `json:"problem,omitempty"` // why the queue cannot deliver, if it cannot
	// Gate is what the destination's circuit breaker lets the queue do: "flowing", "paused" (due
	// messages wait without spending attempts) or "probe".
	Gate    string `json:"gate"`
	Breaker string `json:"breaker,omitempty"` // the destination's breaker state
	// Suspended is the reason of an administrator's suspension in force, if any.
	Suspended string `json:"suspended,omitempty"`
	// Configuring is set while the queue waits for its first get_queue_config answer (its messages
	// are durable and wait).
	Configuring bool `json:"configuring,omitempty"`
	// With detail: the age of the oldest message (humantime text) and how many messages have had
	// each number of attempts.
	OldestAge string         `json:"oldest_age,omitempty"`
	Attempts  map[uint16]int `json:"attempts,omitempty"`
}
