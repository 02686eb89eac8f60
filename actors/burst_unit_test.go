package actors

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/wire"
)

// storedN makes n stored messages whose ids start at first (only their ids matter here).
func storedN(first byte, n int) []*wire.Stored {
	var out []*wire.Stored
	for i := range n {
		id := message.NewIDGen([6]byte{7, 7, 7, 7, 7, first + byte(i)}).New(t0)
		out = append(out, &wire.Stored{Id: id[:]})
	}
	return out
}

func messageIDs(ins *wire.Insert) []byte {
	var out []byte
	for _, s := range ins.Messages {
		out = append(out, s.Id[len(s.Id)-1])
	}
	return out
}

func TestMergeInserts(t *testing.T) {
	qa, qb := actor.NewPID("local", "queue/a"), actor.NewPID("local", "queue/b")
	qa2 := actor.NewPID("local", "queue/a") // the same address, another pointer (as a router may give)
	a1 := &wire.Insert{Queue: "a", Counted: true, Messages: storedN(1, 2)}
	b1 := &wire.Insert{Queue: "b", Counted: true, Messages: storedN(3, 1)}
	a2 := &wire.Insert{Queue: "a", Counted: true, Messages: storedN(4, 1)}
	held := &wire.Insert{Queue: "a", Counted: true, Held: true, Messages: storedN(5, 1)}
	corr := &wire.Insert{Queue: "a", Counted: true, Corr: 9, Messages: storedN(6, 1)}
	a3 := &wire.Insert{Queue: "a", Counted: true, Messages: storedN(7, 1)}
	in := []RoutedInsert{{qa, a1}, {qb, b1}, {qa2, a2}, {qa, held}, {qa, corr}, {qa, a3}}
	before := slices.Clone(a1.Messages)

	out := mergeInserts(in)
	if len(out) != 4 {
		t.Fatalf("merged into %d inserts, want 4 (a, b, a held, a with a correlation id)", len(out))
	}
	if got := messageIDs(out[0].Insert); !slices.Equal(got, []byte{1, 2, 4, 7}) || out[0].Insert.Queue != "a" {
		t.Errorf("queue a's insert holds %v, want the messages of the three plain inserts in order", got)
	}
	if out[1].Insert != b1 || out[2].Insert != held || out[3].Insert != corr {
		t.Errorf("the inserts that merge with nothing must pass unchanged: %+v", out[1:])
	}
	if !slices.Equal(a1.Messages, before) || len(a2.Messages) != 1 {
		t.Error("merging changed an insert it was given")
	}
	n := 0
	for _, r := range out {
		n += len(r.Insert.Messages)
	}
	if n != 7 {
		t.Errorf("%d messages after merging, want all 7", n)
	}
}

func TestMergeInsertsManyQueues(t *testing.T) {
	var in []RoutedInsert
	for round := range 2 {
		for q := range 3 * groupScan {
			name := string(rune('a' + q))
			in = append(in, RoutedInsert{actor.NewPID("local", "queue/"+name),
				&wire.Insert{Queue: name, Messages: storedN(byte(round), 1)}})
		}
	}
	out := mergeInserts(in)
	if len(out) != 3*groupScan {
		t.Fatalf("%d inserts, want one per queue (%d)", len(out), 3*groupScan)
	}
	for i, r := range out {
		if want := string(rune('a' + i)); r.Insert.Queue != want || !slices.Equal(messageIDs(r.Insert), []byte{0, 1}) {
			t.Errorf("insert %d: queue %q with %v, want %q with both rounds' messages", i, r.Insert.Queue, messageIDs(r.Insert), want)
		}
	}
}

