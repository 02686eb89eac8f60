package actors

import (
	"encoding/json"
	"time"

	"github.com/hookd/hookd/message"
)

// newRecord starts a record about message m at now: envelope, queue, sizes, times and node. The
// response, site and protocol fields are the caller's.
func newRecord(t message.RecordType, m *message.Message, attempts uint16, now time.Time, node string) message.LogRecord {
	created := m.ID.Created()
	r := message.LogRecord{
		Type: t, ID: m.ID.String(), Sender: m.Sender.Email(), Size: uint64(len(m.Body)),
		Timestamp: now.Unix(), EventTime: now.UTC(), Created: created.Unix(), CreatedTime: created,
		NumAttempts: attempts, BounceClassification: "Uncategorized", NodeID: node,
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

// messageRecord pairs a record with the message it is about, whose meta and headers loggers capture
// from.
func messageRecord(r message.LogRecord, m *message.Message) Record {
	return Record{Log: r, Meta: m.Meta, Body: m.Body}
}

// ExternalRecord wraps a record that arrived from outside: its own meta and headers stand for those
// of the message it is about, so each logger captures from them what it is configured to.
func ExternalRecord(r message.LogRecord) Record {
	return Record{Log: r, Meta: message.Meta(r.Meta), Headers: r.Headers}
}

// captureRecord returns the record as a logger sees it: a copy carrying only the meta and headers
// the logger asked for.
func captureRecord(rec *Record, meta, headers []string) *message.LogRecord {
	r := rec.Log
	r.Meta = message.CaptureMeta(rec.Meta, meta)
	switch {
	case len(headers) == 0:
		r.Headers = map[string]json.RawMessage{}
	case rec.Headers != nil:
		r.Headers = message.CaptureRecordHeaders(rec.Headers, headers)
	case rec.Body != nil:
		hs, err := message.ParseHeaders(rec.Body)
		if err != nil {
			hs = nil
		}
		r.Headers = message.CaptureHeaders(hs, headers)
	default:
		r.Headers = map[string]json.RawMessage{}
	}
	return &r
}

// recordMessage is the message a record is about, for filter_event: rebuilt from the record's
// envelope, the meta and the body the record carries.
func recordMessage(rec *Record) *message.Message {
	r := &rec.Log
	m := &message.Message{Meta: rec.Meta, Body: rec.Body}
	m.ID, _ = message.ParseSpoolID(r.ID)
	m.Sender, _ = message.ParseAddress(r.Sender)
	for _, rc := range r.Recipient {
		if a, err := message.ParseAddress(rc); err == nil {
			m.Recipients = append(m.Recipients, a)
		}
	}
	return m
}

// isHookMessage reports a message a log hook built (its reception_protocol is "LogRecord").
func isHookMessage(m *message.Message) bool {
	return string(m.Meta["reception_protocol"]) == hookProtocol
}

// hookProtocol is the stored meta reception_protocol of a message a log hook built.
const hookProtocol = `"LogRecord"`
