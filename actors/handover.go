package actors

import (
	"fmt"
	"log/slog"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/wire"
)

// HandoverKind and HandoverID name every member's handover receiver: peers address it knowing only
// the member's address.
const (
	HandoverKind = "hookd"
	HandoverID   = "handover"
)

// handoverReceiver takes the messages other members hand to this one because it owns their queue:
// it makes them durable in this member's spool (attempts, due times and spool ids kept, so a
// message's age still counts from when it was first received), gives them to the queue, and only
// then answers the sender, who deletes its copy. A message this member already holds is taken as
// it is: the sender hands it again when the answer to an earlier handover was lost, and storing and
// queueing it a second time would deliver it twice. A member that does not own the queue (the
// membership changed, or the sender's view is not this one's) refuses with CODE_NOT_OWNER and the
// sender tries again. It is a loop: it waits for the spool.
type handoverReceiver struct{ p HandoverPorts }

// handoverSync is answered once every handover received before it has been answered.
type handoverSync struct{}

// HandoverPorts are what the handover receiver uses.
type HandoverPorts struct {
	Owners    Owners
	Spool     GroupWriter
	Router    Router
	Send      Sender
	Metrics   *Metrics
	Accepting func() error // refuses while the node is full, stopping or low on disk space
	// Has says whether this member's spool holds a message (nil: never).
	Has func(message.SpoolID) bool
	Log *slog.Logger
}

func (h *handoverReceiver) Receive(l *loopCtx, msgs []actor.Envelope) {
	for _, env := range msgs {
		if _, ok := env.Msg.(handoverSync); ok && env.Sender != nil {
			l.Engine().Send(env.Sender, handoverSync{})
			continue
		}
		m, ok := env.Msg.(*wire.Handover)
		if !ok || env.Sender == nil {
			continue
		}
		done := h.take(m)
		done.Queue, done.Epoch = m.Queue, m.Epoch
		l.Engine().Send(env.Sender, done)
	}
}

func (h *handoverReceiver) take(m *wire.Handover) *wire.HandoverDone {
	if !h.p.Owners.Owns(m.Queue) {
		return &wire.HandoverDone{Code: wire.Code_CODE_NOT_OWNER, Error: "this member does not own " + m.Queue}
	}
	if err := h.p.Accepting(); err != nil {
		return &wire.HandoverDone{Code: errorCode(err), Error: err.Error()}
	}
	entries := make([]*persistence.Entry, 0, len(m.Messages))
	fresh := m.Messages[:0:0]
	for _, s := range m.Messages {
		e, err := storedEntry(m.Queue, s)
		if err != nil {
			return &wire.HandoverDone{Code: wire.Code_CODE_INTERNAL, Error: fmt.Sprintf("a handed-over message: %v", err)}
		}
		if h.p.Has != nil && h.p.Has(e.ID) {
			h.p.Metrics.HandedAgain.Add(1)
			continue // handed over before: it is in this member's queue already
		}
		entries = append(entries, e)
		fresh = append(fresh, s)
	}
	if len(entries) == 0 {
		return &wire.HandoverDone{Code: wire.Code_CODE_OK}
	}
	durable := make(chan error, 1)
	h.p.Spool.PutGroup(entries, func(err error) { durable <- err })
	if err := <-durable; err != nil {
		return &wire.HandoverDone{Code: errorCode(err), Error: err.Error()}
	}
	n := len(fresh)
	pid, err := h.p.Router.Recover(m.Queue, n)
	if err != nil {
		// Durable here, so not lost: the next start replays them. The sender keeps its copy too.
		return &wire.HandoverDone{Code: errorCode(err), Error: err.Error()}
	}
	h.p.Metrics.Queued.Add(int64(n))
	h.p.Metrics.HandedIn.Add(uint64(n))
	h.p.Send.Send(pid, &wire.Insert{Queue: m.Queue, Messages: fresh})
	return &wire.HandoverDone{Code: wire.Code_CODE_OK}
}
