package actors

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/queue"
	"github.com/hookd/hookd/wire"
)

// sessionUnitPolicy's constructor make.unit returns a connection whose send posts the message through
// kumo.stub_send and acts on the stub's reply: "error" raises a Lua error, "reject" rejects 500,
// anything else is returned (a delivery).
const sessionUnitPolicy = `
kumo.on('make.unit', function(domain, tenant, campaign)
	kumo.stub_event('connect ' .. domain)
	return {
		send = function(self, msg)
			local reply = kumo.stub_send('https://hooks.example/' .. domain, msg:get_data())
			if reply == 'error' then error('the stub transport failed') end
			if reply == 'reject' then kumo.reject(500, 'refused by the stub') end
			return reply
		end,
		close = function(self) kumo.stub_event('close ' .. domain) end,
	}
end)
`

const sessionUnitQueue = "unit.webhook"

// sessionUnitRig is one session on a loop, with stub ports; its queue is a stub inbox.
type sessionUnitRig struct {
	e         *actor.Engine
	l         *loop
	queue     *stubInbox
	transport *stubTransport
	states    *stubStates
	loader    *stubLoader
	emitter   *stubEmitter
	slots     *Credits
	metrics   *Metrics
	ids       *message.IDGen
	spec      SessionSpec
}

func sessionUnitStart(t *testing.T, loader *stubLoader) *sessionUnitRig {
	t.Helper()
	p, tr := stubPolicy(t, sessionUnitPolicy)
	e := stubEngine(t)
	r := &sessionUnitRig{e: e, queue: stubSpawnInbox(e, "queue", sessionUnitQueue), transport: tr,
		states: &stubStates{p: p}, loader: loader, emitter: newStubEmitter(), slots: NewCredits(1),
		metrics: &Metrics{}, ids: message.NewIDGen([6]byte{7, 7, 7, 7, 7, 7})}
	r.spec = SessionSpec{Info: SessionInfo{Queue: sessionUnitQueue, Parts: message.ParseQueueName(sessionUnitQueue),
		Constructor: "make.unit", Site: "unspecified->" + sessionUnitQueue + "@lua:make.unit", BatchSize: 1},
		Session: 5, QueuePID: r.queue.pid}
	ports := SessionPorts{States: r.states, Loader: loader, Router: &stubRouter{}, Slots: r.slots, Emitter: r.emitter,
		Send: newStubSender(nil), Clock: clock.NewFake(t0), Metrics: r.metrics, Log: stubLogger(),
		Ctx: context.Background(), Node: "node"}
	r.l = stubStartLoop(t, e, "session", r.queue.pid.ID+"/5", newSessionActor(r.spec, ports))
	return r
}

// work hands the session a batch as its queue does, and returns the SessionDone the queue gets back.
func (r *sessionUnitRig) work(t *testing.T, batch ...*wire.Stored) *wire.SessionDone {
	t.Helper()
	r.e.Send(r.l.pid, &wire.SessionWork{Session: 5, Batch: batch})
	env := stubWait(t, r.queue.ch, "the SessionDone")
	done, ok := env.Msg.(*wire.SessionDone)
	if !ok {
		t.Fatalf("the queue got a %T, want *wire.SessionDone", env.Msg)
	}
	if !env.Sender.Equals(r.l.pid) {
		t.Fatalf("SessionDone sent by %v, want the session %v", env.Sender, r.l.pid)
	}
	if done.Session != 5 {
		t.Fatalf("SessionDone for session %d", done.Session)
	}
	return done
}

// sessionUnitResult checks a SessionDone's single result.
func sessionUnitResult(t *testing.T, done *wire.SessionDone, id message.SpoolID, want wire.Disposition) {
	t.Helper()
	if len(done.Results) != 1 {
		t.Fatalf("%d results, want 1", len(done.Results))
	}
	if got := done.Results[0]; string(got.Id) != string(id[:]) || got.Disposition != want {
		t.Fatalf("result %x %v, want %x %v", got.Id, got.Disposition, id[:], want)
	}
}

// sessionUnitEmitted waits for the single record of one Emit and checks what every record about an
// attempt carries.
func sessionUnitEmitted(t *testing.T, r *sessionUnitRig, id message.SpoolID, kind message.RecordType) Record {
	t.Helper()
	em := stubWait(t, r.emitter.ch, "the outcome record")
	if len(em.Recs) != 1 || !em.Block {
		t.Fatalf("Emit of %d records, block %v", len(em.Recs), em.Block)
	}
	rec := em.Recs[0]
	lr := rec.Log
	if lr.Type != kind || lr.ID != id.String() || lr.Queue != sessionUnitQueue || lr.Site != r.spec.Info.Site ||
		lr.NodeID != "node" || lr.SessionID == "" || !lr.EventTime.Equal(t0) {
		t.Fatalf("record %+v", lr)
	}
	if lr.DeliveryProtocol == nil || *lr.DeliveryProtocol != "Lua" {
		t.Fatalf("delivery protocol %v", lr.DeliveryProtocol)
	}
	if tenant, _, _ := rec.Meta.GetString("tenant"); tenant != "acme" {
		t.Fatalf("the record carries the message's meta %v", rec.Meta)
	}
	return rec
}

