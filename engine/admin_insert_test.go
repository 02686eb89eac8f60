package engine

import (
	"context"
	"testing"
	"time"

	"github.com/hookd/hookd/admin"
)

// The administrators' rules apply to messages as they enter a queue, before a session can take
// them: a queue made under a suspension delivers nothing, and a bounce added while a queue's
// session is open and idle bounces the next messages instead of handing them to it.
func TestAdminRulesApplyAtInsert(t *testing.T) {
	sink := newClusterSink(t)
	e := singleEngine(t, sink.URL)
	held := "fresh"
	if _, err := e.AdminSuspend(admin.SuspendRequest{Criteria: admin.Criteria{QueueNames: []string{held}},
		Reason: "not yet", Expires: e.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	logTo(t, e, held, 0, 3)
	until(t, "the new queue's 3 messages failed once each by the suspension", func() bool {
		st, ok := localQueue(e, held)
		return ok && st.Suspended == "not yet" && st.Transient >= 3
	})
	if n := len(sink.of(held)); n != 0 {
		t.Fatalf("%d POSTs of a queue made under a suspension", n)
	}

	open := "open"
	logTo(t, e, open, 0, 1)
	until(t, "the first message delivered", func() bool { return len(sink.of(open)) == 1 })
	until(t, "its session idle", func() bool {
		st, ok := localQueue(e, open)
		return ok && st.Sessions == 1 && st.InFlight == 0 && st.Delivered == 1
	})
	if _, err := e.AdminBounce(admin.BounceRequest{Criteria: admin.Criteria{QueueNames: []string{open}},
		Reason: "stop", Expires: e.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	logTo(t, e, open, 1, 2)
	until(t, "the next 2 messages bounced", func() bool { return e.Stats().Bounced == 2 })
	if n := len(sink.of(open)); n != 1 {
		t.Fatalf("%d POSTs of %s, want only the one before the bounce", n, open)
	}
}

// singleEngine starts a single node running clusterPolicy with kumo.member() = "solo".
func singleEngine(t *testing.T, webhook string) *Engine {
	t.Helper()
	e := clusterEngine(t, "solo", "", nil, webhook)
	e.cfg.Cluster = nil
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}
