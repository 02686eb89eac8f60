package actors

import (
	"encoding/json"
	"sync/atomic"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/message"
)

// logger is the actor of one configured log hook's intake: it applies per_record enable and hands
// the records to the hook's workers, which capture the configured meta and headers into them. (The
// logger runs on hollywood's goroutine, new for every burst of messages: capturing there grew a
// fresh stack for nearly every record at moderate rates, ~9 µs a record.)
type logger struct {
	stats   *counters
	counts  *hookCounts
	cfg     *config.Hook
	credits *Credits
	workers []*actor.PID
	next    int
}

// hookLogger is what the system keeps about a log hook.
type hookLogger struct {
	cfg     *config.Hook
	pid     *actor.PID
	credits *Credits
	counts  *hookCounts
}

// hookCounts are one hook's running totals (its workers update them).
type hookCounts struct {
	received, disabled, kept, dropped, errors atomic.Uint64
}

func (l *logger) Receive(c *actor.Context) {
	b, ok := c.Message().(logBatch)
	if !ok {
		return
	}
	out := hookBatch{ack: b.ack, credits: l.credits, events: make([]*Event, 0, len(b.events))}
	for _, ev := range b.events {
		if !l.cfg.Enabled(ev.Record.Type) || isLogRecord(ev.Record) {
			l.stats.disabled.Add(1)
			l.counts.disabled.Add(1)
			l.credits.Release(1)
			b.ack.Done(nil)
			continue
		}
		out.events = append(out.events, ev)
	}
	l.counts.received.Add(uint64(len(b.events)))
	if len(out.events) == 0 {
		return
	}
	c.Send(l.workers[l.next], out)
	l.next = (l.next + 1) % len(l.workers)
}

// captureRecord returns the record as a logger sees it: a copy carrying only the meta and headers
// the logger asked for.
func captureRecord(ev *Event, meta, headers []string) *message.LogRecord {
	r := *ev.Record
	r.Meta = message.CaptureMeta(ev.Meta, meta)
	switch {
	case len(headers) == 0:
		r.Headers = map[string]json.RawMessage{}
	case ev.RecordHeaders != nil:
		r.Headers = message.CaptureRecordHeaders(ev.RecordHeaders, headers)
	case ev.Headers != nil:
		r.Headers = message.CaptureHeaders(ev.Headers(), headers)
	default:
		r.Headers = map[string]json.RawMessage{}
	}
	return &r
}

// isLogRecord reports a record about a message a log hook generated: hooks never see those, which is
// what keeps a webhook's own deliveries from looping back into it.
func isLogRecord(r *message.LogRecord) bool {
	return r.ReceptionProtocol != nil && *r.ReceptionProtocol == "LogRecord"
}
