package actors

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/wire"
)

// fakeOwners is the Owners port: the test says whether this member owns the queue, and who else does.
type fakeOwners struct {
	mu    sync.Mutex
	owns  bool
	may   bool
	owner *actor.PID
	epoch uint64
}

func (o *fakeOwners) Owns(string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.owns
}

func (o *fakeOwners) MayDeliver(string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.may
}

func (o *fakeOwners) Owner(string) (*actor.PID, uint64, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.owner, o.epoch, o.owner != nil && !o.owns
}

func (o *fakeOwners) Changed() <-chan struct{} { return nil }

func (o *fakeOwners) Member(string) (uint64, bool) { return 1, true }

func (o *fakeOwners) set(owns bool, owner *actor.PID) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.owns, o.owner = owns, owner
}

// forwardRig is a forwarder on a loop with fake ports; owner stands for the owning member's
// handover receiver and answers each Handover with the next code of codes (OK once exhausted).
type forwardRig struct {
	e       *actor.Engine
	pid     *actor.PID
	owner   *fakeActor
	owners  *fakeOwners
	router  *stubRouter
	loader  *stubLoader
	store   *stubQueueStore
	home    *fakeHome
	send    *stubSender
	clock   *clock.Fake
	metrics *Metrics
	inserts *Credits

	mu    sync.Mutex
	codes []wire.Code
}

func forwardStart(t *testing.T, stored ...*persistence.Entry) *forwardRig {
	t.Helper()
	e := stubEngine(t)
	r := &forwardRig{e: e, router: &stubRouter{}, loader: newStubLoader(stored...), store: &stubQueueStore{},
		home: &fakeHome{}, send: newStubSender(e), clock: clock.NewFake(t0), metrics: &Metrics{},
		inserts: NewCredits(100)}
	r.owner = fakeSpawn(t, e, "owner", func(c *actor.Context) {
		if _, ok := c.Message().(*wire.Handover); ok {
			r.mu.Lock()
			code := wire.Code_CODE_OK
			if len(r.codes) > 0 {
				code, r.codes = r.codes[0], r.codes[1:]
			}
			r.mu.Unlock()
			c.Respond(&wire.HandoverDone{Code: code})
		}
	})
	r.owners = &fakeOwners{owner: r.owner.pid, epoch: 7}
	p := ForwardPorts{Home: r.home, Owners: r.owners, Router: r.router, Loader: r.loader, Store: r.store,
		Inserts: r.inserts, Metrics: r.metrics, Send: r.send, Clock: r.clock, Log: stubLogger(), Self: "m1",
		Timeout: 5 * time.Second, Reachable: func(string, bool) bool { return true }}
	r.pid = stubStartLoop(t, e, "forward", "unit.webhook#1", newForwarder("unit.webhook", p)).pid
	return r
}

func (r *forwardRig) answer(codes ...wire.Code) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.codes = append(r.codes, codes...)
}

func stored(e *persistence.Entry, attempts uint16, due time.Time, withBody bool) *wire.Stored {
	id := e.ID
	s := &wire.Stored{Id: id[:], Attempts: uint32(attempts), Due: dueNanos(due)}
	if withBody {
		s.Meta, s.Body = e.Meta, e.Body
	}
	return s
}

