package actors

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/admin"
)

// A member of the view that does not answer is reported as silent, within the admin API's bound,
// next to the members that do: one whose address takes connections but never answers (a hung
// member), and one where nothing listens (the request is not even sent).
func TestClusterSilentMembers(t *testing.T) {
	sink := newMemberSink(t)
	ms := startMembers(t, 2, sink.URL)
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	go func() { // accept and hold every connection, answering nothing
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	down := freeAddr(t)
	view := []Member{{ID: "a", Addr: ms[0].addr, Incarnation: 1}, {ID: "b", Addr: ms[1].addr, Incarnation: 1},
		{ID: "y", Addr: hung.Addr().String(), Incarnation: 1}, {ID: "z", Addr: down, Incarnation: 1}}
	ms[0].sys.ApplyMembers(view)

	began := time.Now()
	st, ok := ms[0].sys.ClusterStatus(context.Background())
	took := time.Since(began)
	if !ok || len(st.Members) != 4 {
		t.Fatalf("status %+v, %v", st, ok)
	}
	if took > askTimeout+time.Second {
		t.Fatalf("the status took %v; a silent member must not hold it past %v", took, askTimeout)
	}
	want := map[string]string{"a": "self", "b": "live", "y": "silent", "z": "silent"}
	for _, m := range st.Members {
		if m.State != want[m.ID] {
			t.Errorf("member %s is %q, want %q (%+v)", m.ID, m.State, want[m.ID], m)
		}
	}
	if e := st.Members[2].Error; !strings.Contains(e, "no answer within") {
		t.Errorf("the hung member's error: %q", e)
	}
	if e := st.Members[3].Error; !strings.Contains(e, "nothing listens at "+down) {
		t.Errorf("the member that is down: %q", e)
	}
	qs := ms[0].sys.ClusterQueues(context.Background(), false)
	if len(qs.Silent) != 2 || qs.Silent[0].Member != "y" || qs.Silent[1].Member != "z" {
		t.Fatalf("silent members of the queue report: %+v", qs.Silent)
	}
}

// The rules travel as wire.AdminRule and come back as the entry they were.
func TestAdminRuleCarriesTheEntry(t *testing.T) {
	r := admin.NewRegistry()
	d, rd := "D", "R"
	now := time.Unix(1_750_000_000, 123)
	for _, kind := range []admin.Kind{admin.Bounce, admin.Suspend} {
		e := r.Add(kind, admin.Criteria{Domain: &d, RoutingDomain: &rd, QueueNames: []string{"x", "y"}}, "why", time.Hour,
			time.Time{}, kind == admin.Bounce, now)
		back := ruleEntry(entryRule(e))
		if back.ID != e.ID || back.Kind != e.Kind || !back.Criteria.Equal(e.Criteria) || back.Reason != e.Reason ||
			!back.Expires.Equal(e.Expires) || !back.Added.Equal(e.Added) || back.SuppressLogging != e.SuppressLogging {
			t.Fatalf("%v: %+v came back as %+v", kind, e, back)
		}
	}
	if got := ruleEntry(entryRule(admin.Entry{})); got.Kind != 0 || !got.Expires.IsZero() || !got.Added.IsZero() {
		t.Fatalf("the zero entry came back as %+v", got)
	}
}

// A rule or a cancellation that did not reach a member (here: made on one member's registry
// without being sent) reaches it at the next resync; a resync never brings a cancelled rule back.
func TestClusterAdminResync(t *testing.T) {
	sink := newMemberSink(t)
	ms := startMembers(t, 2, sink.URL)
	a, b := ms[0].sys, ms[1].sys
	d := "resync.example"
	e := a.admin.Add(admin.Suspend, admin.Criteria{Domain: &d}, "lost on the way", 0, time.Now().Add(time.Hour), false, time.Now())
	holds := func(s *System) bool {
		for _, got := range s.admin.List(admin.Suspend, time.Now()) {
			if got.ID == e.ID {
				return true
			}
		}
		return false
	}
	if holds(b) {
		t.Fatal("the rule reached the other member without a resync")
	}
	a.resyncAdmin()
	eventually(t, "the rule at the other member after a resync", func() bool { return holds(b) })

	if !a.admin.Cancel(e.ID) {
		t.Fatal("cancel")
	}
	b.resyncAdmin() // the other member still holds it, and tells the first: it must stay cancelled there
	a.resyncAdmin()
	eventually(t, "the cancellation at the other member after a resync", func() bool { return !holds(b) })
	b.resyncAdmin()
	time.Sleep(100 * time.Millisecond) // whatever b sent is handled by now
	if holds(a) || holds(b) {
		t.Errorf("a resync brought a cancelled rule back: first member %v, second %v", holds(a), holds(b))
	}
}

// A bounce's counts, listed on any member, are the sum of what each member's queues bounced.
func TestClusterBounceCountsSummed(t *testing.T) {
	sink := newMemberSink(t)
	ms := startMembers(t, 2, sink.URL)
	a, b := ms[0].sys, ms[1].sys
	d := "counted.example"
	e := a.AddAdmin(admin.Bounce, admin.Criteria{Domain: &d}, "counted", time.Now().Add(time.Hour), false)
	eventually(t, "the rule on the second member", func() bool { return len(b.admin.List(admin.Bounce, time.Now())) == 1 })
	a.admin.CountBounce(e.ID, "x@counted.example")
	a.admin.CountBounce(e.ID, "x@counted.example")
	b.admin.CountBounce(e.ID, "x@counted.example")
	b.admin.CountBounce(e.ID, "y@counted.example")
	for _, s := range []*System{a, b} {
		list := s.AdminList(t.Context(), admin.Bounce)
		if len(list) != 1 || list[0].ID != e.ID {
			t.Fatalf("%s lists %+v", s.opts.Cluster.Self.ID, list)
		}
		if c := list[0].Counts; len(c) != 2 || c["x@counted.example"] != 3 || c["y@counted.example"] != 1 {
			t.Errorf("%s: counts %v; want x 3 (2 + 1) and y 1", s.opts.Cluster.Self.ID, c)
		}
	}
	if got := a.admin.List(admin.Bounce, time.Now())[0].Counts["x@counted.example"]; got != 2 {
		t.Errorf("listing changed the registry's own counts: %d", got)
	}
}
