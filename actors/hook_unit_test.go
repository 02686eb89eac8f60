package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/wire"
)

// hookUnitPolicy keeps every record but Receptions: Bounces go to the queue "bounces", the others to
// "<hook>.webhook". It captures only the tenant meta.
const hookUnitPolicy = `
kumo.on('init', function()
	kumo.configure_log_hook { name = 'unit', meta = { 'tenant' } }
end)
kumo.on('should_enqueue_log_record', function(msg, hook)
	local r = msg:get_meta('log_record')
	if r.type == 'Reception' then return false end
	if r.type == 'Bounce' then
		msg:set_meta('queue', 'bounces')
	else
		msg:set_meta('queue', hook .. '.webhook')
	end
	return true
end)
`

// hookUnitRig is one hook actor on a loop, with stub ports.
type hookUnitRig struct {
	e       *actor.Engine
	pid     *actor.PID
	spool   *stubGroupWriter
	router  *stubRouter
	send    *stubSender
	intake  *Credits
	inserts *Credits
	counts  *hookCounts
	metrics *Metrics
	reply   *actor.PID
}

func hookUnitStart(t *testing.T, spool *stubGroupWriter, router *stubRouter) *hookUnitRig {
	t.Helper()
	p, _ := stubPolicy(t, hookUnitPolicy)
	if len(p.Config().Hooks) != 1 {
		t.Fatalf("the policy configured %d hooks", len(p.Config().Hooks))
	}
	cfg := p.Config().Hooks[0]
	e := stubEngine(t)
	r := &hookUnitRig{e: e, spool: spool, router: router, send: newStubSender(nil), intake: NewCredits(cfg.BackPressure),
		inserts: NewCredits(100), counts: &hookCounts{}, metrics: &Metrics{}, reply: actor.NewPID("local", "stub/reply")}
	ports := HookPorts{Policies: stubPoliciesOf(p), Spool: spool, Router: router, Send: r.send, Intake: r.intake,
		Inserts: r.inserts, IDs: message.NewIDGen([6]byte{9, 9, 9, 9, 9, 9}), Clock: clock.NewFake(t0),
		Metrics: r.metrics, Log: stubLogger(), Ctx: context.Background()}
	r.pid = stubStartLoop(t, e, "hook", cfg.Name+"/0", newHookActor(cfg, r.counts, ports)).pid
	return r
}

// hookUnitRecords are a Delivery, a Reception, a TransientFailure and a Bounce, all of tenant acme
// (with a secret meta the hook does not capture).
func hookUnitRecords() []Record {
	var out []Record
	for i, kind := range []message.RecordType{message.Delivery, message.Reception, message.TransientFailure, message.Bounce} {
		rec := record(kind, i+1)
		rec.Meta["tenant"] = json.RawMessage(`"acme"`)
		rec.Meta["secret"] = json.RawMessage(`"x"`)
		out = append(out, ExternalRecord(*rec))
	}
	return out
}

// log offers recs to the hook as the intake does: it takes a back_pressure credit per record, then
// sends the batch.
func (r *hookUnitRig) log(t *testing.T, recs []Record, corr uint64, reply *actor.PID) {
	t.Helper()
	if !r.intake.TryAcquire(len(recs)) {
		t.Fatal("no back_pressure credits")
	}
	r.e.Send(r.pid, LogBatch{Records: recs, Corr: corr, Reply: reply})
}

// hookUnitBody is the message body a hook with meta {'tenant'} builds for rec: the captured record's
// JSON and a newline.
func hookUnitBody(rec Record) string {
	lr := rec.Log
	lr.Meta = map[string]json.RawMessage{"tenant": json.RawMessage(`"acme"`)}
	lr.Headers = map[string]json.RawMessage{}
	return string(lr.AppendJSON(nil)) + "\n"
}

