// Package persistence keeps queued messages: the Spool interface the queue actors use, an in-memory
// implementation, and the codec that turns a Message into the bytes a spool stores.
//
// It knows bytes and files, not Lua or actors.
package persistence

import (
	"bytes"
	"encoding/json"
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

// storedMeta is the JSON a spool keeps beside the body, in the shape of KumoMTA's meta record.
type storedMeta struct {
	Sender    string             `json:"sender"`
	Recipient message.Recipients `json:"recipient"`
	Meta      message.Meta       `json:"meta"`
	// LogRecordIsBody says that meta "log_record" is the body without its final newline (true of every
	// message a log hook builds) and was left out to halve what is stored.
	LogRecordIsBody bool `json:"log_record_is_body,omitempty"`
}

// EncodeMeta returns the stored form of a message's envelope and meta.
func EncodeMeta(m *message.Message) ([]byte, error) {
	sm := storedMeta{Sender: m.Sender.Email(), Meta: m.Meta}
	for _, r := range m.Recipients {
		sm.Recipient = append(sm.Recipient, r.Email())
	}
	if sm.Meta == nil {
		sm.Meta = message.Meta{}
	}
	if lr, ok := m.Meta["log_record"]; ok && len(m.Body) > 0 && bytes.Equal(lr, bytes.TrimSuffix(m.Body, []byte("\n"))) {
		sm.Meta = make(message.Meta, len(m.Meta))
		for k, v := range m.Meta {
			if k != "log_record" {
				sm.Meta[k] = v
			}
		}
		sm.LogRecordIsBody = true
	}
	return json.Marshal(sm)
}

// DecodeMessage rebuilds the message an entry holds.
func DecodeMessage(e *Entry) (*message.Message, error) {
	var sm storedMeta
	if err := json.Unmarshal(e.Meta, &sm); err != nil {
		return nil, fmt.Errorf("spool entry %s: meta: %w", e.ID, err)
	}
	m := &message.Message{ID: e.ID, Meta: sm.Meta, Body: e.Body}
	if sm.LogRecordIsBody {
		if m.Meta == nil {
			m.Meta = message.Meta{}
		}
		m.Meta["log_record"] = bytes.TrimSuffix(e.Body, []byte("\n"))
	}
	var err error
	if m.Sender, err = message.ParseAddress(sm.Sender); err != nil {
		return nil, fmt.Errorf("spool entry %s: sender: %w", e.ID, err)
	}
	for _, r := range sm.Recipient {
		a, err := message.ParseAddress(r)
		if err != nil {
			return nil, fmt.Errorf("spool entry %s: recipient: %w", e.ID, err)
		}
		m.Recipients = append(m.Recipients, a)
	}
	return m, nil
}
