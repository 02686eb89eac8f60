package actors

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/wire"
)

// Handover limits: a handover carries at most this many messages and about this many bytes of them
// (hollywood's remote reads frames of up to 4 MiB).
const (
	handoverMessages = 512
	handoverBytes    = 1 << 20
	// handoverRetry is how soon a forwarder tries again after its handover failed.
	handoverRetry = 250 * time.Millisecond
	// forwardIdle is how long an empty forwarder stays for the next message of its queue.
	forwardIdle = 5 * time.Second
)

// forwarder is a cluster member's stand-in for a queue that another member owns: what this member
// holds of it (records it decided itself, messages replayed from its spool, what a retired queue
// actor gave back) is durable in this member's spool, and the forwarder hands it to the owner's
// handover receiver, keeping attempts and due times, deleting each message here only once the owner
// answered that it is durable there. It is a loop: it reads bodies back from the spool and waits for
// the owner's answer on its own goroutine.
//
// A forwarder treats credits and limits as a local queue does: insert credits are given back as
// inserts arrive, and what it holds counts as queued on this member until the owner has it, so a
// slow or full owner fills this member's queued-message limit and its producers are refused as a
// slow local destination would make them. The edge to the owner is bounded by the forwarder
// itself: one handover at a time, of at most handoverMessages messages and about handoverBytes.
type forwarder struct {
	p    ForwardPorts
	name string

	items   []*wire.Stored
	held    map[message.SpoolID]bool // deferred messages: not in this member's spool
	retired bool                     // this member owns the queue again: relay, then stop
	retry   clock.Timer
	idle    clock.Timer
	idleSeq uint64
	self    *actor.PID
	suspect string // the address of an owner whose last handover got no answer
	refused string // why the owner refused the last handover ("" when it took it)
}

// ForwardPorts are what a forwarder uses.
type ForwardPorts struct {
	Home    QueueHome
	Owners  Owners
	Router  Router // where the messages go when this member owns the queue again
	Loader  Loader
	Store   QueueStore
	Inserts *Credits
	Metrics *Metrics
	Send    Sender
	Clock   clock.Clock
	Log     *slog.Logger
	Self    string        // this member's ID, the handover's From
	Timeout time.Duration // how long to wait for the owner's answer
	// Reachable says whether a handover may be sent to addr: true unless its connection dropped
	// (or suspect is set: the last handover there got no answer) and a probe finds nothing
	// listening there.
	Reachable func(addr string, suspect bool) bool
	// Stop is closed when the node stops: a forwarder waiting for an answer gives up (its messages
	// stay in the spool for the next start).
	Stop <-chan struct{}
}

type (
	retireForward    struct{}             // this member owns the queue now
	forwardRetry     struct{}             // the retry timer ran out
	forwardIdleCheck struct{ seq uint64 } // the idle timer number seq ran out
)

func newForwarder(name string, p ForwardPorts) *forwarder {
	return &forwarder{p: p, name: name, held: map[message.SpoolID]bool{}}
}

func (f *forwarder) Receive(l *loopCtx, msgs []actor.Envelope) {
	for _, env := range msgs {
		switch m := env.Msg.(type) {
		case actor.Started:
			f.self = l.PID()
		case *wire.Insert:
			f.insert(m)
		case retireForward:
			f.retired = true
			f.cancelRetry()
		case forwardRetry:
			f.retry = nil
		case ownerChanged: // the owner may be another, or reachable now
			f.cancelRetry()
		case forwardIdleCheck:
			if m.seq == f.idleSeq && len(f.items) == 0 && f.p.Home.Reap() {
				l.Stop()
				return
			}
		case actor.Stopped:
			f.stopTimers()
			f.p.Home.Stopped()
			return
		}
	}
	f.flush(l)
}

func (f *forwarder) insert(m *wire.Insert) {
	f.p.Home.Arrived(len(m.Messages))
	if m.Counted {
		f.p.Inserts.Release(len(m.Messages))
	}
	for _, s := range m.Messages {
		if m.Held {
			if id, err := spoolID(s.Id); err == nil {
				f.held[id] = true
			}
		}
		f.items = append(f.items, s)
	}
}

// flush hands over what the forwarder holds, a handover at a time, until it holds nothing or a
// handover fails (then it tries again after handoverRetry, or when the membership changes).
func (f *forwarder) flush(l *loopCtx) {
	for len(f.items) > 0 && f.retry == nil {
		if f.retired || f.p.Owners.Owns(f.name) {
			f.relayHome()
			break
		}
		pid, epoch, ok := f.p.Owners.Owner(f.name)
		if !ok {
			f.wait()
			return
		}
		n := f.chunk()
		if !f.handOver(l, pid, epoch, n) {
			f.wait()
			return
		}
	}
	if len(f.items) == 0 {
		f.armIdle()
	}
}

// chunk is how many of the first items go in the next handover, reading back the bodies the
// forwarder does not hold.
func (f *forwarder) chunk() int {
	size, n := 0, 0
	for n < len(f.items) && n < handoverMessages && size < handoverBytes {
		s := f.items[n]
		if s.Body == nil && s.Meta == nil {
			if !f.load(n) {
				continue // gone from the spool: dropped from items
			}
		}
		size += len(s.Meta) + len(s.Body)
		n++
	}
	return n
}

