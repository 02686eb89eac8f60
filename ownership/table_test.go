package ownership

import (
	"fmt"
	"slices"
	"testing"
)

func m(id string, inc uint64) Member { return Member{ID: id, Incarnation: inc} }

// queueOwnedBy finds a queue whose owner over each ids[i] is want[i].
func queueOwnedBy(t *testing.T, ids [][]string, want []string) string {
	t.Helper()
	for i := 0; i < 100000; i++ {
		q := fmt.Sprintf("queue-%d", i)
		ok := true
		for j := range ids {
			ok = ok && Owner(q, ids[j]) == want[j]
		}
		if ok {
			return q
		}
	}
	t.Fatalf("no queue is owned by %q over %q", want, ids)
	return ""
}

func TestNewHasNoView(t *testing.T) {
	tb := New(m("a", 1))
	if tb.Self() != m("a", 1) {
		t.Errorf("Self = %v", tb.Self())
	}
	if v := tb.View(); v.Epoch != 0 || v.ID != 0 || v.Members != nil {
		t.Errorf("View before Apply = %+v, want the zero View", v)
	}
	for _, q := range []string{"x", "y", ""} {
		if tb.Owner(q) != "" || tb.Owns(q) || tb.MayDeliver(q) {
			t.Errorf("before Apply, %q: Owner %q, Owns %v, MayDeliver %v", q, tb.Owner(q), tb.Owns(q), tb.MayDeliver(q))
		}
	}
	if p := tb.Pending(); p != nil {
		t.Errorf("Pending before Apply = %q", p)
	}
	if tb.Released("b", 42) {
		t.Error("a release before any view lifted a barrier")
	}
	defer func() {
		if recover() == nil {
			t.Error("New with an empty ID did not panic")
		}
	}()
	New(Member{})
}

func TestApply(t *testing.T) {
	type step struct {
		members []Member
		changed bool
		want    []Member // the view's members after the step
	}
	for _, c := range []struct {
		name  string
		steps []step
	}{
		{"first apply adds self and sorts", []step{
			{[]Member{m("c", 3), m("b", 2)}, true, []Member{m("a", 1), m("b", 2), m("c", 3)}},
		}},
		{"first apply of nothing is self alone", []step{
			{nil, true, []Member{m("a", 1)}},
		}},
		{"same set, any order, is no change", []step{
			{[]Member{m("a", 1), m("b", 2)}, true, []Member{m("a", 1), m("b", 2)}},
			{[]Member{m("b", 2), m("a", 1)}, false, []Member{m("a", 1), m("b", 2)}},
			{[]Member{m("b", 2)}, false, []Member{m("a", 1), m("b", 2)}},
			{[]Member{m("b", 2), m("b", 2), m("a", 1)}, false, []Member{m("a", 1), m("b", 2)}},
		}},
		{"a join and a departure change the view", []step{
			{[]Member{m("b", 2)}, true, []Member{m("a", 1), m("b", 2)}},
			{[]Member{m("b", 2), m("c", 1)}, true, []Member{m("a", 1), m("b", 2), m("c", 1)}},
			{[]Member{m("c", 1)}, true, []Member{m("a", 1), m("c", 1)}},
		}},
		{"an incarnation change is a change", []step{
			{[]Member{m("b", 2)}, true, []Member{m("a", 1), m("b", 2)}},
			{[]Member{m("b", 3)}, true, []Member{m("a", 1), m("b", 3)}},
		}},
		{"duplicates: the last wins", []step{
			{[]Member{m("b", 2), m("b", 5)}, true, []Member{m("a", 1), m("b", 5)}},
			{[]Member{m("b", 5), m("b", 2)}, true, []Member{m("a", 1), m("b", 2)}},
		}},
		{"self's entry has self's incarnation; empty IDs are ignored", []step{
			{[]Member{m("a", 9), m("", 4), m("b", 2)}, true, []Member{m("a", 1), m("b", 2)}},
			{[]Member{m("b", 2), m("a", 7)}, false, []Member{m("a", 1), m("b", 2)}},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tb := New(m("a", 1))
			epoch := uint64(0)
			var ids []uint64
			for i, s := range c.steps {
				before := tb.View()
				if got := tb.Apply(s.members); got != s.changed {
					t.Fatalf("step %d: Apply(%v) = %v, want %v", i, s.members, got, s.changed)
				}
				if s.changed {
					epoch++
				}
				v := tb.View()
				if !slices.Equal(v.Members, s.want) {
					t.Fatalf("step %d: members %v, want %v", i, v.Members, s.want)
				}
				if v.Epoch != epoch {
					t.Fatalf("step %d: epoch %d, want %d", i, v.Epoch, epoch)
				}
				if v.ID != viewID(s.want) || v.ID == 0 {
					t.Fatalf("step %d: ID %#x, want viewID(%v) = %#x", i, v.ID, s.want, viewID(s.want))
				}
				if !s.changed && v.ID != before.ID {
					t.Fatalf("step %d: no change, but the ID went from %#x to %#x", i, before.ID, v.ID)
				}
				if s.changed && slices.Contains(ids, v.ID) {
					t.Fatalf("step %d: a new view with an ID seen before (%#x)", i, v.ID)
				}
				ids = append(ids, v.ID)
			}
		})
	}
}