func TestHookUnitKeepsSpoolsAndAnswers(t *testing.T) {
	r := hookUnitStart(t, newStubGroupWriter(), &stubRouter{})
	recs := hookUnitRecords()
	r.log(t, recs, 7, r.reply)

	g := stubWait(t, r.spool.calls, "PutGroup")
	wantQueues := []string{"unit.webhook", "unit.webhook", "bounces"}
	kept := []Record{recs[0], recs[2], recs[3]} // the Reception is dropped
	if len(g.Entries) != len(kept) {
		t.Fatalf("PutGroup got %d entries, want %d", len(g.Entries), len(kept))
	}
	for i, e := range g.Entries {
		if e.Queue != wantQueues[i] {
			t.Errorf("entry %d queue %q, want %q", i, e.Queue, wantQueues[i])
		}
		if want := hookUnitBody(kept[i]); string(e.Body) != want {
			t.Errorf("entry %d body\n%s\nwant\n%s", i, e.Body, want)
		}
		var body map[string]any
		if err := json.Unmarshal(e.Body, &body); err != nil {
			t.Fatalf("entry %d body is not JSON: %v", i, err)
		}
		if body["type"] != string(kept[i].Log.Type) || body["id"] != kept[i].Log.ID {
			t.Errorf("entry %d body is the record %v %v", i, body["type"], body["id"])
		}
		m, err := persistence.DecodeMessage(e)
		if err != nil {
			t.Fatalf("entry %d meta: %v", i, err)
		}
		if q, _ := m.QueueName(); q != wantQueues[i] {
			t.Errorf("entry %d message queue %q", i, q)
		}
		if rp, _, _ := m.Meta.GetString("reception_protocol"); rp != "LogRecord" {
			t.Errorf("entry %d reception_protocol %q", i, rp)
		}
		if m.Sender.Email() != "s@example.com" || len(m.Recipients) != 1 || m.Recipients[0].Email() != "r@example.net" {
			t.Errorf("entry %d envelope %v -> %v", i, m.Sender, m.Recipients)
		}
		if c := e.ID.Created(); c.Before(t0) || c.Sub(t0) > time.Millisecond {
			t.Errorf("entry %d id created %v, not at the fake clock's %v", i, c, t0)
		}
	}
	if n := len(r.spool.Groups()); n != 1 {
		t.Fatalf("PutGroup called %d times, want once", n)
	}

	sent := stubWait(t, r.send.ch, "the LogDone")
	if !sent.PID.Equals(r.reply) {
		t.Fatalf("sent to %v, want the reply PID %v", sent.PID, r.reply)
	}
	done, ok := sent.Msg.(LogDone)
	if !ok {
		t.Fatalf("sent a %T, want LogDone", sent.Msg)
	}
	if done.Corr != 7 || done.Code != wire.Code_CODE_OK || done.Err != "" {
		t.Fatalf("LogDone %+v", done)
	}
	if len(done.Inserts) != 2 {
		t.Fatalf("LogDone carries %d inserts, want one per queue (2)", len(done.Inserts))
	}
	for i, want := range []struct {
		queue string
		ids   []message.SpoolID
	}{{"unit.webhook", []message.SpoolID{g.Entries[0].ID, g.Entries[1].ID}}, {"bounces", []message.SpoolID{g.Entries[2].ID}}} {
		ri := done.Inserts[i]
		if !ri.PID.Equals(r.router.pid(want.queue)) || ri.Insert.Queue != want.queue || !ri.Insert.Counted || ri.Insert.Held {
			t.Errorf("insert %d: pid %v queue %q counted %v held %v", i, ri.PID, ri.Insert.Queue, ri.Insert.Counted, ri.Insert.Held)
		}
		if len(ri.Insert.Messages) != len(want.ids) {
			t.Fatalf("insert %d has %d messages, want %d", i, len(ri.Insert.Messages), len(want.ids))
		}
		for j, s := range ri.Insert.Messages {
			if !hookUnitSameID(s.Id, want.ids[j]) || len(s.Body) == 0 || len(s.Meta) == 0 {
				t.Errorf("insert %d message %d: id %x body %d meta %d bytes", i, j, s.Id, len(s.Body), len(s.Meta))
			}
		}
	}
	routes, releases := r.router.calls()
	if fmt.Sprint(routes) != "[{unit.webhook 2} {bounces 1}]" || len(releases) != 0 {
		t.Fatalf("routes %v releases %v", routes, releases)
	}
	if n := len(r.send.Sent()); n != 1 {
		t.Fatalf("the hook sent %d messages; with a Reply, only the LogDone (inserts wait for the producer)", n)
	}
	if got := [4]uint64{r.counts.received.Load(), r.counts.kept.Load(), r.counts.dropped.Load(), r.counts.errors.Load()}; got != [4]uint64{4, 3, 1, 0} {
		t.Fatalf("received, kept, dropped, errors = %v", got)
	}
	if r.metrics.Dropped.Load() != 1 || r.metrics.Kept.Load() != 3 {
		t.Fatalf("metrics dropped %d kept %d", r.metrics.Dropped.Load(), r.metrics.Kept.Load())
	}
	if r.intake.InUse() != 0 {
		t.Fatalf("%d back_pressure credits not returned", r.intake.InUse())
	}
	if r.inserts.InUse() != 3 {
		t.Fatalf("%d insert credits held, want 3 (one per message on its way)", r.inserts.InUse())
	}
}