// TestAcksSettleABurst answers three requests in one LogDones: the two that succeed release their
// inserts as one insert per queue; the failed one's message is deleted and its route and credits
// given back; every producer is told.
func TestAcksSettleABurst(t *testing.T) {
	send, router, spool := newStubSender(nil), &stubRouter{}, &stubQueueStore{}
	inserts := NewCredits(10)
	if !inserts.TryAcquire(5) {
		t.Fatal("no insert credits")
	}
	a := newAcks(stubEngine(t), send, router, spool, inserts, &Metrics{})
	w1, w2, w3 := a.open(1), a.open(1), a.open(1)
	qa, qb := router.pid("a"), router.pid("b")
	failed := storedN(9, 1)
	a.Send(nil, LogDones{Dones: []LogDone{
		{Corr: w1.corr, Inserts: []RoutedInsert{{qa, &wire.Insert{Queue: "a", Counted: true, Messages: storedN(1, 2)}}}},
		{Corr: w3.corr, Code: wire.Code_CODE_LOW_SPACE, Err: ErrLowSpace.Error(),
			Inserts: []RoutedInsert{{qa, &wire.Insert{Queue: "a", Counted: true, Messages: failed}}}},
		{Corr: w2.corr, Inserts: []RoutedInsert{{qa, &wire.Insert{Queue: "a", Counted: true, Messages: storedN(3, 1)}},
			{qb, &wire.Insert{Queue: "b", Counted: true, Messages: storedN(4, 1)}}}},
	}}, nil)

	ctx := context.Background()
	if err := a.wait(ctx, w1); err != nil {
		t.Errorf("request 1: %v", err)
	}
	if err := a.wait(ctx, w2); err != nil {
		t.Errorf("request 2: %v", err)
	}
	if err := a.wait(ctx, w3); !errors.Is(err, ErrLowSpace) {
		t.Errorf("request 3: %v, want ErrLowSpace", err)
	}
	sent := send.Sent()
	if len(sent) != 2 {
		t.Fatalf("sent %d inserts, want one per queue (2): %+v", len(sent), sent)
	}
	ia, _ := sent[0].Msg.(*wire.Insert)
	ib, _ := sent[1].Msg.(*wire.Insert)
	if ia == nil || !sent[0].PID.Equals(qa) || !slices.Equal(messageIDs(ia), []byte{1, 2, 3}) {
		t.Errorf("queue a got %+v", sent[0])
	}
	if ib == nil || !sent[1].PID.Equals(qb) || !slices.Equal(messageIDs(ib), []byte{4}) {
		t.Errorf("queue b got %+v", sent[1])
	}
	id, _ := spoolID(failed[0].Id)
	if d := spool.Deletes(); len(d) != 1 || d[0] != id {
		t.Errorf("deleted %v, want the failed request's message %v", d, id)
	}
	if _, releases := router.calls(); len(releases) != 1 || releases[0] != (stubRouteCall{"a", 1}) {
		t.Errorf("route releases %v, want the failed message's", releases)
	}
	if !inserts.TryAcquire(6) {
		t.Error("the failed request's insert credit was not given back")
	}
}

// TestHookBurstSharesOneGroup hands a hook three batches at once: their kept messages go to the spool
// as one group, and once it is durable the two waiting producers get one LogDones, while the inserts
// of the batch nobody waits for go straight to their queue.
func TestHookBurstSharesOneGroup(t *testing.T) {
	p, _ := stubPolicy(t, hookUnitPolicy)
	cfg := p.Config().Hooks[0]
	spool, router, send := newStubGroupWriter(), &stubRouter{}, newStubSender(nil)
	spool.hold = true
	intake := NewCredits(cfg.BackPressure)
	h := newHookActor(cfg, &hookCounts{}, HookPorts{Policies: stubPoliciesOf(p), Spool: spool, Router: router, Send: send,
		Intake: intake, Inserts: NewCredits(100), IDs: message.NewIDGen([6]byte{9, 9, 9, 9, 9, 9}), Clock: clock.NewFake(t0),
		Metrics: &Metrics{}, Log: stubLogger(), Ctx: context.Background()})
	reply := actor.NewPID("local", "stub/reply")
	recs := hookUnitRecords() // a Delivery, a Reception (dropped), a TransientFailure, a Bounce
	if !intake.TryAcquire(len(recs)) {
		t.Fatal("no back_pressure credits")
	}
	h.Receive(nil, []actor.Envelope{{Msg: actor.Started{}}})
	defer h.Receive(nil, []actor.Envelope{{Msg: actor.Stopped{}}})
	h.Receive(nil, []actor.Envelope{
		{Msg: LogBatch{Records: recs[0:2], Corr: 1, Reply: reply}},
		{Msg: LogBatch{Records: recs[2:3], Corr: 2, Reply: reply}},
		{Msg: LogBatch{Records: recs[3:4]}},
	})

	groups := spool.Groups()
	if len(groups) != 1 {
		t.Fatalf("%d spool groups, want the burst's one", len(groups))
	}
	var queues []string
	for _, e := range groups[0].Entries {
		queues = append(queues, e.Queue)
	}
	if !slices.Equal(queues, []string{"unit.webhook", "unit.webhook", "bounces"}) {
		t.Fatalf("the group holds %v, want the three kept records in order", queues)
	}
	if s := send.Sent(); len(s) != 0 {
		t.Fatalf("sent %+v before the group was durable", s)
	}
	groups[0].finish(nil)

	sent := send.Sent()
	if len(sent) != 2 {
		t.Fatalf("sent %d messages, want the unwaited batch's insert and one LogDones: %+v", len(sent), sent)
	}
	if ins, ok := sent[0].Msg.(*wire.Insert); !ok || ins.Queue != "bounces" || len(ins.Messages) != 1 {
		t.Errorf("first send %+v, want the bounce's insert", sent[0])
	}
	dones, ok := sent[1].Msg.(LogDones)
	if !ok || !sent[1].PID.Equals(reply) {
		t.Fatalf("second send %T to %v, want LogDones to the producer", sent[1].Msg, sent[1].PID)
	}
	if len(dones.Dones) != 2 || dones.Dones[0].Corr != 1 || dones.Dones[1].Corr != 2 {
		t.Fatalf("LogDones %+v, want the answers of requests 1 and 2", dones)
	}
	for _, d := range dones.Dones {
		if d.Code != wire.Code_CODE_OK || len(d.Inserts) != 1 || len(d.Inserts[0].Insert.Messages) != 1 {
			t.Errorf("answer %d: %+v, want OK with its one message's insert", d.Corr, d)
		}
	}
}