// TestViewIDAgrees: members that see the same live members compute the same view ID, whatever
// order or duplicates their membership layer reports; their epochs are their own.
func TestViewIDAgrees(t *testing.T) {
	a, b, c := New(m("a", 1)), New(m("b", 4)), New(m("c", 2))
	b.Apply([]Member{m("a", 1)}) // b has seen one view more
	a.Apply([]Member{m("c", 2), m("b", 4)})
	b.Apply([]Member{m("a", 1), m("c", 2), m("a", 1)})
	c.Apply([]Member{m("b", 4), m("a", 1), m("c", 2)})
	if a.View().ID != b.View().ID || b.View().ID != c.View().ID {
		t.Errorf("view IDs %#x %#x %#x differ", a.View().ID, b.View().ID, c.View().ID)
	}
	if a.View().Epoch != 1 || b.View().Epoch != 2 || c.View().Epoch != 1 {
		t.Errorf("epochs %d %d %d, want 1 2 1", a.View().Epoch, b.View().Epoch, c.View().Epoch)
	}
	for _, q := range queues(200) {
		if a.Owner(q) != b.Owner(q) || b.Owner(q) != c.Owner(q) || a.Owner(q) != Owner(q, []string{"a", "b", "c"}) {
			t.Fatalf("%s: owners %q %q %q", q, a.Owner(q), b.Owner(q), c.Owner(q))
		}
	}
}

// TestViewIsACopy: the caller cannot change a Table through the View it got, nor through the
// slice it gave to Apply.
func TestViewIsACopy(t *testing.T) {
	tb := New(m("a", 1))
	in := []Member{m("b", 1)}
	tb.Apply(in)
	in[0] = m("z", 9)
	v := tb.View()
	v.Members[0] = m("y", 9)
	if got := tb.View().Members; !slices.Equal(got, []Member{m("a", 1), m("b", 1)}) {
		t.Errorf("members %v after the caller changed its slices", got)
	}
}

func TestAloneDeliversAtOnce(t *testing.T) {
	tb := New(m("a", 1))
	tb.Apply(nil)
	for _, q := range queues(20) {
		if !tb.Owns(q) || !tb.MayDeliver(q) {
			t.Fatalf("alone, %s: Owns %v, MayDeliver %v", q, tb.Owns(q), tb.MayDeliver(q))
		}
	}
	if p := tb.Pending(); p != nil {
		t.Errorf("Pending alone = %q", p)
	}
}

func TestLeave(t *testing.T) {
	tb := New(m("a", 1))
	tb.Apply([]Member{m("b", 1), m("c", 1)})
	v1 := tb.View()
	mine := queueOwnedBy(t, [][]string{{"a", "b", "c"}}, []string{"a"})
	tb.Released("b", v1.ID)
	tb.Released("c", v1.ID)
	if !tb.MayDeliver(mine) {
		t.Fatal("the barrier is complete and a owns the queue, yet MayDeliver is false")
	}
	tb.Leave()
	v2 := tb.View()
	if v2.Epoch != 2 || !slices.Equal(v2.Members, []Member{m("b", 1), m("c", 1)}) || v2.ID != viewID(v2.Members) {
		t.Errorf("view after Leave = %+v", v2)
	}
	for _, q := range queues(200) {
		if tb.Owns(q) || tb.MayDeliver(q) {
			t.Fatalf("after Leave, %s: Owns %v, MayDeliver %v", q, tb.Owns(q), tb.MayDeliver(q))
		}
		if got, want := tb.Owner(q), Owner(q, []string{"b", "c"}); got != want {
			t.Fatalf("after Leave, Owner(%s) = %q, want %q (over the others)", q, got, want)
		}
	}
	if from, to := tb.Moved(v1, mine); from != "a" || to == "a" || to == "" {
		t.Errorf("Moved(%s) = %q, %q; want from a to another", mine, from, to)
	}
	// Later Applies leave self out, even when the membership still lists it.
	if tb.Apply([]Member{m("a", 1), m("b", 1), m("c", 1)}) {
		t.Error("an Apply listing self after Leave changed the view")
	}
	if !tb.Apply([]Member{m("a", 1), m("b", 1)}) || !slices.Equal(tb.View().Members, []Member{m("b", 1)}) {
		t.Errorf("members %v, want b alone", tb.View().Members)
	}
	tb.Leave() // twice is once
	if tb.View().Epoch != 3 {
		t.Errorf("epoch %d after a second Leave, want 3", tb.View().Epoch)
	}
	// A barrier that completes after Leave does not make it deliver.
	tb.Released("b", tb.View().ID)
	if tb.MayDeliver(mine) || tb.Owns(mine) {
		t.Error("a left member may deliver")
	}
	// Leave before any view: the first view leaves self out.
	early := New(m("a", 1))
	early.Leave()
	if !early.Apply([]Member{m("a", 1), m("b", 1)}) || !slices.Equal(early.View().Members, []Member{m("b", 1)}) {
		t.Errorf("first view after Leave: %v", early.View().Members)
	}
	if early.Apply([]Member{m("b", 1)}) {
		t.Error("same set without self: a change")
	}
	gone := New(m("a", 1))
	gone.Leave()
	gone.Apply(nil)
	if v := gone.View(); v.Epoch != 1 || len(v.Members) != 0 || v.ID == 0 || gone.Owner("x") != "" {
		t.Errorf("left and alone: %+v, owner %q", v, gone.Owner("x"))
	}
}