func hookUnitSameID(b []byte, id message.SpoolID) bool { return string(b) == string(id[:]) }

func TestHookUnitSpoolErrorRoutesNothing(t *testing.T) {
	spool := newStubGroupWriter()
	spool.err = fmt.Errorf("disk says: %w", ErrLowSpace)
	r := hookUnitStart(t, spool, &stubRouter{})
	r.log(t, hookUnitRecords(), 11, r.reply)

	g := stubWait(t, spool.calls, "PutGroup")
	if len(g.Entries) != 3 {
		t.Fatalf("PutGroup got %d entries", len(g.Entries))
	}
	sent := stubWait(t, r.send.ch, "the LogDone")
	done, ok := sent.Msg.(LogDone)
	if !ok || !sent.PID.Equals(r.reply) {
		t.Fatalf("sent %T to %v", sent.Msg, sent.PID)
	}
	if done.Corr != 11 || done.Code != wire.Code_CODE_LOW_SPACE || len(done.Inserts) != 0 {
		t.Fatalf("LogDone %+v", done)
	}
	if !strings.Contains(done.Err, "spooling 3 messages") || !strings.Contains(done.Err, "disk says") {
		t.Fatalf("LogDone error %q", done.Err)
	}
	if err := codeError(done.Code, done.Err); !errors.Is(err, ErrLowSpace) {
		t.Fatalf("the producer reads %v, not ErrLowSpace", err)
	}
	routes, releases := r.router.calls()
	if fmt.Sprint(routes) != "[{unit.webhook 2} {bounces 1}]" || fmt.Sprint(releases) != fmt.Sprint(routes) {
		t.Fatalf("routes %v, releases %v: every route must be given back", routes, releases)
	}
	if len(r.send.Sent()) != 1 {
		t.Fatalf("sent %v: nothing may reach a queue", r.send.Sent())
	}
	if r.inserts.InUse() != 0 || r.intake.InUse() != 0 {
		t.Fatalf("credits not returned: inserts %d, back_pressure %d", r.inserts.InUse(), r.intake.InUse())
	}
	if r.counts.dropped.Load() != 1 {
		t.Fatalf("dropped %d", r.counts.dropped.Load())
	}
}

func TestHookUnitAnswersOnceTheGroupIsDurable(t *testing.T) {
	spool := newStubGroupWriter()
	spool.hold = true
	r := hookUnitStart(t, spool, &stubRouter{})
	r.log(t, hookUnitRecords(), 3, r.reply)

	g := stubWait(t, spool.calls, "PutGroup")
	// The hook has handed the group over and returned: it answers only from the spool's callback.
	if s := r.send.Sent(); len(s) != 0 {
		t.Fatalf("answered before the group was durable: %v", s)
	}
	g.finish(nil) // the spool's goroutine (here the test's) reports the group durable
	done, ok := stubWait(t, r.send.ch, "the LogDone").Msg.(LogDone)
	if !ok || done.Code != wire.Code_CODE_OK || done.Corr != 3 || len(done.Inserts) != 2 {
		t.Fatalf("LogDone %+v", done)
	}
}