func TestSessionUnitDelivers(t *testing.T) {
	_, loaded := stubMessage(t, message.NewIDGen([6]byte{7, 7, 7, 7, 7, 8}), t0, sessionUnitQueue, "from the spool\n")
	r := sessionUnitStart(t, newStubLoader(loaded))

	// A batch the queue holds the body of: posted as is, reported delivered.
	m1, e1 := stubMessage(t, r.ids, t0, sessionUnitQueue, "hello one\n")
	done := r.work(t, &wire.Stored{Id: m1.ID[:], Attempts: 2, Meta: e1.Meta, Body: e1.Body})
	sessionUnitResult(t, done, m1.ID, wire.Disposition_DISPOSITION_DELIVERED)
	if done.Closed {
		t.Fatal("a delivery closed the session")
	}
	if posts := r.transport.Posts(); len(posts) != 1 || posts[0] != (stubPost{"https://hooks.example/unit.webhook", "hello one\n"}) {
		t.Fatalf("the stub saw %v", posts)
	}
	rec := sessionUnitEmitted(t, r, m1.ID, message.Delivery)
	if rec.Log.Response.Code != 200 || rec.Log.Response.Content != "ok" || rec.Log.NumAttempts != 2 || string(rec.Body) != "hello one\n" {
		t.Fatalf("delivery record %+v", rec.Log)
	}

	// A batch without the body: read back through the Loader, on the same connection.
	done = r.work(t, &wire.Stored{Id: loaded.ID[:], Attempts: 1})
	sessionUnitResult(t, done, loaded.ID, wire.Disposition_DISPOSITION_DELIVERED)
	if loads := r.loader.Loads(); len(loads) != 1 || loads[0] != loaded.ID {
		t.Fatalf("loads %v, want just %v", loads, loaded.ID)
	}
	if posts := r.transport.Posts(); len(posts) != 2 || posts[1].Body != "from the spool\n" {
		t.Fatalf("the stub saw %v", posts)
	}
	sessionUnitEmitted(t, r, loaded.ID, message.Delivery)

	// A rejection with 500 bounces the message and keeps the session.
	r.transport.script("reject")
	m3, e3 := stubMessage(t, r.ids, t0, sessionUnitQueue, "hello three\n")
	done = r.work(t, &wire.Stored{Id: m3.ID[:], Meta: e3.Meta, Body: e3.Body})
	sessionUnitResult(t, done, m3.ID, wire.Disposition_DISPOSITION_BOUNCED)
	if done.Closed {
		t.Fatal("a 500 rejection closed the session")
	}
	rec = sessionUnitEmitted(t, r, m3.ID, message.Bounce)
	if rec.Log.Response.Code != 500 || rec.Log.Response.Content != "refused by the stub" {
		t.Fatalf("bounce response %+v", rec.Log.Response)
	}
	if r.metrics.Delivered.Load() != 2 || r.metrics.Bounced.Load() != 1 {
		t.Fatalf("delivered %d bounced %d", r.metrics.Delivered.Load(), r.metrics.Bounced.Load())
	}
	if got, put := r.states.counts(); got != 1 || put != 0 {
		t.Fatalf("states taken %d returned %d while the session is open, want 1 and 0", got, put)
	}

	// The queue closes the session: the connection's close runs, the state and the slot go back.
	r.e.Send(r.l.pid, &wire.CloseSession{Reason: queue.ReasonDrain})
	stubWait(t, r.l.Done(), "the session to stop")
	if ev := strings.Join(r.transport.Events(), ","); ev != "connect unit.webhook,close unit.webhook" {
		t.Fatalf("events %q: one constructor call for the session, then close", ev)
	}
	if got, put := r.states.counts(); got != 1 || put != 1 {
		t.Fatalf("states taken %d returned %d", got, put)
	}
	if r.slots.InUse() != 0 || r.metrics.Sessions.Load() != 0 {
		t.Fatalf("slots in use %d, sessions %d", r.slots.InUse(), r.metrics.Sessions.Load())
	}
}

