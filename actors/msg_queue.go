package actors

import (
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/breaker"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/queue"
)

// The queue boundary's local messages: those between a queue actor and the policy runners, the
// recorder, its own timers and the node's wiring. The messages a queue exchanges with hooks,
// sessions, destinations and other members are protobuf (package wire): Insert, SessionWork,
// SessionDone, CloseSession, Subscribe, Outcome, Gate, ClaimProbe, ProbeClaimed, AdminChanged,
// QueueStatsRequest and QueueStats.

// resolveQueue asks a policy runner for a queue's configuration (get_queue_config, then
// get_egress_path_config for its site). Gen is echoed in the answer, so a queue ignores the answer
// to a request it has since replaced.
type resolveQueue struct {
	Queue string
	Gen   uint64
	Reply *actor.PID
}

// queueResolved answers resolveQueue. With Err set, the configuration failed and nothing else is
// meaningful.
type queueResolved struct {
	Queue        string
	Gen          uint64
	Config       queue.Config
	Session      SessionInfo // meaningful when Config.Deliverable
	Destination  string      // the destination's key ("constructor site"), when deliverable
	Breaker      breaker.Config
	RefreshEvery time.Duration
	ReapInterval time.Duration
	Problem      string // why the queue cannot deliver, when it cannot
	Err          string
}

// SessionInfo is the part of a queue's configuration its sessions use.
type SessionInfo struct {
	Queue       string
	Parts       message.QueueName
	Constructor string
	Site        string // the ready-queue name, "unspecified-><site>@lua:<constructor>"
	EgressPool  string
	BatchSize   int
}

// SessionSpec is what a new session is started with.
type SessionSpec struct {
	Info     SessionInfo
	Session  queue.SessionID
	QueuePID *actor.PID
}

// recordWork asks the recorder for records about queued messages the queue does not hold in memory
// (expired, administratively bounced, undeliverable): it loads each message, logs the record, and
// when Delete is set removes the message from the spool afterwards.
type recordWork struct {
	Type       message.RecordType
	Response   message.Response
	Site       string
	EgressPool *string
	Items      []recordItem
	Delete     bool
}

// recordItem is one message of a recordWork; Meta and Body are set when the queue holds them.
type recordItem struct {
	ID         message.SpoolID
	Attempts   uint16
	Meta, Body []byte
}

// The queue's own timers and the wiring's requests.
type (
	queueTick    struct{}             // the core's next wake-up time came
	refreshDue   struct{}             // time to run get_queue_config again
	reapCheck    struct{ seq uint64 } // the reap timer number seq ran out
	adminCheck   struct{}             // an administrator's suspension ended
	reloadQueue  struct{}             // the policy was reloaded
	releaseIdle  struct{}             // another queue waits for a session slot
	drainQueue   struct{}             // finish the sessions (a Request, answered with queueDrained)
	queueDrained struct{}
)