func TestForwarderUnitHandsOverThenDeletes(t *testing.T) {
	ids := message.NewIDGen([6]byte{6, 6, 6, 6, 6, 6})
	_, a := stubMessage(t, ids, t0, "unit.webhook", "fresh, held by the queue\n")
	_, b := stubMessage(t, ids, t0, "unit.webhook", "read back from the spool\n")
	r := forwardStart(t, b)
	r.inserts.TryAcquire(2)
	due := t0.Add(20 * time.Minute)
	r.e.Send(r.pid, &wire.Insert{Queue: "unit.webhook", Counted: true,
		Messages: []*wire.Stored{stored(a, 0, time.Time{}, true), stored(b, 3, due, false)}})

	h, from := fakeExpect[*wire.Handover](t, r.owner, "the handover")
	if h.Queue != "unit.webhook" || h.Epoch != 7 || h.From != "m1" || len(h.Messages) != 2 || from == nil {
		t.Fatalf("handover %+v from %v", h, from)
	}
	for i, want := range []*persistence.Entry{a, b} {
		got := h.Messages[i]
		if !bytes.Equal(got.Body, want.Body) || !bytes.Equal(got.Meta, want.Meta) {
			t.Errorf("message %d travels with body %q, want %q", i, got.Body, want.Body)
		}
	}
	if h.Messages[1].Attempts != 3 || !dueTime(h.Messages[1].Due).Equal(due) {
		t.Errorf("attempts %d due %v, want 3 due %v", h.Messages[1].Attempts, dueTime(h.Messages[1].Due), due)
	}
	if loads := r.loader.Loads(); len(loads) != 1 || loads[0] != b.ID {
		t.Errorf("loads %v, want only the message without its body", loads)
	}
	eventually(t, "both deleted here", func() bool { return len(r.store.Deletes()) == 2 })
	if got := r.metrics.Forwarded.Load(); got != 2 {
		t.Errorf("forwarded %d, want 2", got)
	}
	if q := r.metrics.Queued.Load(); q != -2 {
		t.Errorf("queued moved by %d, want -2 (the owner counts them now)", q)
	}
	if arrived, _ := r.home.counts(); arrived != 2 {
		t.Errorf("arrivals %d, want 2", arrived)
	}
	if n := r.inserts.InUse(); n != 0 {
		t.Errorf("%d insert credits still in use: a forwarder gives them back on arrival", n)
	}
}

func TestForwarderUnitRefusedKeepsAndRetries(t *testing.T) {
	ids := message.NewIDGen([6]byte{6, 6, 6, 6, 6, 7})
	_, a := stubMessage(t, ids, t0, "unit.webhook", "one\n")
	r := forwardStart(t)
	r.answer(wire.Code_CODE_NOT_OWNER, wire.Code_CODE_QUEUE_FULL)
	r.e.Send(r.pid, &wire.Insert{Queue: "unit.webhook", Messages: []*wire.Stored{stored(a, 1, time.Time{}, true)}})
	fakeExpect[*wire.Handover](t, r.owner, "the first handover")
	r.owner.quiet(t, "no second try before the retry time")
	if n := len(r.store.Deletes()); n != 0 {
		t.Fatalf("%d deletes after a refused handover", n)
	}
	for _, what := range []string{"the retry", "the second retry"} {
		// the idle timer armed at start, and the retry timer
		eventually(t, "the retry timer is armed", func() bool { return r.clock.Pending() == 2 })
		r.clock.Advance(handoverRetry)
		fakeExpect[*wire.Handover](t, r.owner, what)
	}
	eventually(t, "deleted once the owner has it", func() bool { return len(r.store.Deletes()) == 1 })
}

func TestForwarderUnitHeldAndChunks(t *testing.T) {
	ids := message.NewIDGen([6]byte{6, 6, 6, 6, 6, 8})
	var msgs []*wire.Stored
	for range handoverMessages + 10 {
		_, e := stubMessage(t, ids, t0, "unit.webhook", "x\n")
		msgs = append(msgs, stored(e, 0, time.Time{}, true))
	}
	r := forwardStart(t)
	r.e.Send(r.pid, &wire.Insert{Queue: "unit.webhook", Held: true, Messages: msgs})
	first, _ := fakeExpect[*wire.Handover](t, r.owner, "the first handover")
	second, _ := fakeExpect[*wire.Handover](t, r.owner, "the second handover")
	if len(first.Messages) != handoverMessages || len(second.Messages) != 10 {
		t.Fatalf("handovers of %d and %d messages, want %d and 10", len(first.Messages), len(second.Messages),
			handoverMessages)
	}
	eventually(t, "all handed over", func() bool { return r.metrics.Forwarded.Load() == uint64(len(msgs)) })
	if n := len(r.store.Deletes()); n != 0 {
		t.Errorf("%d deletes of deferred messages, which the spool never held", n)
	}
}