// load reads item i's message back from the spool. A message the spool no longer has is dropped.
func (f *forwarder) load(i int) bool {
	s := f.items[i]
	id, err := spoolID(s.Id)
	if err == nil {
		var ent *persistence.Entry
		if ent, err = f.p.Loader.Load(id); err == nil {
			s.Meta, s.Body = ent.Meta, ent.Body
			return true
		}
	}
	f.p.Log.Error("handing over: a message could not be read back from the spool; it is dropped",
		"queue", f.name, "error", err)
	f.p.Metrics.Queued.Add(-1)
	f.items = append(f.items[:i], f.items[i+1:]...)
	return false
}

// handOver sends the first n items to the owner and waits for its answer; on success they are
// deleted here.
func (f *forwarder) handOver(l *loopCtx, pid *actor.PID, epoch uint64, n int) bool {
	if n == 0 {
		return true
	}
	batch := f.items[:n]
	if !f.p.Reachable(pid.Address, f.suspect == pid.Address) {
		return false // still unreachable: sending would only stall the transport (ARCHITECTURE.md)
	}
	msg := &wire.Handover{Queue: f.name, Epoch: epoch, Messages: batch, From: f.p.Self}
	res, err := f.await(pid.Address, l.Engine().Request(pid, msg, f.p.Timeout))
	done, _ := res.(*wire.HandoverDone)
	switch {
	case err != nil:
		f.suspect = pid.Address
		f.p.Log.Warn("handing messages over to their queue's owner", "queue", f.name, "owner", pid.Address,
			"messages", n, "error", err)
		return false
	case done == nil:
		f.p.Log.Warn("handing messages over: an unexpected answer", "queue", f.name, "owner", pid.Address)
		return false
	case done.Code != wire.Code_CODE_OK:
		level := slog.LevelDebug
		if done.Error != f.refused { // a new reason is worth an operator's eye; repeats are not
			level, f.refused = slog.LevelInfo, done.Error
		}
		f.p.Log.Log(context.Background(), level, "handing messages over: refused", "queue", f.name, "owner", pid.Address,
			"code", done.Code.String(), "error", done.Error)
		return false
	}
	f.suspect, f.refused = "", ""
	for _, s := range batch {
		f.p.Metrics.HandedBytes.Add(uint64(len(s.Meta) + len(s.Body)))
		if id, err := spoolID(s.Id); err == nil {
			if f.held[id] {
				delete(f.held, id)
			} else {
				f.p.Store.Delete(id)
			}
		}
	}
	f.items = f.items[n:]
	f.p.Metrics.Queued.Add(-int64(n))
	f.p.Metrics.Forwarded.Add(uint64(n))
	return true
}

// errOwnerGone abandons the wait for an owner's answer: the owner is no longer a member (it died,
// or left, which it does only after answering every handover it took), or it is a new run of it
// (it died and came back: the old run will not answer). Its answer no longer matters; the messages
// stay here and go to whoever owns the queue now (should a dead owner have stored them anyway, they
// are delivered twice: the at-least-once of a crash).
var errOwnerGone = errors.New("the owner left the cluster while its answer was awaited")

// await waits for the answer to a handover, or until the run of the owner at addr that the request
// went to is no longer a member.
func (f *forwarder) await(addr string, resp *actor.Response) (any, error) {
	run, _ := f.p.Owners.Member(addr)
	type answer struct {
		res any
		err error
	}
	got := make(chan answer, 1)
	go func() {
		res, err := resp.Result()
		got <- answer{res, err}
	}()
	for {
		changed := f.p.Owners.Changed()
		if now, ok := f.p.Owners.Member(addr); !ok || now != run {
			return nil, errOwnerGone
		}
		select {
		case a := <-got:
			return a.res, a.err
		case <-changed:
		case <-f.p.Stop:
			return nil, ErrStopped
		}
	}
}

// relayHome gives everything to the local queue: this member owns the queue again.
func (f *forwarder) relayHome() {
	spooled := &wire.Insert{Queue: f.name}
	held := &wire.Insert{Queue: f.name, Held: true}
	for _, s := range f.items {
		id, _ := spoolID(s.Id)
		if f.held[id] {
			delete(f.held, id)
			held.Messages = append(held.Messages, s)
		} else {
			spooled.Messages = append(spooled.Messages, s)
		}
	}
	f.items = nil
	for _, ins := range []*wire.Insert{spooled, held} {
		if len(ins.Messages) == 0 {
			continue
		}
		pid, err := f.p.Router.Recover(f.name, len(ins.Messages))
		if err != nil {
			f.p.Log.Warn("giving messages back to their queue", "queue", f.name, "error", err)
			continue
		}
		f.p.Send.Send(pid, ins)
	}
}

// wait arms the retry timer.
func (f *forwarder) wait() {
	if f.retry != nil {
		return
	}
	pid, send := f.self, f.p.Send
	f.retry = f.p.Clock.AfterFunc(handoverRetry, func() { send.Send(pid, forwardRetry{}) })
}

func (f *forwarder) cancelRetry() {
	if f.retry != nil {
		f.retry.Stop()
		f.retry = nil
	}
}

func (f *forwarder) armIdle() {
	f.idleSeq++
	if f.idle != nil {
		f.idle.Stop()
	}
	pid, send, seq := f.self, f.p.Send, f.idleSeq
	f.idle = f.p.Clock.AfterFunc(forwardIdle, func() { send.Send(pid, forwardIdleCheck{seq: seq}) })
}

func (f *forwarder) stopTimers() {
	for _, t := range []clock.Timer{f.retry, f.idle} {
		if t != nil {
			t.Stop()
		}
	}
}