func TestSessionUnitLuaErrorIsTransient(t *testing.T) {
	r := sessionUnitStart(t, newStubLoader())
	r.transport.script("error")
	m, e := stubMessage(t, r.ids, t0, sessionUnitQueue, "doomed\n")
	done := r.work(t, &wire.Stored{Id: m.ID[:], Attempts: 3, Meta: e.Meta, Body: e.Body})
	sessionUnitResult(t, done, m.ID, wire.Disposition_DISPOSITION_TRANSIENT)
	if !done.Closed {
		t.Fatal("an error in send must close the session")
	}
	if posts := r.transport.Posts(); len(posts) != 1 || posts[0].Body != "doomed\n" {
		t.Fatalf("the stub saw %v", posts)
	}
	rec := sessionUnitEmitted(t, r, m.ID, message.TransientFailure)
	if rec.Log.Response.Code != 400 || !strings.HasPrefix(rec.Log.Response.Content, queue.InternalErrorPrefix) ||
		!strings.Contains(rec.Log.Response.Content, "the stub transport failed") {
		t.Fatalf("transient response %+v", rec.Log.Response)
	}
	stubWait(t, r.l.Done(), "the session to end itself")
	if got, put := r.states.counts(); got != 1 || put != 1 {
		t.Fatalf("states taken %d returned %d", got, put)
	}
	if r.slots.InUse() != 0 || r.metrics.Sessions.Load() != 0 {
		t.Fatalf("slots in use %d, sessions %d", r.slots.InUse(), r.metrics.Sessions.Load())
	}
}

func TestSessionUnitVanishedMessageBounces(t *testing.T) {
	r := sessionUnitStart(t, newStubLoader())
	gone := r.ids.New(t0)
	done := r.work(t, &wire.Stored{Id: gone[:]})
	sessionUnitResult(t, done, gone, wire.Disposition_DISPOSITION_BOUNCED)
	if loads := r.loader.Loads(); len(loads) != 1 || loads[0] != gone {
		t.Fatalf("loads %v", loads)
	}
	if len(r.transport.Posts()) != 0 || len(r.transport.Events()) != 0 || len(r.emitter.Emits()) != 0 {
		t.Fatalf("a batch with nothing to send connected or posted: posts %v events %v", r.transport.Posts(), r.transport.Events())
	}
}

func TestSessionUnitDamagedMetaBounces(t *testing.T) {
	r := sessionUnitStart(t, newStubLoader())
	m, e := stubMessage(t, r.ids, t0, sessionUnitQueue, "damaged\n")
	done := r.work(t, &wire.Stored{Id: m.ID[:], Meta: e.Meta[:len(e.Meta)-3], Body: e.Body})
	sessionUnitResult(t, done, m.ID, wire.Disposition_DISPOSITION_BOUNCED)
	if len(r.transport.Posts()) != 0 || len(r.emitter.Emits()) != 0 {
		t.Fatalf("a message whose meta is cut short was posted (%v) or logged", r.transport.Posts())
	}
}

// TestLazyMessageDecodesOnDemand: a session's message is decoded only when something reads more than
// its body, and whether a log hook made it is known without decoding.
func TestLazyMessageDecodesOnDemand(t *testing.T) {
	ids := message.NewIDGen([6]byte{7, 7, 7, 7, 7, 9})
	m, e := stubMessage(t, ids, t0, sessionUnitQueue, "plain\n")
	lm, hook, err := lazyMessage(e, 4)
	if err != nil || hook || lm.Complete() || lm.Attempts != 4 || string(lm.Msg.Body) != "plain\n" || lm.Msg.ID != m.ID {
		t.Fatalf("lazyMessage: %v hook %v complete %v %+v", err, hook, lm.Complete(), lm.Msg)
	}
	lm.Msg.Body = []byte("replaced\n") // as msg:set_data does
	full, err := lm.Full()
	if err != nil || !lm.Complete() || full.Sender != m.Sender || string(full.Meta["tenant"]) != `"acme"` ||
		string(full.Body) != "replaced\n" {
		t.Fatalf("Full: %v %+v", err, full)
	}

	rec := &message.LogRecord{Type: message.Delivery, ID: "x", Queue: "q@d", Recipient: message.Recipients{"r@d"},
		Meta: map[string]json.RawMessage{"tenant": json.RawMessage(`"acme"`)}}
	hm, err := message.NewHookMessage(rec, ids.New(t0), nil)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := persistence.EncodeMeta(hm)
	if err != nil {
		t.Fatal(err)
	}
	lm, hook, err = lazyMessage(&persistence.Entry{ID: hm.ID, Meta: meta, Body: hm.Body}, 0)
	if err != nil || !hook || lm.Complete() {
		t.Fatalf("a hook's message: %v hook %v complete %v", err, hook, lm.Complete())
	}
}
