package actors

import (
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/breaker"
	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/wire"
)

// The destination actor driven alone: the test's recording actors play the queues that subscribe,
// report outcomes and claim the probe; time is a clock.Fake whose timer sends through a fakeSender.

const destUnitKey = "make unspecified->example.com@lua:make"

// destUnitRig is one destination actor and two subscribed queues.
type destUnitRig struct {
	e          *actor.Engine
	pid        *actor.PID
	clock      *clock.Fake
	send       *fakeSender
	sub1, sub2 *fakeActor
}

func destUnitStart(t *testing.T, cfg breaker.Config) *destUnitRig {
	t.Helper()
	e := fakeEngine(t)
	r := &destUnitRig{e: e, clock: clock.NewFake(fakeT0), send: &fakeSender{e: e}}
	r.sub1 = fakeSpawn(t, e, "fake-queue", nil)
	r.sub2 = fakeSpawn(t, e, "fake-queue", nil)
	clk, send := r.clock, r.send
	pool := newActorPool(1)
	a, err := spawnPooled(e, pool, "destination", "unit", newDestinationActor(destUnitKey, cfg, clk, send, fakeLog), fakeLog, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.pid = a.pid
	t.Cleanup(func() {
		a.requestStop()
		<-a.Done()
		pool.close()
	})
	for _, s := range []*fakeActor{r.sub1, r.sub2} {
		r.from(s, &wire.Subscribe{Destination: destUnitKey})
		r.gate(t, s, wire.GateKind_GATE_FLOWING, time.Time{}, "closed", 0)
	}
	return r
}

// from sends msg to the destination as the queue s.
func (r *destUnitRig) from(s *fakeActor, msg any) { r.e.SendWithSender(r.pid, msg, s.pid) }

// gate waits for s's next message and checks it is the gate described.
func (r *destUnitRig) gate(t *testing.T, s *fakeActor, kind wire.GateKind, until time.Time, state string, answers uint64) {
	t.Helper()
	g, from := fakeExpect[*wire.Gate](t, s, "Gate "+kind.String())
	if g.Destination != destUnitKey || g.Gate != kind || g.Until != dueNanos(until) || g.State != state ||
		g.Answers != answers || !from.Equals(r.pid) {
		t.Fatalf("Gate %+v from %s; want %v until %v, state %s, answering %d", g, from, kind, until, state, answers)
	}
}

// claimed waits for s's answer to a ClaimProbe.
func (r *destUnitRig) claimed(t *testing.T, s *fakeActor, granted bool) {
	t.Helper()
	pc, _ := fakeExpect[*wire.ProbeClaimed](t, s, "ProbeClaimed")
	if pc.Destination != destUnitKey || pc.Granted != granted {
		t.Fatalf("ProbeClaimed %+v; want granted=%v", pc, granted)
	}
}

// stats asks the destination for its breaker's state.
func (r *destUnitRig) stats(t *testing.T) BreakerStats {
	t.Helper()
	res, err := r.e.Request(r.pid, breakerStatsRequest{}, fakeWait).Result()
	if err != nil {
		t.Fatalf("breaker stats: %v", err)
	}
	st, ok := res.(BreakerStats)
	if !ok {
		t.Fatalf("breaker stats: got %T", res)
	}
	return st
}

// open reports threshold failures from sub1 and checks that the breaker opens at the last one:
// both subscribers are told, and sub1 gets each verdict it waits for.
func (r *destUnitRig) open(t *testing.T, threshold int, openFor time.Duration) {
	t.Helper()
	now := r.clock.Now()
	for i := 1; i <= threshold; i++ {
		r.from(r.sub1, &wire.Outcome{Destination: destUnitKey, Seq: uint64(i)})
		if i < threshold {
			r.gate(t, r.sub1, wire.GateKind_GATE_FLOWING, time.Time{}, "closed", uint64(i))
		}
	}
	until := now.Add(openFor)
	r.gate(t, r.sub1, wire.GateKind_GATE_PAUSED, until, "open", 0) // the broadcast
	r.gate(t, r.sub1, wire.GateKind_GATE_PAUSED, until, "open", uint64(threshold))
	r.gate(t, r.sub2, wire.GateKind_GATE_PAUSED, until, "open", 0)
}

// TestDestUnitBreaker: failures up to the threshold open the breaker and every subscriber is told;
// the probe is refused while open, granted once after the open period on the fake clock, and a
// good probe closes the breaker.
func TestDestUnitBreaker(t *testing.T) {
	r := destUnitStart(t, breaker.Config{Failures: 3, OpenFor: 30 * time.Second})
	r.open(t, 3, 30*time.Second)
	if st := r.stats(t); st.State != "open" || st.Opened != 1 || st.Closed != 0 || st.Destination != destUnitKey {
		t.Fatalf("breaker stats once open: %+v", st)
	}

	// While open, no probe.
	r.from(r.sub2, &wire.ClaimProbe{Destination: destUnitKey})
	r.claimed(t, r.sub2, false)
	r.clock.Advance(29 * time.Second)
	r.stats(t)
	r.sub1.quiet(t, "nothing changes before the open period ends")
	r.sub2.quiet(t, "nothing changes before the open period ends")

	// The open period ends: the fake clock's timer wakes the destination, which tells everyone.
	r.clock.Advance(time.Second)
	r.gate(t, r.sub1, wire.GateKind_GATE_PROBE, time.Time{}, "open", 0)
	r.gate(t, r.sub2, wire.GateKind_GATE_PROBE, time.Time{}, "open", 0)
	if due, _ := fakeSentOf[gateDue](r.send); len(due) != 1 {
		t.Fatalf("the destination's timer sent %d gateDue, want 1", len(due))
	}

	// One probe: the first claim wins, and the others see it out (paused, looking again in
	// open_for/4); the second claim is refused.
	r.from(r.sub1, &wire.ClaimProbe{Destination: destUnitKey})
	r.claimed(t, r.sub1, true)
	recheck := r.clock.Now().Add(30 * time.Second / 4)
	r.gate(t, r.sub1, wire.GateKind_GATE_PAUSED, recheck, "half-open", 0)
	r.gate(t, r.sub2, wire.GateKind_GATE_PAUSED, recheck, "half-open", 0)
	r.from(r.sub2, &wire.ClaimProbe{Destination: destUnitKey})
	r.claimed(t, r.sub2, false)

	// sub2 leaves; the good probe closes the breaker and the remaining subscriber is told.
	r.from(r.sub2, &wire.Unsubscribe{Destination: destUnitKey})
	r.from(r.sub1, &wire.Outcome{Destination: destUnitKey, Answered: true, Probe: true})
	r.gate(t, r.sub1, wire.GateKind_GATE_FLOWING, time.Time{}, "closed", 0)
	if st := r.stats(t); st.State != "closed" || st.Opened != 1 || st.Closed != 1 {
		t.Fatalf("breaker stats after the good probe: %+v", st)
	}
	r.sub1.quiet(t, "a probe's outcome is answered by the broadcast only")
	r.sub2.quiet(t, "an unsubscribed queue is told nothing")
}

// TestDestUnitFailedProbe: a failed probe opens the breaker again for twice as long; an answered
// outcome while closed resets the failure count.
func TestDestUnitFailedProbe(t *testing.T) {
	r := destUnitStart(t, breaker.Config{Failures: 2, OpenFor: 10 * time.Second})

	// fail, answer, fail: not two consecutive failures.
	r.from(r.sub1, &wire.Outcome{Destination: destUnitKey, Seq: 1})
	r.gate(t, r.sub1, wire.GateKind_GATE_FLOWING, time.Time{}, "closed", 1)
	r.from(r.sub1, &wire.Outcome{Destination: destUnitKey, Answered: true})
	r.from(r.sub1, &wire.Outcome{Destination: destUnitKey, Seq: 2})
	r.gate(t, r.sub1, wire.GateKind_GATE_FLOWING, time.Time{}, "closed", 2)
	if st := r.stats(t); st.State != "closed" {
		t.Fatalf("breaker %s after fail, answer, fail; want closed", st.State)
	}

	r.from(r.sub1, &wire.Outcome{Destination: destUnitKey, Seq: 3})
	r.gate(t, r.sub1, wire.GateKind_GATE_PAUSED, fakeT0.Add(10*time.Second), "open", 0)
	r.gate(t, r.sub1, wire.GateKind_GATE_PAUSED, fakeT0.Add(10*time.Second), "open", 3)
	r.gate(t, r.sub2, wire.GateKind_GATE_PAUSED, fakeT0.Add(10*time.Second), "open", 0)

	r.clock.Advance(10 * time.Second)
	r.gate(t, r.sub1, wire.GateKind_GATE_PROBE, time.Time{}, "open", 0)
	r.gate(t, r.sub2, wire.GateKind_GATE_PROBE, time.Time{}, "open", 0)
	r.from(r.sub2, &wire.ClaimProbe{Destination: destUnitKey})
	r.claimed(t, r.sub2, true)
	recheck := r.clock.Now().Add(2500 * time.Millisecond)
	r.gate(t, r.sub1, wire.GateKind_GATE_PAUSED, recheck, "half-open", 0)
	r.gate(t, r.sub2, wire.GateKind_GATE_PAUSED, recheck, "half-open", 0)

	// The probe fails: open for 20 s now.
	r.from(r.sub2, &wire.Outcome{Destination: destUnitKey, Probe: true, Seq: 1})
	reopened := r.clock.Now().Add(20 * time.Second)
	r.gate(t, r.sub1, wire.GateKind_GATE_PAUSED, reopened, "open", 0)
	r.gate(t, r.sub2, wire.GateKind_GATE_PAUSED, reopened, "open", 0)
	r.gate(t, r.sub2, wire.GateKind_GATE_PAUSED, reopened, "open", 1)
	if st := r.stats(t); st.State != "open" || st.Opened != 2 || st.Closed != 0 {
		t.Fatalf("breaker stats after the failed probe: %+v", st)
	}

	r.clock.Advance(19 * time.Second)
	r.stats(t)
	r.sub1.quiet(t, "the second open period lasts 20 s")
	r.clock.Advance(time.Second)
	r.gate(t, r.sub1, wire.GateKind_GATE_PROBE, time.Time{}, "open", 0)
}
