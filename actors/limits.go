package actors

import "errors"

// ErrQueueFull refuses new work while the node holds Limits.MaxQueued messages.
var ErrQueueFull = errors.New("hookd: the queues are full")

// Limits bound what a node holds, so that a flood of records or a dead webhook ends in a clear
// refusal instead of an exhausted machine. Zero fields take the defaults below.
type Limits struct {
	// MaxQueues bounds the queues held at once. A message for a new queue past it is refused (the
	// Log or Inject call fails with ErrTooManyQueues). Queues empty for their reap_interval are
	// forgotten and no longer count. Default 10,000.
	MaxQueues int
	// MaxSessions bounds the delivery sessions connected at once over all queues: a session waits for
	// a slot before its constructor runs. Default 1,024.
	MaxSessions int
	// MaxQueued bounds the messages queued (each holds about 100 bytes of memory in its queue and in
	// the spool's index). Log and Inject are refused with ErrQueueFull at or past it. Default
	// 10,000,000 (about 1 GiB).
	MaxQueued int
}

// DefaultLimits are the limits used for zero fields.
var DefaultLimits = Limits{MaxQueues: 10_000, MaxSessions: 1_024, MaxQueued: 10_000_000}

func (l Limits) withDefaults() Limits {
	if l.MaxQueues <= 0 {
		l.MaxQueues = DefaultLimits.MaxQueues
	}
	if l.MaxSessions <= 0 {
		l.MaxSessions = DefaultLimits.MaxSessions
	}
	if l.MaxQueued <= 0 {
		l.MaxQueued = DefaultLimits.MaxQueued
	}
	return l
}
