// Package persistence keeps queued messages: the Spool interface the queue actors use, an in-memory
// implementation, and the codec that turns a Message into the bytes a spool stores.
//
// It knows bytes and files, not Lua or actors.
package persistence

import (
	"errors"
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

// Spool stores queued messages. Implementations are safe for concurrent use.
//
// Durability contract: Put calls done exactly once, after the entry is durable (or with the error
// that prevented it); nothing else is acknowledged. Update and Delete are ordered after the Put of the
// same id and take effect no later than the next Put that follows them is durable.
type Spool interface {
	// Put stores a new entry. It does not wait for I/O; done reports the outcome.
	Put(e *Entry, done func(error))
	// Update records a new attempt count and due time for a stored entry.
	Update(id message.SpoolID, attempts uint16, due time.Time)
	// Delete removes an entry: it was delivered, bounced or expired.
	Delete(id message.SpoolID)
	// Load reads an entry back, body included.
	Load(id message.SpoolID) (*Entry, error)
	// Recover calls fn for every stored entry, in no particular order, before any other use.
	Recover(fn func(*Entry) error) error
	// Close flushes what is pending and releases the spool.
	Close() error
}
