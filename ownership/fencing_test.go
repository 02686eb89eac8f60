package ownership

import (
	"slices"
	"testing"
)

// cluster is a few Tables standing for members, driven by hand: Apply is a member seeing a
// membership, release is its "released view X" reaching one peer.
type cluster struct {
	t      *testing.T
	tables map[string]*Table
}

func newCluster(t *testing.T, members ...Member) *cluster {
	c := &cluster{t: t, tables: map[string]*Table{}}
	for _, mb := range members {
		c.tables[mb.ID] = New(mb)
	}
	return c
}

// apply has each named member apply members.
func (c *cluster) apply(members []Member, who ...string) {
	c.t.Helper()
	for _, id := range who {
		if !c.tables[id].Apply(members) {
			c.t.Fatalf("%s: Apply(%v) did not change the view", id, members)
		}
	}
}

// release delivers from's release of its current view to to, and checks whether it lifted to's
// barrier.
func (c *cluster) release(from, to string, lifts bool) {
	c.t.Helper()
	id := c.tables[from].View().ID
	if got := c.tables[to].Released(from, id); got != lifts {
		c.t.Fatalf("%s.Released(%s, %#x) = %v, want %v (pending %q)", to, from, id, got, lifts, c.tables[to].Pending())
	}
}

// may checks who may deliver q: exactly the members named, which is never more than one.
func (c *cluster) may(q string, want ...string) {
	c.t.Helper()
	var got []string
	for id, tb := range c.tables {
		if tb.MayDeliver(q) {
			got = append(got, id)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		c.t.Fatalf("MayDeliver(%s) is true for %q, want %q", q, got, want)
	}
}

func (c *cluster) pending(id string, want ...string) {
	c.t.Helper()
	if got := c.tables[id].Pending(); !slices.Equal(got, want) {
		c.t.Fatalf("%s.Pending() = %q, want %q", id, got, want)
	}
}

// TestFencingJoinAndKill: a membership change in the middle of a delivery. A owns q and delivers
// it; C joins and owns q, but may deliver it only once A and B have released the new view; a
// queue A keeps delivers throughout. Then C is killed: q goes back to A, which delivers it once B
// has released that view; a stale release does not count.
func TestFencingJoinAndKill(t *testing.T) {
	ab := [][]string{{"A", "B"}, {"A", "B", "C"}}
	q := queueOwnedBy(t, ab, []string{"A", "C"})    // moves to C when C joins
	kept := queueOwnedBy(t, ab, []string{"A", "A"}) // stays with A
	bs := queueOwnedBy(t, ab, []string{"B", "B"})   // stays with B

	c := newCluster(t, m("A", 1), m("B", 1), m("C", 1))
	delete(c.tables, "C") // not started yet
	two := []Member{m("A", 1), m("B", 1)}
	c.apply(two, "A", "B")
	// A fresh member waits for its peers, even for queues no one else owned.
	c.may(q)
	c.may(kept)
	c.pending("A", "B")
	c.release("A", "B", true)
	c.may(bs, "B")
	c.may(q)
	c.release("B", "A", true)
	c.may(q, "A")
	c.may(kept, "A")
	c.may(bs, "B")

	// C joins. It applies first and tells the others before they have applied the same view.
	c.tables["C"] = New(m("C", 1))
	three := []Member{m("A", 1), m("B", 1), m("C", 1)}
	c.apply(three, "C")
	c.may(q, "A") // A has not heard of C yet and keeps delivering q
	c.pending("C", "A", "B")
	c.release("C", "A", false) // early: A remembers it
	c.release("C", "B", false)
	c.apply(three, "A")
	if c.tables["A"].Owns(q) || !c.tables["C"].Owns(q) {
		t.Fatal("q did not move to C")
	}
	c.may(q) // A stops q now, C waits for A and B
	c.may(kept, "A")
	c.may(bs, "B") // B, in the old view, keeps its queue
	c.pending("A", "B")
	c.release("A", "C", false)
	c.release("A", "B", false) // B has not applied the view yet: remembered
	c.may(q)
	c.pending("C", "B")
	c.apply(three, "B")
	c.may(bs, "B")
	c.release("B", "C", true)
	c.may(q, "C")
	c.release("B", "A", true)
	c.pending("A")
	c.may(q, "C")
	c.may(kept, "A")
	threeID := c.tables["B"].View().ID

	// C is killed in the middle of delivering q. A and B apply the membership without it.
	delete(c.tables, "C")
	c.apply(two, "A", "B")
	if !c.tables["A"].Owns(q) {
		t.Fatal("q did not come back to A")
	}
	c.may(q) // C owned q in A's last complete view: A waits for B's release of this one
	c.may(kept, "A")
	c.may(bs, "B")
	if c.tables["A"].Released("B", threeID) {
		t.Fatal("a stale release (the view with C) lifted the barrier of the view without it")
	}
	c.may(q)
	c.pending("A", "B")
	c.release("B", "A", true)
	c.may(q, "A")
	c.may(kept, "A")
	c.release("A", "B", true)
	c.may(bs, "B")
}

// TestFencingRestart: a member that comes back with a new incarnation under the same ID forces a
// new barrier. Ownership does not change, so the survivor keeps its queues, but the restarted
// member delivers nothing until the survivor has released the new view, and an old release of
// the same membership by ID does not count.
func TestFencingRestart(t *testing.T) {
	q := queueOwnedBy(t, [][]string{{"A", "B"}}, []string{"A"})
	r := queueOwnedBy(t, [][]string{{"A", "B"}}, []string{"B"})

	c := newCluster(t, m("A", 1), m("B", 1))
	c.apply([]Member{m("A", 1), m("B", 1)}, "A", "B")
	oldID := c.tables["A"].View().ID
	c.release("A", "B", true)
	c.release("B", "A", true)
	c.may(q, "A")
	c.may(r, "B")

	// B crashes and restarts before the membership notices the crash.
	c.tables["B"] = New(m("B", 2))
	restarted := []Member{m("A", 1), m("B", 2)}
	c.apply(restarted, "B")
	if c.tables["B"].View().ID == oldID {
		t.Fatal("a new incarnation gave the same view ID")
	}
	c.may(q, "A")
	c.may(r) // B@2 waits for A's release
	if c.tables["B"].Released("A", oldID) {
		t.Fatal("A's release of the view with B@1 lifted B@2's barrier")
	}
	c.may(r)
	c.apply(restarted, "A")
	c.pending("A", "B")
	c.may(q, "A") // kept across the change
	c.release("A", "B", true)
	c.may(r, "B")
	c.release("B", "A", true)
	c.pending("A")
}

// TestFencingKeptQueueAcrossChanges: a queue that stays with its owner through several views,
// none of whose barriers completes, keeps delivering; one that left it stops; and one that left
// it and came back waits, for the member that had it may still deliver it.
func TestFencingKeptQueueAcrossChanges(t *testing.T) {
	views := [][]string{{"A", "B"}, {"A", "B", "C"}, {"A", "B", "C", "D"}, {"A", "B", "D"}}
	kept := queueOwnedBy(t, views, []string{"A", "A", "A", "A"})
	lost := queueOwnedBy(t, views, []string{"A", "A", "D", "D"})
	back := queueOwnedBy(t, views, []string{"A", "C", "C", "A"})

	a := New(m("A", 1))
	a.Apply([]Member{m("B", 1)})
	a.Released("B", a.View().ID)
	for _, q := range []string{kept, lost, back} {
		if !a.MayDeliver(q) {
			t.Fatalf("%s: not deliverable after a complete barrier", q)
		}
	}
	a.Apply([]Member{m("B", 1), m("C", 1)})
	if !a.MayDeliver(kept) || !a.MayDeliver(lost) || a.MayDeliver(back) {
		t.Fatalf("with C: kept %v, lost %v, back %v", a.MayDeliver(kept), a.MayDeliver(lost), a.MayDeliver(back))
	}
	a.Apply([]Member{m("B", 1), m("C", 1), m("D", 1)})
	if !a.MayDeliver(kept) || a.MayDeliver(lost) || a.MayDeliver(back) {
		t.Fatalf("with C and D: kept %v, lost %v, back %v", a.MayDeliver(kept), a.MayDeliver(lost), a.MayDeliver(back))
	}
	// C goes; back is A's again, but B's and D's releases are missing.
	a.Apply([]Member{m("B", 1), m("D", 1)})
	if !a.Owns(back) || a.Owns(lost) {
		t.Fatal("queue ownership is not as the test assumes")
	}
	if !a.MayDeliver(kept) || a.MayDeliver(lost) || a.MayDeliver(back) {
		t.Fatalf("without C: kept %v, lost %v, back %v", a.MayDeliver(kept), a.MayDeliver(lost), a.MayDeliver(back))
	}
	id := a.View().ID
	if a.Released("B", id) || a.MayDeliver(back) {
		t.Fatal("one release of two lifted the barrier")
	}
	if !a.Released("D", id) || !a.MayDeliver(back) || !a.MayDeliver(kept) || a.MayDeliver(lost) {
		t.Fatal("the complete barrier did not let A deliver exactly its queues")
	}
}