func TestHookUnitWithoutReplySendsInsertsToQueues(t *testing.T) {
	r := hookUnitStart(t, newStubGroupWriter(), &stubRouter{})
	r.log(t, hookUnitRecords(), 0, nil)

	stubWait(t, r.spool.calls, "PutGroup")
	got := map[string]*wire.Insert{}
	for range 2 {
		s := stubWait(t, r.send.ch, "an insert")
		ins, ok := s.Msg.(*wire.Insert)
		if !ok {
			t.Fatalf("sent a %T, want *wire.Insert", s.Msg)
		}
		if !s.PID.Equals(r.router.pid(ins.Queue)) {
			t.Fatalf("insert for %q sent to %v", ins.Queue, s.PID)
		}
		got[ins.Queue] = ins
	}
	if len(got["unit.webhook"].Messages) != 2 || len(got["bounces"].Messages) != 1 {
		t.Fatalf("inserts %v", got)
	}
	if r.metrics.Enqueued.Load() != 3 || r.metrics.Queued.Load() != 3 {
		t.Fatalf("enqueued %d queued %d", r.metrics.Enqueued.Load(), r.metrics.Queued.Load())
	}
}

func TestHookUnitRouteFailureSpoolsNothing(t *testing.T) {
	router := &stubRouter{fail: map[string]error{"bounces": fmt.Errorf("%w: 1 of 1", ErrTooManyQueues)}}
	r := hookUnitStart(t, newStubGroupWriter(), router)
	r.log(t, hookUnitRecords(), 5, r.reply)

	done, ok := stubWait(t, r.send.ch, "the LogDone").Msg.(LogDone)
	if !ok || done.Corr != 5 || done.Code != wire.Code_CODE_TOO_MANY_QUEUES || len(done.Inserts) != 0 {
		t.Fatalf("LogDone %+v", done)
	}
	if n := len(r.spool.Groups()); n != 0 {
		t.Fatalf("PutGroup called %d times for a batch that could not be routed", n)
	}
	routes, releases := router.calls()
	if fmt.Sprint(routes) != "[{unit.webhook 2}]" || fmt.Sprint(releases) != "[{unit.webhook 2}]" {
		t.Fatalf("routes %v releases %v", routes, releases)
	}
	if r.inserts.InUse() != 0 {
		t.Fatalf("%d insert credits kept", r.inserts.InUse())
	}
}

// TestGroupInsertPerQueue: a group has one insert per queue, in the order the queues came, with each
// queue's messages in order, whether it finds them by scanning or by its map.
func TestGroupInsertPerQueue(t *testing.T) {
	for _, queues := range []int{1, groupScan, 3 * groupScan} {
		var g group
		for i := range 5 * queues {
			q := fmt.Sprintf("q%d", i%queues)
			g.add(q, &persistence.Entry{Queue: q}, &wire.Stored{Attempts: uint32(i)})
		}
		if len(g.entries) != 5*queues || len(g.inserts) != queues {
			t.Fatalf("%d queues: %d entries, %d inserts", queues, len(g.entries), len(g.inserts))
		}
		for qi, ins := range g.inserts {
			if ins.Queue != fmt.Sprintf("q%d", qi) || !ins.Counted || len(ins.Messages) != 5 {
				t.Fatalf("%d queues: insert %d is %s with %d messages", queues, qi, ins.Queue, len(ins.Messages))
			}
			for k, m := range ins.Messages {
				if want := uint32(qi + k*queues); m.Attempts != want {
					t.Fatalf("%d queues: %s message %d is %d, want %d", queues, ins.Queue, k, m.Attempts, want)
				}
			}
		}
	}
}