func TestForwarderUnitOwnedAgainRelaysHome(t *testing.T) {
	ids := message.NewIDGen([6]byte{6, 6, 6, 6, 6, 9})
	_, a := stubMessage(t, ids, t0, "unit.webhook", "one\n")
	r := forwardStart(t)
	r.owners.set(false, nil) // no owner known yet: the forwarder waits
	r.e.Send(r.pid, &wire.Insert{Queue: "unit.webhook", Messages: []*wire.Stored{stored(a, 2, time.Time{}, false)}})
	r.owner.quiet(t, "nothing sent while no owner is known")
	r.owners.set(true, nil) // this member owns the queue now
	r.e.Send(r.pid, retireForward{})
	sent := stubWait(t, r.send.ch, "the relay home")
	for {
		if ins, ok := sent.Msg.(*wire.Insert); ok {
			if len(ins.Messages) != 1 || ins.Messages[0].Attempts != 2 || !bytes.Equal(ins.Messages[0].Id, a.ID[:]) {
				t.Fatalf("relayed %+v", ins)
			}
			break
		}
		sent = stubWait(t, r.send.ch, "the relay home")
	}
	r.router.mu.Lock()
	recovers := append([]stubRouteCall(nil), r.router.recovers...)
	r.router.mu.Unlock()
	if len(recovers) != 1 || recovers[0] != (stubRouteCall{"unit.webhook", 1}) {
		t.Errorf("Recover calls %v, want one for the queue", recovers)
	}
	if n := len(r.store.Deletes()); n != 0 {
		t.Errorf("%d deletes: relayed messages stay in this member's spool", n)
	}
}

// handoverRig is the handover receiver on a loop with fake ports.
type handoverRig struct {
	e       *actor.Engine
	pid     *actor.PID
	owners  *fakeOwners
	spool   *stubGroupWriter
	router  *stubRouter
	send    *stubSender
	metrics *Metrics
	refuse  error
}

func handoverStart(t *testing.T) *handoverRig {
	t.Helper()
	e := stubEngine(t)
	r := &handoverRig{e: e, owners: &fakeOwners{owns: true}, spool: newStubGroupWriter(), router: &stubRouter{},
		send: newStubSender(nil), metrics: &Metrics{}}
	p := HandoverPorts{Owners: r.owners, Spool: r.spool, Router: r.router, Send: r.send, Metrics: r.metrics,
		Accepting: func() error { return r.refuse }, Has: r.spool.has, Log: stubLogger()}
	r.pid = stubStartLoop(t, e, HandoverKind, HandoverID, &handoverReceiver{p: p}).pid
	return r
}

