package engine

import (
	"errors"

	"github.com/hookd/hookd/actors"
	"github.com/hookd/hookd/persistence/segment"
)

// Errors the engine returns; test them with errors.Is. Each is wrapped with what was refused.
var (
	// ErrNotStarted is returned by Log and Inject before Start.
	ErrNotStarted = errors.New("hookd: engine not started")
	// ErrStopped refuses work once Stop began.
	ErrStopped = errors.New("hookd: engine is stopping")
	// ErrQueueFull refuses new work while the node holds Limits.MaxQueued messages.
	ErrQueueFull = errors.New("hookd: the queues are full")
	// ErrTooManyQueues refuses a message for a new queue while Limits.MaxQueues queues exist.
	ErrTooManyQueues = errors.New("hookd: too many queues")
	// ErrLowSpace refuses work while the spool's disk is below its minimum free space or inodes.
	ErrLowSpace = errors.New("hookd: the spool's disk is below its minimum free space")
)

// public maps an error from the engine's insides to the engine's own sentinels, keeping its text and
// its chain.
func public(err error) error {
	if err == nil {
		return nil
	}
	for _, m := range [...]struct{ inner, outer error }{
		{actors.ErrStopped, ErrStopped}, {actors.ErrQueueFull, ErrQueueFull},
		{actors.ErrTooManyQueues, ErrTooManyQueues}, {segment.ErrLowSpace, ErrLowSpace},
	} {
		if errors.Is(err, m.inner) {
			return &refusal{kind: m.outer, err: err}
		}
	}
	return err
}

// refusal is an inner error that also answers errors.Is for the engine's sentinel.
type refusal struct{ kind, err error }

func (r *refusal) Error() string        { return r.err.Error() }
func (r *refusal) Unwrap() error        { return r.err }
func (r *refusal) Is(target error) bool { return target == r.kind }

// Limits bound what a node holds, so that a flood of records or a dead webhook ends in a clear
// refusal instead of an exhausted machine. Zero fields take DefaultLimits.
type Limits struct {
	// MaxQueues bounds the queues held at once. A message for a new queue past it is refused (the
	// Log or Inject call fails with ErrTooManyQueues). Queues empty for their reap_interval are
	// forgotten and no longer count.
	MaxQueues int
	// MaxSessions bounds the delivery sessions connected at once over all queues: a session waits for
	// a slot before its constructor runs.
	MaxSessions int
	// MaxQueued bounds the messages queued (each holds about 100 bytes of memory in its queue and in
	// the spool's index). Log and Inject are refused with ErrQueueFull at or past it.
	MaxQueued int
}

// DefaultLimits are the limits zero fields of Limits take.
var DefaultLimits = Limits{MaxQueues: 10_000, MaxSessions: 1_024, MaxQueued: 10_000_000}

// Stats is a snapshot of an engine's running totals.
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
	Panics     uint64 // panics recovered inside the engine
	// Interrupted counts calls into the policy stopped at their deadline.
	Interrupted uint64
	// SessionWaits counts sessions that had to wait for a slot (Limits.MaxSessions).
	SessionWaits uint64
	// Forwarded counts messages this cluster member handed to their queue's owner on another
	// member (once the owner had them durable); HandedIn counts messages other members handed to
	// this one. Both stay 0 on a single node.
	Forwarded, HandedIn uint64
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

// BreakerStats describes one destination's circuit breaker.
type BreakerStats struct {
	Destination string `json:"destination"`
	State       string `json:"state"` // closed, half-open or open
	Opened      uint64 `json:"opened"`
	Closed      uint64 `json:"closed"`
}

// SpoolStats are the durable spool's figures since it opened.
type SpoolStats struct {
	Frames, Entries, Bytes uint64 // frames, entries and bytes written
	Syncs                  uint64 // fsync rounds (one may cover several frames)
	Refused                uint64 // puts refused for lack of space
	WriteErrors            uint64
	Segments               int    // segment files now
	SegmentsDeleted        uint64 // finished segments removed
	Compacted, Moved       uint64 // segments compacted, messages moved by compaction
	Live                   int    // live messages
	DiskBytes              int64  // bytes in segment files now
	Loads, CacheHits       uint64 // bodies read back, and how many of them the frame cache held
	LowSpace               bool   // below the minimum free space now
	CallerFrames           uint64 // frames written on the caller's goroutine (the writer was idle)
}

// The engine's figures are the actors' own, field for field: these conversions stop the build when
// the two drift apart.
var (
	_ = Stats(actors.Stats{})
	_ = QueueStats(actors.QueueStats{})
	_ = BreakerStats(actors.BreakerStats{})
	_ = SpoolStats(segment.Stats{})
	_ = actors.Limits(Limits{})
)
