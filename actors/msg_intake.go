package actors

import (
	"encoding/json"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/wire"
)

// The intake boundary: producers (Engine.Log, the engine's own outcome records) → hook and local
// logger actors, and hooks → the intake's acknowledgements. These messages never leave the member
// (a record is decided where it arrives), so they are Go values, not protobuf.

// Record is a log record on its way to the loggers, with what a logger captures meta and headers
// from: the record's own meta and headers when it came from outside, else those of the message it is
// about.
type Record struct {
	Log  message.LogRecord
	Meta message.Meta // the full meta of the message the record is about
	// Headers holds the headers as a record carries them (a JSON string or array of strings per
	// name), when the record came from outside.
	Headers map[string]json.RawMessage
	// Body is the message the record is about, when the engine produced the record: its headers
	// are parsed from it only if a logger captures headers.
	Body []byte
}

// LogBatch carries records to one hook or local logger. A batch with a Reply is answered with a
// LogDone once every message its records made is durable (or refused).
type LogBatch struct {
	Records []Record
	Corr    uint64     // the producer's correlation id (0 when nobody waits)
	Reply   *actor.PID // where the LogDone goes; nil when nobody waits
}

// LogDone answers a LogBatch: every kept message is durable (Code OK) and its queue inserts wait in
// Inserts for the producer's whole request to succeed, or the batch failed and nothing of it was
// kept.
type LogDone struct {
	Corr    uint64
	Code    wire.Code
	Err     string
	Inserts []RoutedInsert // ready to send once the request as a whole succeeds
}

// LogDones answers several LogBatches whose messages shared one spool group, in one message to the
// acknowledgements they all reply to.
type LogDones struct {
	Dones []LogDone
}

// RoutedInsert is an Insert for a queue whose actor has been reserved (Router.Route) for it.
type RoutedInsert struct {
	PID    *actor.PID
	Insert *wire.Insert
}