func (r *handoverRig) hand(t *testing.T, h *wire.Handover) *wire.HandoverDone {
	t.Helper()
	res, err := r.e.Request(r.pid, h, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	done, ok := res.(*wire.HandoverDone)
	if !ok {
		t.Fatalf("answer %T", res)
	}
	return done
}

func TestHandoverUnitDurableThenQueued(t *testing.T) {
	ids := message.NewIDGen([6]byte{7, 7, 7, 7, 7, 7})
	_, a := stubMessage(t, ids, t0, "unit.webhook", "one\n")
	due := t0.Add(time.Hour)
	r := handoverStart(t)
	done := r.hand(t, &wire.Handover{Queue: "unit.webhook", Epoch: 3, From: "m2",
		Messages: []*wire.Stored{stored(a, 4, due, true)}})
	if done.Code != wire.Code_CODE_OK || done.Queue != "unit.webhook" || done.Epoch != 3 {
		t.Fatalf("answer %+v", done)
	}
	gs := r.spool.Groups()
	if len(gs) != 1 || len(gs[0].Entries) != 1 {
		t.Fatalf("groups %+v", gs)
	}
	if e := gs[0].Entries[0]; e.ID != a.ID || e.Attempts != 4 || !e.Due.Equal(due) || e.Queue != "unit.webhook" ||
		!bytes.Equal(e.Body, a.Body) {
		t.Fatalf("spooled %+v, want the message as handed over (id, attempts, due kept)", e)
	}
	sent := stubWait(t, r.send.ch, "the insert")
	ins, ok := sent.Msg.(*wire.Insert)
	if !ok || len(ins.Messages) != 1 || !sent.PID.Equals(r.router.pid("unit.webhook")) {
		t.Fatalf("sent %T %+v to %v", sent.Msg, sent.Msg, sent.PID)
	}
	if r.metrics.Queued.Load() != 1 || r.metrics.HandedIn.Load() != 1 {
		t.Errorf("queued %d handed in %d, want 1 and 1", r.metrics.Queued.Load(), r.metrics.HandedIn.Load())
	}
}

// A handover repeated because its answer was lost: what this member holds already is neither
// stored nor queued again (it would be delivered twice); the rest of the handover is.
func TestHandoverUnitRepeatedHandover(t *testing.T) {
	ids := message.NewIDGen([6]byte{7, 7, 7, 7, 7, 9})
	_, a := stubMessage(t, ids, t0, "unit.webhook", "one\n")
	_, b := stubMessage(t, ids, t0, "unit.webhook", "two\n")
	r := handoverStart(t)
	first := &wire.Handover{Queue: "unit.webhook", Messages: []*wire.Stored{stored(a, 1, time.Time{}, true)}}
	if done := r.hand(t, first); done.Code != wire.Code_CODE_OK {
		t.Fatalf("first handover: %+v", done)
	}
	stubWait(t, r.send.ch, "the first insert")
	again := &wire.Handover{Queue: "unit.webhook",
		Messages: []*wire.Stored{stored(a, 1, time.Time{}, true), stored(b, 0, time.Time{}, true)}}
	if done := r.hand(t, again); done.Code != wire.Code_CODE_OK {
		t.Fatalf("the handover again, with one more message: %+v", done)
	}
	sent := stubWait(t, r.send.ch, "the second insert")
	ins, ok := sent.Msg.(*wire.Insert)
	if !ok || len(ins.Messages) != 1 || !bytes.Equal(ins.Messages[0].Id, b.ID[:]) {
		t.Fatalf("second insert %+v; want only the message not handed over before", sent.Msg)
	}
	if gs := r.spool.Groups(); len(gs) != 2 || len(gs[1].Entries) != 1 || gs[1].Entries[0].ID != b.ID {
		t.Fatalf("groups %+v; want the second to hold only the new message", gs)
	}
	if done := r.hand(t, first); done.Code != wire.Code_CODE_OK {
		t.Fatalf("a third time: %+v", done)
	}
	if gs, sent := r.spool.Groups(), r.send.Sent(); len(gs) != 2 || len(sent) != 2 {
		t.Errorf("a handover of messages all held already wrote %d groups and sent %d inserts; want none more",
			len(gs)-2, len(sent)-2)
	}
	if q, in, again := r.metrics.Queued.Load(), r.metrics.HandedIn.Load(), r.metrics.HandedAgain.Load(); q != 2 || in != 2 || again != 2 {
		t.Errorf("queued %d, handed in %d, handed again %d; want 2, 2, 2", q, in, again)
	}
}

func TestHandoverUnitRefusals(t *testing.T) {
	ids := message.NewIDGen([6]byte{7, 7, 7, 7, 7, 8})
	_, a := stubMessage(t, ids, t0, "unit.webhook", "one\n")
	h := &wire.Handover{Queue: "unit.webhook", Messages: []*wire.Stored{stored(a, 0, time.Time{}, true)}}
	r := handoverStart(t)

	r.owners.set(false, nil)
	if done := r.hand(t, h); done.Code != wire.Code_CODE_NOT_OWNER {
		t.Errorf("not the owner: %+v", done)
	}
	r.owners.set(true, nil)
	r.refuse = ErrQueueFull
	if done := r.hand(t, h); done.Code != wire.Code_CODE_QUEUE_FULL {
		t.Errorf("full: %+v", done)
	}
	r.refuse = nil
	r.spool.err = fmt.Errorf("spooling: %w", ErrLowSpace)
	if done := r.hand(t, h); done.Code != wire.Code_CODE_LOW_SPACE {
		t.Errorf("spool refused: %+v", done)
	}
	if sent := r.send.Sent(); len(sent) != 0 {
		t.Errorf("refused handovers reached a queue: %+v", sent)
	}
	if r.metrics.Queued.Load() != 0 {
		t.Errorf("queued %d after refusals", r.metrics.Queued.Load())
	}
}