func TestMoved(t *testing.T) {
	tb := New(m("a", 1))
	tb.Apply([]Member{m("b", 1)})
	prev := tb.View()
	tb.Apply([]Member{m("b", 1), m("c", 1)})
	gained := queueOwnedBy(t, [][]string{{"a", "b"}, {"a", "b", "c"}}, []string{"b", "c"})
	kept := queueOwnedBy(t, [][]string{{"a", "b"}, {"a", "b", "c"}}, []string{"a", "a"})
	if from, to := tb.Moved(prev, gained); from != "b" || to != "c" {
		t.Errorf("Moved(%s) = %q, %q; want b, c", gained, from, to)
	}
	if from, to := tb.Moved(prev, kept); from != "a" || to != "a" {
		t.Errorf("Moved(%s) = %q, %q; want a, a", kept, from, to)
	}
	if from, to := tb.Moved(View{}, kept); from != "" || to != "a" {
		t.Errorf("Moved from the zero View = %q, %q; want \"\", a", from, to)
	}
}

// TestChainBound: rule 4(b) looks back over at most maxChain views; past that a kept queue waits
// for a barrier like a gained one.
func TestChainBound(t *testing.T) {
	tb := New(m("a", 1))
	tb.Apply([]Member{m("b", 1)})
	tb.Released("b", tb.View().ID)
	kept := queueOwnedBy(t, [][]string{{"a", "b"}, {"a", "b", "x"}}, []string{"a", "a"})
	// The completed view and maxChain-1 more (x restarting again and again, no release).
	for inc := uint64(1); inc < maxChain; inc++ {
		tb.Apply([]Member{m("b", 1), m("x", inc)})
		if !tb.MayDeliver(kept) {
			t.Fatalf("after %d views without a barrier, a kept queue may not deliver", inc)
		}
	}
	tb.Apply([]Member{m("b", 1), m("x", maxChain)})
	if tb.MayDeliver(kept) {
		t.Fatalf("%d views since the last completed barrier, and a kept queue still delivers", maxChain+1)
	}
	if len(tb.chain) != 0 || tb.chainOK {
		t.Errorf("the chain holds %d views past its bound", len(tb.chain))
	}
	// A completed barrier starts over.
	id := tb.View().ID
	tb.Released("b", id)
	if !tb.Released("x", id) || !tb.MayDeliver(kept) {
		t.Error("a completed barrier did not let the owner deliver")
	}
}

// TestReleasesBounded: releases of strangers do not grow a Table without bound, and those of the
// view's members survive.
func TestReleasesBounded(t *testing.T) {
	tb := New(m("a", 1))
	tb.Apply([]Member{m("b", 1), m("c", 1)})
	id := tb.View().ID
	tb.Released("b", id)
	for i := 0; i < 10000; i++ {
		tb.Released(fmt.Sprintf("stranger-%d", i), uint64(i))
	}
	if n := len(tb.released); n > 3+maxStray {
		t.Errorf("%d releases kept", n)
	}
	if !tb.Released("c", id) {
		t.Error("b's release was forgotten: c's did not complete the barrier")
	}
	if got := tb.Pending(); got != nil {
		t.Errorf("Pending = %q", got)
	}
}
