package actors

import (
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/breaker"
	"github.com/hookd/hookd/lua"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
)

// The ports: the narrow interfaces an actor is given when it is spawned, and the only way it reaches
// anything outside itself besides messages. Each actor kind names the ones it uses in its own
// struct of ports; tests drive an actor kind with fakes of them.

// Policies is where a Lua-owning actor finds the policy its state must run: it changes on reload,
// and an actor whose state runs an older one builds a new state before its next call.
type Policies interface {
	Current() *lua.Policy
}

// States lends Lua states of the current policy (a pool): a session borrows one for its life.
type States interface {
	Get() (*lua.State, error)
	Put(*lua.State)
}

// GroupWriter makes a request's messages durable as one group (persistence.Spool.PutGroup).
type GroupWriter interface {
	PutGroup(es []*persistence.Entry, done func(error))
}

// QueueStore is what a queue actor does to the spool: requests that never wait for I/O.
type QueueStore interface {
	Put(e *persistence.Entry, done func(error))
	Update(id message.SpoolID, attempts uint16, due time.Time)
	Delete(id message.SpoolID)
}

// Loader reads a stored message back. Only actors that may wait on a disk use it (sessions and the
// recorder), never a queue.
type Loader interface {
	Load(id message.SpoolID) (*persistence.Entry, error)
}

// Sender delivers a message to an actor from outside any actor (a spool callback, a timer).
type Sender interface {
	Send(pid *actor.PID, msg any)
}

// Router says where a queue lives: the actor that owns it. Intake, admin and redelivery ask it, never
// a directory directly. Route reserves the actor for n inserts the caller is about to send (the queue
// cannot go away while they travel); a caller that will not send after all gives them back with
// Release, naming the actor it was given. Subscribers receive a QueueMoved whenever a queue gets a new actor or loses its actor.
type Router interface {
	Route(name string, n int) (*actor.PID, error)
	// Recover is Route for messages the spool already holds: the node's queue limit does not apply.
	Recover(name string, n int) (*actor.PID, error)
	Release(name string, pid *actor.PID, n int)
	Queues() []QueueRef
	Subscribe(pid *actor.PID)
	Unsubscribe(pid *actor.PID)
}

// QueueRef names a queue and its actor.
type QueueRef struct {
	Name string
	PID  *actor.PID
}

// QueueMoved tells a Router's subscribers that a queue's actor changed: PID is the new one, nil when
// the queue no longer has one (it was reaped).
type QueueMoved struct {
	Name string
	PID  *actor.PID
}

// QueueHome is a queue actor's side of the Router: it counts the inserts that reached it and asks to
// be forgotten when it has been empty for its reap interval.
type QueueHome interface {
	Arrived(n int)
	// Reap forgets the queue unless an insert is on its way to it; true means the actor must stop.
	Reap() bool
	// Fenced says that a queue actor which lost its queue to another member has no session left.
	Fenced()
	// Stopped says that the actor has stopped (its Stopped handler ran).
	Stopped()
}

// Owners is a cluster member's view of who owns each queue (nil on a single node).
type Owners interface {
	// Owns says whether this member owns the queue now.
	Owns(queue string) bool
	// MayDeliver says whether this member may start sessions for the queue: it owns it and no other
	// member may still be delivering it.
	MayDeliver(queue string) bool
	// Owner is the handover receiver of the queue's owner when that is another member, and the epoch
	// of the membership that says so; false when this member owns the queue or no owner is known.
	Owner(queue string) (pid *actor.PID, epoch uint64, ok bool)
	// Changed is closed at the next change of the membership.
	Changed() <-chan struct{}
	// Member says whether a live member's remote listens at addr, and which run of it.
	Member(addr string) (incarnation uint64, ok bool)
}

// Resolvers finds a policy runner to run get_queue_config for a queue: the least busy one, so that
// one slow call does not hold the others up.
type Resolvers interface {
	Pick() *actor.PID
}

// Sessions starts delivery sessions (connection actors) for queues.
type Sessions interface {
	Start(spec SessionSpec) (*actor.PID, error)
}

// Destinations finds the actor that owns a destination's circuit breaker, starting it on first use
// with cfg.
type Destinations interface {
	Destination(key string, cfg breaker.Config) *actor.PID
}

// Emitter hands records the engine produced (delivery outcomes, expirations, bounces) to the
// loggers. block says whether the caller may wait for room; a caller that must not (a queue) goes
// past the loggers' bound, counted.
type Emitter interface {
	Emit(recs []Record, block bool)
}
