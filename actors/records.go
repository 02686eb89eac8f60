package actors

import (
	"time"

	"github.com/hookd/hookd/message"
)

type timeT = time.Time

// newRecord starts a record about message m at now: envelope, queue, sizes, times and node. The
// response, site and protocol fields are the caller's.
func (s *System) newRecord(t message.RecordType, m *message.Message, attempts uint16, now time.Time) *message.LogRecord {
	created := m.ID.Created()
	r := &message.LogRecord{
		Type: t, ID: m.ID.String(), Sender: m.Sender.Email(), Size: uint64(len(m.Body)),
		Timestamp: now.Unix(), EventTime: now.UTC(), Created: created.Unix(), CreatedTime: created,
		NumAttempts: attempts, BounceClassification: "Uncategorized", NodeID: s.opts.NodeID,
	}
	r.Recipient = make(message.Recipients, len(m.Recipients))
	for i, a := range m.Recipients {
		r.Recipient[i] = a.Email()
	}
	if q, err := m.QueueName(); err == nil {
		r.Queue = q
	} else {
		r.Queue = err.Error()
	}
	if rp, ok, _ := m.Meta.GetString("reception_protocol"); ok {
		r.ReceptionProtocol = &rp
	}
	return r
}

// messageEvent pairs a record with its message, whose meta and headers loggers capture from.
func messageEvent(r *message.LogRecord, m *message.Message) *Event {
	body := m.Body
	return &Event{Record: r, Msg: m, Meta: m.Meta, Headers: func() []message.Header {
		hs, err := message.ParseHeaders(body)
		if err != nil {
			return nil
		}
		return hs
	}}
}

// isHookMessage reports a message a log hook built (its reception_protocol is "LogRecord").
func isHookMessage(m *message.Message) bool {
	return string(m.Meta["reception_protocol"]) == `"LogRecord"`
}
