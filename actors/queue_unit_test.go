package actors

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/admin"
	"github.com/hookd/hookd/breaker"
	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/queue"
	"github.com/hookd/hookd/wire"
)

// The queue actor driven alone, with fake ports: the test plays the policy runner (answering
// resolveQueue with queueResolved), the sessions (answering SessionWork with SessionDone, as
// session.go does), the destination and the hook that inserts; the spool is a fakeStore and time
// a clock.Fake.

const queueUnitName = "example.com"

// queueUnitRig is one queue actor and the fakes around it.
type queueUnitRig struct {
	e        *actor.Engine
	pid      *actor.PID
	clock    *clock.Fake
	send     *fakeSender
	store    *fakeStore
	home     *fakeHome
	runner   *fakeActor // the policy runner the Resolvers port picks
	recorder *fakeActor
	dest     *fakeActor // every destination
	dests    *fakeDestinations
	sessions *fakeSessions
	ports    QueuePorts
	ids      *message.IDGen
}

func queueUnitStart(t *testing.T) *queueUnitRig {
	t.Helper()
	return queueUnitStartWith(t, nil)
}

// queueUnitStartWith is queueUnitStart with the ports changed by with before the queue starts.
func queueUnitStartWith(t *testing.T, with func(*QueuePorts)) *queueUnitRig {
	t.Helper()
	e := fakeEngine(t)
	r := &queueUnitRig{e: e, clock: clock.NewFake(fakeT0), send: &fakeSender{e: e}, store: &fakeStore{},
		home: &fakeHome{}, ids: message.NewIDGen([6]byte{3, 3, 3, 3, 3, 3})}
	r.runner = fakeSpawn(t, e, "fake-runner", nil)
	r.recorder = fakeSpawn(t, e, "fake-recorder", nil)
	r.dest = fakeSpawn(t, e, "fake-destination", nil)
	r.dests = &fakeDestinations{pid: r.dest.pid}
	r.sessions = fakeNewSessions(t, e)
	r.ports = QueuePorts{Home: r.home, Store: r.store, Resolvers: &fakeResolvers{pid: r.runner.pid},
		Sessions: r.sessions, Destinations: r.dests, Recorder: r.recorder.pid, Admin: admin.NewRegistry(),
		Send: r.send, Clock: r.clock, Inserts: NewCredits(100), Slots: NewCredits(10), Bodies: NewCredits(1 << 20),
		Metrics: &Metrics{}, Rand: func() float64 { return 0.5 }, Log: fakeLog}
	if with != nil {
		with(&r.ports)
	}
	ports := r.ports
	pool := newActorPool(2)
	a, err := spawnPooled(e, pool, "queue", queueUnitName, newQueueActor(queueUnitName, ports), fakeLog, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.pid = a.pid
	t.Cleanup(func() {
		a.requestStop()
		select {
		case <-a.Done():
		case <-time.After(fakeWait):
		}
		pool.close()
	})
	return r
}

// resolveRequest waits for the queue's request to the policy runner.
func (r *queueUnitRig) resolveRequest(t *testing.T) resolveQueue {
	t.Helper()
	m, _ := fakeExpect[resolveQueue](t, r.runner, "resolveQueue")
	if m.Queue != queueUnitName || !m.Reply.Equals(r.pid) {
		t.Fatalf("resolveQueue %+v: want queue %q replying to %s", m, queueUnitName, r.pid)
	}
	return m
}

// queueUnitConfig is a deliverable configuration: one session at most, batches of one, retries
// after a minute (doubling).
func queueUnitConfig() queue.Config {
	cfg := queue.DefaultConfig()
	cfg.Deliverable = true
	cfg.RetryInterval = time.Minute
	cfg.ConnectionLimit = 1
	return cfg
}

func queueUnitInfo() SessionInfo {
	return SessionInfo{Queue: queueUnitName, Parts: message.ParseQueueName(queueUnitName), Constructor: "make",
		Site: "unspecified->example.com@lua:make", BatchSize: 1}
}

// resolved is the runner's answer to req: deliverable, through dest ("" for none).
func (r *queueUnitRig) resolved(req resolveQueue, dest string, b breaker.Config) {
	r.e.Send(r.pid, queueResolved{Queue: queueUnitName, Gen: req.Gen, Config: queueUnitConfig(), Session: queueUnitInfo(),
		Destination: dest, Breaker: b})
}

// fresh is a message a hook just spooled, with its meta and body.
func (r *queueUnitRig) fresh(n int) *wire.Stored {
	id := r.ids.New(fakeT0)
	return &wire.Stored{Id: id[:], Meta: fmt.Appendf(nil, `{"n":%d}`, n), Body: fmt.Appendf(nil, "body %d", n)}
}

// insert sends an Insert the way a hook does: counted against the insert credits.
func (r *queueUnitRig) insert(t *testing.T, msgs ...*wire.Stored) {
	t.Helper()
	if !r.ports.Inserts.TryAcquire(len(msgs)) {
		t.Fatal("no insert credits")
	}
	r.e.Send(r.pid, &wire.Insert{Queue: queueUnitName, Messages: msgs, Counted: true})
}

// stats asks the queue for its figures. As the answer comes after everything sent to the queue
// before, it also shows that the queue has handled those.
func (r *queueUnitRig) stats(t *testing.T) *wire.QueueStats {
	t.Helper()
	res, err := r.e.Request(r.pid, &wire.QueueStatsRequest{Detail: true}, fakeWait).Result()
	if err != nil {
		t.Fatalf("queue stats: %v", err)
	}
	st, ok := res.(*wire.QueueStats)
	if !ok {
		t.Fatalf("queue stats: got %T", res)
	}
	return st
}

// done answers a session's batch as session.go does.
func (r *queueUnitRig) done(session uint64, closed bool, rs ...*wire.Result) {
	r.e.Send(r.pid, &wire.SessionDone{Session: session, Results: rs, Closed: closed})
}

func queueUnitResult(s *wire.Stored, d wire.Disposition) *wire.Result {
	return &wire.Result{Id: s.Id, Disposition: d}
}

// work waits for a session's next batch and checks it holds exactly want, each with the attempts
// given and with its body when withBody (a fresh message), without when not (the session loads it).
func queueUnitWork(t *testing.T, fs fakeSession, session uint64, attempts uint32, withBody bool, want ...*wire.Stored) *wire.SessionWork {
	t.Helper()
	w, _ := fakeExpect[*wire.SessionWork](t, fs.Actor, "SessionWork")
	if w.Session != session || len(w.Batch) != len(want) {
		t.Fatalf("SessionWork for session %d with %d messages, want session %d with %d", w.Session, len(w.Batch), session, len(want))
	}
	for i, s := range w.Batch {
		if !bytes.Equal(s.Id, want[i].Id) || s.Attempts != attempts {
			t.Fatalf("batch[%d] = id %x attempts %d, want id %x attempts %d", i, s.Id, s.Attempts, want[i].Id, attempts)
		}
		switch {
		case withBody && (!bytes.Equal(s.Body, want[i].Body) || !bytes.Equal(s.Meta, want[i].Meta)):
			t.Fatalf("batch[%d] carries body %q meta %q, want the fresh message's %q %q", i, s.Body, s.Meta, want[i].Body, want[i].Meta)
		case !withBody && (s.Body != nil || s.Meta != nil):
			t.Fatalf("batch[%d] carries body %q: a retried message's body stays in the spool", i, s.Body)
		}
	}
	return w
}

func queueUnitID(s *wire.Stored) message.SpoolID { return message.SpoolID(s.Id) }

// TestQueueUnitConfiguresThroughTheResolver: the queue asks a policy runner for its configuration
// when it starts, keeps what arrives meanwhile (answering stats as configuring), ignores an answer
// to a request it did not make last, and starts no session before its configuration.
func TestQueueUnitConfiguresThroughTheResolver(t *testing.T) {
	r := queueUnitStart(t)
	req := r.resolveRequest(t)
	if req.Gen != 1 {
		t.Fatalf("first resolveQueue has gen %d, want 1", req.Gen)
	}
	if sent, pids := fakeSentOf[resolveQueue](r.send); len(sent) != 1 || !pids[0].Equals(r.runner.pid) {
		t.Fatalf("resolveQueue sent %d times (to %v), want once, to the runner the Resolvers port picked", len(sent), pids)
	}

	a := r.fresh(1)
	r.insert(t, a)
	st := r.stats(t)
	if !st.Configuring || st.Scheduled != 1 || st.Ready != 0 || st.InFlight != 0 || st.Attempts[0] != 1 {
		t.Fatalf("stats while configuring: %+v; want configuring, the message scheduled", st)
	}
	if arrived, _ := r.home.counts(); arrived != 1 {
		t.Fatalf("QueueHome.Arrived counted %d, want 1", arrived)
	}
	if n := r.ports.Inserts.InUse(); n != 0 {
		t.Fatalf("%d insert credits still taken after the insert arrived", n)
	}

	// An answer to another request (an older generation) changes nothing.
	r.e.Send(r.pid, queueResolved{Queue: queueUnitName, Gen: req.Gen + 7, Config: queueUnitConfig(), Session: queueUnitInfo()})
	if st := r.stats(t); !st.Configuring || st.Scheduled != 1 {
		t.Fatalf("stats after a stale answer: %+v; want still configuring", st)
	}
	if n := r.sessions.count(); n != 0 {
		t.Fatalf("%d sessions started before the configuration arrived", n)
	}
	if ops := r.store.all(); len(ops) != 0 {
		t.Fatalf("spool requests while configuring: %+v", ops)
	}

	r.resolved(req, "", breaker.Config{})
	fs := r.sessions.next(t)
	if fs.Spec.Session != 1 || !fs.Spec.QueuePID.Equals(r.pid) || fs.Spec.Info.Site != queueUnitInfo().Site ||
		fs.Spec.Info.Constructor != "make" || fs.Spec.Info.Queue != queueUnitName {
		t.Fatalf("session started with %+v", fs.Spec)
	}
	queueUnitWork(t, fs, 1, 0, true, a)
	st = r.stats(t)
	if st.Configuring || !st.Deliverable || st.Site != queueUnitInfo().Site || st.InFlight != 1 || st.Sessions != 1 ||
		st.Gate != "flowing" {
		t.Fatalf("stats once configured: %+v; want deliverable, one message in flight in one session", st)
	}
}

// TestQueueUnitDeliversAndRetries: a fresh message goes to a session with its body (no Load); a
// delivery deletes it from the spool; a transient failure updates it with attempts+1 and the due
// time of the retry schedule, and the retry starts a session when the fake clock reaches it.
func TestQueueUnitDeliversAndRetries(t *testing.T) {
	r := queueUnitStart(t)
	r.resolved(r.resolveRequest(t), "", breaker.Config{})
	a, b := r.fresh(1), r.fresh(2)

	r.insert(t, a)
	s1 := r.sessions.next(t)
	queueUnitWork(t, s1, 1, 0, true, a)
	if n := r.ports.Bodies.InUse(); n != len(a.Body)+len(a.Meta) {
		t.Fatalf("fresh bodies budget in use %d, want %d while the first attempt runs", n, len(a.Body)+len(a.Meta))
	}

	// Delivered: the message leaves the spool, and its body the budget.
	r.done(1, false, queueUnitResult(a, wire.Disposition_DISPOSITION_DELIVERED))
	st := r.stats(t)
	if st.Delivered != 1 || st.InFlight != 0 || st.Scheduled != 0 {
		t.Fatalf("stats after the delivery: %+v", st)
	}
	if ops := r.store.all(); len(ops) != 1 || ops[0].Op != "delete" || ops[0].ID != queueUnitID(a) {
		t.Fatalf("spool requests after the delivery: %+v; want one Delete of %x", ops, a.Id)
	}
	if n := r.ports.Bodies.InUse(); n != 0 {
		t.Fatalf("fresh bodies budget in use %d after the first attempt", n)
	}

	// The session is idle: the next message goes to it, not to a new one.
	r.insert(t, b)
	queueUnitWork(t, s1, 1, 0, true, b)

	// A transient failure (and the session closes): retried after retry_interval (1m, jitter 0).
	r.done(1, true, queueUnitResult(b, wire.Disposition_DISPOSITION_TRANSIENT))
	st = r.stats(t)
	if st.Transient != 1 || st.Scheduled != 1 || st.Sessions != 0 {
		t.Fatalf("stats after the failure: %+v; want the message scheduled again, no session", st)
	}
	ops := r.store.all()
	if want := (fakeStoreOp{Op: "update", ID: queueUnitID(b), Attempts: 1, Due: fakeT0.Add(time.Minute)}); len(ops) != 2 ||
		ops[1].Op != want.Op || ops[1].ID != want.ID || ops[1].Attempts != want.Attempts || !ops[1].Due.Equal(want.Due) {
		t.Fatalf("spool requests after the failure: %+v; want then %+v", ops, want)
	}

	// Not due before its time...
	r.clock.Advance(time.Minute - time.Second)
	if st := r.stats(t); st.Scheduled != 1 || st.Sessions != 0 || r.sessions.count() != 1 {
		t.Fatalf("stats a second before the retry: %+v, %d sessions started", st, r.sessions.count())
	}
	// ...and handed to a new session at it, without its body this time (the session reads it back).
	r.clock.Advance(time.Second)
	s2 := r.sessions.next(t)
	if s2.Spec.Session != 2 {
		t.Fatalf("the retry went to session %d, want a new one (2)", s2.Spec.Session)
	}
	w := queueUnitWork(t, s2, 2, 1, false, b)
	if due := dueTime(w.Batch[0].Due); !due.Equal(fakeT0.Add(time.Minute)) {
		t.Fatalf("retried message due %v, want %v", due, fakeT0.Add(time.Minute))
	}

	// A second failure doubles the delay: due 2m after the failure.
	r.done(2, false, queueUnitResult(b, wire.Disposition_DISPOSITION_TRANSIENT))
	r.stats(t)
	ops = r.store.all()
	last := ops[len(ops)-1]
	if len(ops) != 3 || last.Op != "update" || last.ID != queueUnitID(b) || last.Attempts != 2 ||
		!last.Due.Equal(fakeT0.Add(3*time.Minute)) {
		t.Fatalf("spool requests after the second failure: %+v; want an Update to attempts 2 due %v", ops, fakeT0.Add(3*time.Minute))
	}
	if st := r.stats(t); st.Transient != 2 || st.Attempts[2] != 1 {
		t.Fatalf("stats after the second failure: %+v", st)
	}
}

// TestQueueUnitFailedConfiguration: when get_queue_config fails, the queue still takes its
// messages, on the default schedule and unable to deliver: each due message gets a
// TransientFailure record from the recorder and is retried in 20 minutes; the configuration is
// asked for again a minute later.
func TestQueueUnitFailedConfiguration(t *testing.T) {
	r := queueUnitStart(t)
	req := r.resolveRequest(t)
	a := r.fresh(1)
	r.insert(t, a)
	r.e.Send(r.pid, queueResolved{Queue: queueUnitName, Gen: req.Gen, Err: "boom"})

	w, _ := fakeExpect[recordWork](t, r.recorder, "recordWork")
	if w.Type != message.TransientFailure || w.Response.Code != 400 || w.Delete || len(w.Items) != 1 ||
		w.Items[0].ID != queueUnitID(a) || !bytes.Equal(w.Items[0].Body, a.Body) {
		t.Fatalf("record work %+v; want a TransientFailure of the message, with its body, kept in the spool", w)
	}
	st := r.stats(t)
	if st.Configuring || st.Deliverable || st.Problem == "" || st.Scheduled != 1 {
		t.Fatalf("stats after a failed configuration: %+v", st)
	}
	ops := r.store.all()
	if len(ops) != 1 || ops[0].Op != "update" || ops[0].Attempts != 1 || !ops[0].Due.Equal(fakeT0.Add(queue.DefaultRetryInterval)) {
		t.Fatalf("spool requests: %+v; want an Update to attempts 1 due in %v", ops, queue.DefaultRetryInterval)
	}
	if n := r.sessions.count(); n != 0 {
		t.Fatalf("%d sessions started without a configuration", n)
	}

	r.clock.Advance(configRetry)
	again := r.resolveRequest(t)
	if again.Gen != req.Gen+1 {
		t.Fatalf("the retried resolveQueue has gen %d, want %d", again.Gen, req.Gen+1)
	}
}

// TestQueueUnitDestination: the queue subscribes to its destination through the Destinations
// port, reports each batch's outcome, holds after a failure until the destination's verdict on it,
// follows the broadcast gate, and sends the probe once the destination grants it.
func TestQueueUnitDestination(t *testing.T) {
	const key = "make unspecified->example.com@lua:make"
	bc := breaker.Config{Failures: 3, OpenFor: 30 * time.Second}
	r := queueUnitStart(t)
	a, b, c := r.fresh(1), r.fresh(2), r.fresh(3)
	r.insert(t, a, b)
	r.resolved(r.resolveRequest(t), key, bc)

	sub, from := fakeExpect[*wire.Subscribe](t, r.dest, "Subscribe")
	if sub.Destination != key || !from.Equals(r.pid) {
		t.Fatalf("Subscribe %+v from %s", sub, from)
	}
	if calls := r.dests.all(); len(calls) != 1 || calls[0].Key != key || calls[0].Cfg != bc {
		t.Fatalf("Destinations.Destination calls %+v; want one, for %q with %+v", calls, key, bc)
	}
	s1 := r.sessions.next(t)
	queueUnitWork(t, s1, 1, 0, true, a) // one session, batches of one: b waits, ready

	// A failure is reported with a sequence number, and the queue holds b until the verdict.
	r.done(1, false, queueUnitResult(a, wire.Disposition_DISPOSITION_TRANSIENT))
	o, from := fakeExpect[*wire.Outcome](t, r.dest, "Outcome")
	if o.Destination != key || o.Answered || o.Probe || o.Seq != 1 || !from.Equals(r.pid) {
		t.Fatalf("Outcome of the failure %+v from %s; want unanswered, seq 1", o, from)
	}
	if st := r.stats(t); st.Gate != "paused" || st.Ready != 1 || st.InFlight != 0 {
		t.Fatalf("stats awaiting the verdict: %+v; want paused with b ready", st)
	}
	s1.Actor.quiet(t, "the queue must hand out nothing before the destination's verdict")

	// The verdict (still closed) lets b go, to the idle session.
	r.e.SendWithSender(r.pid, &wire.Gate{Destination: key, Gate: wire.GateKind_GATE_FLOWING, State: "closed", Answers: 1}, r.dest.pid)
	queueUnitWork(t, s1, 1, 0, true, b)
	r.done(1, false, queueUnitResult(b, wire.Disposition_DISPOSITION_DELIVERED))
	if o, _ := fakeExpect[*wire.Outcome](t, r.dest, "Outcome"); !o.Answered || o.Probe || o.Seq != 0 {
		t.Fatalf("Outcome of the delivery %+v; want answered, no seq", o)
	}

	// The destination opens: a new message waits, ready.
	until := fakeT0.Add(30 * time.Second)
	r.e.SendWithSender(r.pid, &wire.Gate{Destination: key, Gate: wire.GateKind_GATE_PAUSED, Until: dueNanos(until), State: "open"}, r.dest.pid)
	r.insert(t, c)
	if st := r.stats(t); st.Gate != "paused" || st.Breaker != "open" || st.Ready != 1 {
		t.Fatalf("stats while the destination is open: %+v", st)
	}
	// Its body is not kept: the first attempt may be minutes away, and the spool has it.
	if n := r.ports.Bodies.InUse(); n != 0 {
		t.Fatalf("fresh bodies budget in use %d while the destination is open, want 0", n)
	}
	s1.Actor.quiet(t, "the queue must hand out nothing while its destination is open")

	// The open period is over: the queue claims the probe, and waits for it to be granted.
	r.e.SendWithSender(r.pid, &wire.Gate{Destination: key, Gate: wire.GateKind_GATE_PROBE, State: "open"}, r.dest.pid)
	claim, from := fakeExpect[*wire.ClaimProbe](t, r.dest, "ClaimProbe")
	if claim.Destination != key || !from.Equals(r.pid) {
		t.Fatalf("ClaimProbe %+v from %s", claim, from)
	}
	s1.Actor.quiet(t, "the queue must hold its probe until it is granted")
	r.e.SendWithSender(r.pid, &wire.ProbeClaimed{Destination: key, Granted: true}, r.dest.pid)
	queueUnitWork(t, s1, 1, 0, false, c) // without its body: the session reads it back
	r.done(1, false, queueUnitResult(c, wire.Disposition_DISPOSITION_DELIVERED))
	if o, _ := fakeExpect[*wire.Outcome](t, r.dest, "Outcome"); !o.Answered || !o.Probe {
		t.Fatalf("Outcome of the probe %+v; want answered, probe", o)
	}
}

// TestQueueUnitReapsWhenIdle: an empty queue asks its QueueHome to be reaped after its reap
// interval, and stops when the home agrees; it asks for its configuration again every refresh
// interval.
func TestQueueUnitReapsWhenIdle(t *testing.T) {
	r := queueUnitStart(t)
	r.home.mu.Lock()
	r.home.reap = true
	r.home.mu.Unlock()
	events := fakeSpawn(t, r.e, "fake-events", nil)
	r.e.Subscribe(events.pid)
	t.Cleanup(func() { r.e.Unsubscribe(events.pid) })

	req := r.resolveRequest(t)
	r.e.Send(r.pid, queueResolved{Queue: queueUnitName, Gen: req.Gen, Config: queueUnitConfig(), Session: queueUnitInfo(),
		RefreshEvery: 20 * time.Second, ReapInterval: 30 * time.Second})
	a := r.fresh(1)
	r.insert(t, a)
	s1 := r.sessions.next(t)
	queueUnitWork(t, s1, 1, 0, true, a)
	r.done(1, true, queueUnitResult(a, wire.Disposition_DISPOSITION_DELIVERED))
	r.stats(t) // the queue is empty from now (fakeT0): the reap timer runs

	r.clock.Advance(20 * time.Second)
	if again := r.resolveRequest(t); again.Gen != req.Gen+1 {
		t.Fatalf("refresh resolveQueue gen %d, want %d", again.Gen, req.Gen+1)
	}
	r.e.Send(r.pid, queueResolved{Queue: queueUnitName, Gen: req.Gen + 1, Config: queueUnitConfig(), Session: queueUnitInfo(),
		ReapInterval: 30 * time.Second})
	r.clock.Advance(9 * time.Second)
	if _, reaps := r.home.counts(); reaps != 0 {
		t.Fatalf("Reap asked %d times before the reap interval", reaps)
	}
	if st := r.stats(t); st.Scheduled+st.Ready+st.InFlight+st.Sessions != 0 {
		t.Fatalf("stats of the empty queue: %+v", st)
	}
	r.clock.Advance(time.Second)
	events.await(t, "the queue's ActorStoppedEvent", func(env fakeEnvelope) bool {
		ev, ok := env.Msg.(actor.ActorStoppedEvent)
		return ok && ev.PID.Equals(r.pid)
	})
	if _, reaps := r.home.counts(); reaps != 1 {
		t.Fatalf("Reap asked %d times, want once", reaps)
	}
}
