package actors

import (
	"encoding/json"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/queue"
)

// Event is a log record on its way to the loggers, with the message it is about (when there is one)
// as the source of captured meta and headers.
type Event struct {
	Record  *message.LogRecord
	Msg     *message.Message        // the message itself, when the engine has it
	Meta    message.Meta            // the full meta of the message the record is about
	Headers func() []message.Header // the headers of that message, parsed on demand
	// RecordHeaders, when set, holds those headers as a record carries them (a JSON string or array
	// of strings per name; Headers returns message.RecordHeaders of it): loggers capture from it
	// directly with message.CaptureRecordHeaders, without building the header list.
	RecordHeaders map[string]json.RawMessage
}

// logBatch carries events from a producer to one logger actor.
type logBatch struct {
	events []*Event
	ack    *Ack // nil for records the engine produced itself
}

// hookBatch carries a logger's records to a hook worker, which captures the hook's meta and headers
// into each (see captureRecord) on its own long-lived goroutine.
type hookBatch struct {
	events  []*Event
	ack     *Ack
	credits *Credits // the logger's intake credits, returned once each record is handed on
}

// insert hands a stored message to its queue.
type insert struct {
	item    queue.Item
	credits *Credits           // returned once the queue has taken the item (nil when not counted)
	held    *persistence.Entry // the message itself when it is not in the spool (deferred_spool)
}

// releaseIdle asks a queue to close its idle sessions: another queue is waiting for a session slot.
type releaseIdle struct{}

// reapCheck tells a queue that its reap timer number seq ran out.
type reapCheck struct{ seq uint64 }

// insertBatch hands a queue many stored messages at once (recovery).
type insertBatch struct{ items []queue.Item }

// sessionWork hands a batch to a connection actor; held carries the messages that are not in the
// spool.
type sessionWork struct {
	batch []queue.Item
	held  map[message.SpoolID]*persistence.Entry
}

// sessionDone reports the end of a batch to the queue.
type sessionDone struct {
	session queue.SessionID
	results []queue.Result
	closed  bool
}

// closeSession asks a connection actor to close its connection and stop.
type closeSession struct{ reason string }

// tick wakes a queue at its next due time.
type tick struct{}

// refreshConfig asks a queue to resolve its configuration again; reload also closes its idle
// sessions, whose Lua states belong to the policy that was replaced.
type refreshConfig struct{ reload bool }

// drain asks a queue to finish its sessions; done is closed once it has.
type drain struct{ done chan struct{} }

// queueSnapshot asks a queue for its figures; detail adds the oldest message's age and the attempts
// histogram, which cost a pass over the queue.
type queueSnapshot struct {
	reply  chan QueueStats
	detail bool
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
	// With detail: the age of the oldest message (humantime text) and how many messages have had
	// each number of attempts.
	OldestAge string         `json:"oldest_age,omitempty"`
	Attempts  map[uint16]int `json:"attempts,omitempty"`
}
