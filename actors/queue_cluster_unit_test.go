package actors

import (
	"bytes"
	"testing"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/breaker"
	"github.com/hookd/hookd/wire"
)

// queueClusterStart is queueUnitStart on a cluster member: the queue's owners and the router its
// messages go back to when the queue moves are fakes.
func queueClusterStart(t *testing.T, owners *fakeOwners) (*queueUnitRig, *relayRouter) {
	t.Helper()
	relay := &relayRouter{}
	r := queueUnitStartWith(t, func(p *QueuePorts) { p.Owners, p.Relay = owners, relay })
	return r, relay
}

// relayRouter is a stubRouter whose queues are forwarders elsewhere (never the queue under test,
// which the cluster's router takes out of its directory when it retires it).
type relayRouter struct{ stubRouter }

func (r *relayRouter) forwarder(name string) *actor.PID {
	return actor.NewPID("local", "forward/"+name)
}

func (r *relayRouter) Recover(name string, n int) (*actor.PID, error) {
	_, _ = r.stubRouter.Recover(name, n)
	return r.forwarder(name), nil
}

// relayed are the inserts the queue sent back through the router, in order.
func relayed(r *queueUnitRig, relay *relayRouter) []*wire.Insert {
	ins, pids := fakeSentOf[*wire.Insert](r.send)
	var out []*wire.Insert
	for i, m := range ins {
		if pids[i].Equals(relay.forwarder(queueUnitName)) {
			out = append(out, m)
		}
	}
	return out
}

// A queue whose owner changed while a batch is out starts nothing more, hands over what it holds at
// once (fresh bodies included), hands over the batch's message once it comes back, and only then
// says it is fenced.
func TestQueueUnitRetiredFencesThenHandsOver(t *testing.T) {
	r, relay := queueClusterStart(t, &fakeOwners{owns: true, may: true})
	r.resolved(r.resolveRequest(t), "", breaker.Config{})
	a, b := r.fresh(1), r.fresh(2)
	r.insert(t, a, b)
	s1 := r.sessions.next(t)
	queueUnitWork(t, s1, 1, 0, true, a) // connection_limit 1, batches of 1: b waits

	r.e.Send(r.pid, retireQueue{})
	r.stats(t)
	got := relayed(r, relay)
	if len(got) != 1 || len(got[0].Messages) != 1 || !bytes.Equal(got[0].Messages[0].Id, b.Id) ||
		!bytes.Equal(got[0].Messages[0].Body, b.Body) {
		t.Fatalf("relayed %+v, want b with its body", got)
	}
	r.home.mu.Lock()
	fenced := r.home.fenced
	r.home.reap = true
	r.home.mu.Unlock()
	if fenced != 0 {
		t.Fatal("fenced while a batch is still out")
	}
	r.done(1, false, queueUnitResult(a, wire.Disposition_DISPOSITION_TRANSIENT))
	eventually(t, "a handed over after its attempt", func() bool { return len(relayed(r, relay)) == 2 })
	last := relayed(r, relay)[1]
	if len(last.Messages) != 1 || !bytes.Equal(last.Messages[0].Id, a.Id) || last.Messages[0].Attempts != 1 {
		t.Fatalf("relayed %+v, want a with one attempt", last)
	}
	eventually(t, "fenced once no session is left", func() bool {
		r.home.mu.Lock()
		defer r.home.mu.Unlock()
		return r.home.fenced == 1
	})
	if n := r.sessions.count(); n != 1 {
		t.Fatalf("%d sessions started; a retired queue starts none", n)
	}
	for _, op := range r.store.all() {
		if op.Op == "delete" {
			t.Fatalf("a retired queue deleted %v: what it hands over stays in the spool", op.ID)
		}
	}
}

// A queue gained from a member that has not released it yet holds its messages until MayDeliver.
func TestQueueUnitGainedQueueWaitsForRelease(t *testing.T) {
	owners := &fakeOwners{owns: true, may: false}
	r, _ := queueClusterStart(t, owners)
	r.resolved(r.resolveRequest(t), "", breaker.Config{})
	a := r.fresh(1)
	r.insert(t, a)
	if st := r.stats(t); st.Ready+st.Scheduled != 1 || r.sessions.count() != 0 {
		t.Fatalf("stats %+v, %d sessions: want the message held, no session", st, r.sessions.count())
	}
	owners.mu.Lock()
	owners.may = true
	owners.mu.Unlock()
	r.e.Send(r.pid, ownerChanged{})
	queueUnitWork(t, r.sessions.next(t), 1, 0, true, a)
}
