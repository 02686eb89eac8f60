package actors

import (
	"fmt"
	"time"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/queue"
	"github.com/hookd/hookd/wire"
)

// Conversions between the wire messages and the types the actors work with.

// spoolID reads a 16-byte spool id off the wire.
func spoolID(b []byte) (message.SpoolID, error) {
	if len(b) != len(message.SpoolID{}) {
		return message.SpoolID{}, fmt.Errorf("a spool id has 16 bytes, got %d", len(b))
	}
	return message.SpoolID(b), nil
}

func dueNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func dueTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// storedItem is the scheduling part of a stored message.
func storedItem(s *wire.Stored) (queue.Item, error) {
	id, err := spoolID(s.Id)
	if err != nil {
		return queue.Item{}, err
	}
	return queue.Item{ID: id, Attempts: uint16(min(s.Attempts, 0xffff)), Due: dueTime(s.Due)}, nil
}

// itemStored puts an item on the wire, with the message itself when e is not nil.
func itemStored(it queue.Item, e *persistence.Entry) *wire.Stored {
	id := it.ID
	s := &wire.Stored{Id: id[:], Attempts: uint32(it.Attempts), Due: dueNanos(it.Due)}
	if e != nil {
		s.Meta, s.Body = e.Meta, e.Body
	}
	return s
}

// storedEntry is the spool entry of a stored message that carries its meta and body.
func storedEntry(queueName string, s *wire.Stored) (*persistence.Entry, error) {
	it, err := storedItem(s)
	if err != nil {
		return nil, err
	}
	return &persistence.Entry{ID: it.ID, Queue: queueName, Attempts: it.Attempts, Due: it.Due, Meta: s.Meta, Body: s.Body}, nil
}

// disposition maps the core's outcome of an attempt to the wire and back.
func toWire(d queue.Disposition) wire.Disposition {
	switch d {
	case queue.Delivered:
		return wire.Disposition_DISPOSITION_DELIVERED
	case queue.Bounced:
		return wire.Disposition_DISPOSITION_BOUNCED
	default:
		return wire.Disposition_DISPOSITION_TRANSIENT
	}
}

func fromWire(d wire.Disposition) queue.Disposition {
	switch d {
	case wire.Disposition_DISPOSITION_DELIVERED:
		return queue.Delivered
	case wire.Disposition_DISPOSITION_BOUNCED:
		return queue.Bounced
	default:
		return queue.Transient
	}
}

// results reads a session's outcomes; an entry with a malformed id is dropped (its message counts
// as failed transiently, as any the session did not report).
func results(rs []*wire.Result) []queue.Result {
	out := make([]queue.Result, 0, len(rs))
	for _, r := range rs {
		id, err := spoolID(r.Id)
		if err != nil {
			continue
		}
		out = append(out, queue.Result{ID: id, Disposition: fromWire(r.Disposition)})
	}
	return out
}

func wireResults(rs []queue.Result) []*wire.Result {
	out := make([]*wire.Result, len(rs))
	for i, r := range rs {
		id := r.ID
		out[i] = &wire.Result{Id: id[:], Disposition: toWire(r.Disposition)}
	}
	return out
}