// TestHookBurstFailsTogether: when the burst's group fails, every batch of it is answered with the
// error and gives back its routes and credits.
func TestHookBurstFailsTogether(t *testing.T) {
	p, _ := stubPolicy(t, hookUnitPolicy)
	cfg := p.Config().Hooks[0]
	spool, router, send := newStubGroupWriter(), &stubRouter{}, newStubSender(nil)
	spool.err = ErrLowSpace
	inserts := NewCredits(3)
	h := newHookActor(cfg, &hookCounts{}, HookPorts{Policies: stubPoliciesOf(p), Spool: spool, Router: router, Send: send,
		Intake: NewCredits(cfg.BackPressure), Inserts: inserts, IDs: message.NewIDGen([6]byte{9, 9, 9, 9, 9, 9}),
		Clock: clock.NewFake(t0), Metrics: &Metrics{}, Log: stubLogger(), Ctx: context.Background()})
	reply := actor.NewPID("local", "stub/reply")
	recs := hookUnitRecords()
	h.Receive(nil, []actor.Envelope{{Msg: actor.Started{}}})
	defer h.Receive(nil, []actor.Envelope{{Msg: actor.Stopped{}}})
	h.Receive(nil, []actor.Envelope{
		{Msg: LogBatch{Records: recs[0:1], Corr: 1, Reply: reply}},
		{Msg: LogBatch{Records: recs[2:4], Corr: 2, Reply: reply}},
	})
	sent := send.Sent()
	if len(sent) != 1 {
		t.Fatalf("sent %d messages, want one LogDones", len(sent))
	}
	dones, ok := sent[0].Msg.(LogDones)
	if !ok || len(dones.Dones) != 2 {
		t.Fatalf("sent %+v, want LogDones for both requests", sent[0].Msg)
	}
	for _, d := range dones.Dones {
		if d.Code != wire.Code_CODE_LOW_SPACE || len(d.Inserts) != 0 {
			t.Errorf("answer %d: %+v, want CODE_LOW_SPACE and no inserts", d.Corr, d)
		}
	}
	if !inserts.TryAcquire(3) {
		t.Error("the burst's insert credits were not given back")
	}
	routes, releases := router.calls()
	if len(routes) != 3 || len(releases) != 3 {
		t.Errorf("%d routes and %d releases, want every route given back", len(routes), len(releases))
	}
}

// TestCommitOfBoundsAGroup: a burst's parts share a group only while it stays within the spool's
// bounds; a part alone is always a commit of its own (the spool refuses it if it is too large).
func TestCommitOfBoundsAGroup(t *testing.T) {
	big := func(bodySize, entries int) *part {
		p := &part{}
		body := make([]byte, bodySize)
		for range entries {
			p.g.entries = append(p.g.entries, &persistence.Entry{Queue: "q", Body: body})
		}
		return p
	}
	cases := []struct {
		name  string
		parts []*part
		want  int
	}{
		{"small parts share", []*part{big(100, 1), big(100, 2), big(100, 1)}, 3},
		{"bytes", []*part{big(persistence.MaxGroupBytes/2, 1), big(persistence.MaxGroupBytes/2, 1), big(1, 1)}, 1},
		{"entries", []*part{big(1, persistence.MaxGroupEntries/2+1), big(1, persistence.MaxGroupEntries/2), big(1, 1)}, 1},
		{"one too large alone", []*part{big(persistence.MaxGroupBytes+1, 1), big(1, 1)}, 1},
	}
	for _, c := range cases {
		n, entries := commitOf(c.parts)
		want := 0
		for _, p := range c.parts[:c.want] {
			want += len(p.g.entries)
		}
		if n != c.want || len(entries) != want {
			t.Errorf("%s: %d parts with %d entries, want %d with %d", c.name, n, len(entries), c.want, want)
		}
	}
}
