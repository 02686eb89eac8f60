// Package persistence keeps queued messages: the Spool interface the queue actors use, an in-memory
// implementation, and the codec that turns a Message into the bytes a spool stores.
//
// It knows bytes and files, not Lua or actors.
package persistence

import (
	"errors"
	"fmt"
	"time"

	"github.com/hookd/hookd/message"
)

// Entry is one queued message as a spool keeps it.
type Entry struct {
	ID       message.SpoolID
	Queue    string
	Attempts uint16
	Due      time.Time // zero = due at once
	Meta     []byte    // EncodeMeta of the message
	Body     []byte
}

// ErrNotFound is returned by Load for an id the spool does not hold.
var ErrNotFound = errors.New("spool: no such message")

// The bounds of a group (PutGroup): a durable spool writes a group as one unit (one frame of
// persistence/segment, whose format caps it at 64 MiB; the 64 KiB of slack leave room for the
// frame's compression overhead on incompressible data) and numbers a unit's entries with 16 bits.
const (
	MaxGroupBytes   = 64<<20 - 64<<10 // GroupBytes of a group, at most
	MaxGroupEntries = 1 << 16
)

// ErrGroupTooLarge refuses a group beyond MaxGroupBytes or MaxGroupEntries.
var ErrGroupTooLarge = errors.New("spool: group too large")

// GroupBytes is the size a group is bounded by: its queues, metas and bodies, and 64 bytes per entry
// (at least what any encoding of the entry's id, counters and lengths takes).
func GroupBytes(es []*Entry) int {
	n := 0
	for _, e := range es {
		n += 64 + len(e.Queue) + len(e.Meta) + len(e.Body)
	}
	return n
}

// CheckGroup returns ErrGroupTooLarge (wrapped, with the figures) for a group beyond the bounds.
func CheckGroup(es []*Entry) error {
	if len(es) > MaxGroupEntries {
		return fmt.Errorf("%w: %d messages, more than %d", ErrGroupTooLarge, len(es), MaxGroupEntries)
	}
	if n := GroupBytes(es); n > MaxGroupBytes {
		return fmt.Errorf("%w: %d messages take %d bytes, more than %d", ErrGroupTooLarge, len(es), n, MaxGroupBytes)
	}
	return nil
}

// Spool stores queued messages. Implementations are safe for concurrent use.
//
// Durability contract: Put calls done exactly once, after the entry is durable (or with the error
// that prevented it); nothing else is acknowledged. PutGroup is Put for several entries that are
// durable together or not at all: one done call, and after a crash either every entry of the group
// is recovered or none is. Update and Delete are ordered after the Put (or PutGroup) of the same id
// and take effect no later than the next Put that follows them is durable.
type Spool interface {
	// Put stores a new entry. It does not wait for I/O; done reports the outcome.
	Put(e *Entry, done func(error))
	// PutGroup stores new entries together, in order (a later entry of the same id replaces an
	// earlier one): all of them become durable or none does (a crash mid-write loses the whole
	// group), and done is called once. An empty group is done(nil) at once; a group larger than
	// MaxGroupBytes or MaxGroupEntries is refused (ErrGroupTooLarge) with nothing stored; any
	// error means nothing of the group is stored. It does not wait for the disk.
	PutGroup(es []*Entry, done func(error))
	// Update records a new attempt count and due time for a stored entry.
	Update(id message.SpoolID, attempts uint16, due time.Time)
	// Delete removes an entry: it was delivered, bounced or expired.
	Delete(id message.SpoolID)
	// Load reads an entry back, body included.
	Load(id message.SpoolID) (*Entry, error)
	// Has reports whether the spool holds id: put (durable or on its way) and not deleted since.
	Has(id message.SpoolID) bool
	// Recover calls fn for every stored entry, in no particular order, before any other use.
	Recover(fn func(*Entry) error) error
	// Close flushes what is pending and releases the spool.
	Close() error
}
