package admin

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// copyOf is what another member receives of e: every field but Counts.
func copyOf(e Entry) Entry {
	e.Counts = nil
	e.Criteria = e.Criteria.clone()
	return e
}

// An entry added on one registry and Put on another is the same entry there: same ID, expiry,
// reason, criteria and Added; it matches, lists, expires at the same time and is cancelled by its
// ID. Putting it again changes nothing.
func TestPutCopiesAnEntry(t *testing.T) {
	a, b := NewRegistry(), NewRegistry()
	e := a.Add(Bounce, Criteria{Tenant: strp("T"), QueueNames: []string{"T@D"}}, "why", 10*time.Minute, time.Time{}, true, t0)
	gen := b.Generation()
	if !b.Put(copyOf(e), t0.Add(time.Second)) {
		t.Fatal("Put of a fresh entry stored nothing")
	}
	if b.Generation() == gen {
		t.Fatal("Put did not change the generation")
	}
	got, ok := b.Bounce("T@D", t0.Add(time.Minute))
	if !ok || got.ID != e.ID || got.Reason != "why" || !got.SuppressLogging || !got.Expires.Equal(e.Expires) ||
		!got.Added.Equal(t0) || !got.Criteria.Equal(e.Criteria) {
		t.Fatalf("the copy is %+v, %v; the original %+v", got, ok, e)
	}
	gen = b.Generation()
	if b.Put(copyOf(e), t0.Add(2*time.Second)) || b.Generation() != gen {
		t.Fatal("a second Put of the same id stored again")
	}
	spelled := copyOf(e)
	spelled.ID = strings.ToUpper(e.ID)
	if b.Put(spelled, t0) {
		t.Fatal("a Put of the same id in another spelling stored again")
	}
	if list := b.List(Bounce, t0); len(list) != 1 {
		t.Fatalf("List = %+v", list)
	}
	if _, ok := b.Bounce("T@D", e.Expires); ok {
		t.Fatal("the copy outlived the original's expiry")
	}
	if !b.Cancel(e.ID) {
		t.Fatal("the copy cannot be cancelled by the original's id")
	}
}

func TestPutRefuses(t *testing.T) {
	r := NewRegistry()
	live := Entry{ID: "6ba7b810-9dad-41d1-80b4-00c04fd430c8", Kind: Suspend, Expires: t0.Add(time.Minute), Added: t0}
	for name, e := range map[string]Entry{
		"expired":      {ID: live.ID, Kind: Suspend, Expires: t0, Added: t0},
		"no id":        {Kind: Suspend, Expires: t0.Add(time.Minute)},
		"unknown kind": {ID: live.ID, Kind: 9, Expires: t0.Add(time.Minute)},
		"no kind":      {ID: live.ID, Expires: t0.Add(time.Minute)},
	} {
		if r.Put(e, t0) {
			t.Errorf("Put of an entry with %s stored it", name)
		}
	}
	if r.Generation() != 0 || len(r.List(Suspend, t0)) != 0 {
		t.Fatal("a refused Put changed the registry")
	}
	if !r.Put(live, t0) {
		t.Fatal("a valid entry was refused")
	}
}

// Of two entries of one kind with Equal criteria, the later Added stays, whichever arrives first;
// on a tie the newcomer wins (one member's entries arrive in the order it added them).
func TestPutEqualCriteria(t *testing.T) {
	c := Criteria{Domain: strp("D")}
	origin := NewRegistry()
	older := origin.Add(Suspend, c, "older", time.Hour, time.Time{}, false, t0)
	newer := origin.Add(Suspend, c, "newer", time.Hour, time.Time{}, false, t0.Add(time.Second))
	for name, order := range map[string][]Entry{"in order": {older, newer}, "newer first": {newer, older}} {
		r := NewRegistry()
		for _, e := range order {
			r.Put(copyOf(e), t0.Add(2*time.Second))
		}
		list := r.List(Suspend, t0.Add(2*time.Second))
		if len(list) != 1 || list[0].ID != newer.ID {
			t.Errorf("%s: List = %+v, want only the newer entry", name, list)
		}
		if r.Cancel(older.ID) {
			t.Errorf("%s: the older entry's id is still valid", name)
		}
	}
	// The same Added: the last stored stays, as Add on the origin did.
	first := origin.Add(Bounce, c, "first", time.Hour, time.Time{}, false, t0)
	second := origin.Add(Bounce, c, "second", time.Hour, time.Time{}, false, t0)
	r := NewRegistry()
	r.Put(copyOf(first), t0)
	r.Put(copyOf(second), t0)
	if list := r.List(Bounce, t0); len(list) != 1 || list[0].ID != second.ID {
		t.Fatalf("a tie: List = %+v, want the second entry", list)
	}
	if list := origin.List(Bounce, t0); len(list) != 1 || list[0].ID != second.ID {
		t.Fatalf("the origin: List = %+v", list)
	}
}

// Entries are ordered by Added wherever they were made, so the newest match is the same on every
// registry whatever order the copies arrived in.
func TestPutKeepsAddedOrder(t *testing.T) {
	origin := NewRegistry()
	all := origin.Add(Suspend, Criteria{}, "everything", time.Hour, time.Time{}, false, t0)
	dom := origin.Add(Suspend, Criteria{Domain: strp("D")}, "domain", time.Hour, time.Time{}, false, t0.Add(time.Second))
	r := NewRegistry()
	r.Put(copyOf(dom), t0.Add(2*time.Second))
	r.Put(copyOf(all), t0.Add(2*time.Second))
	if got, _ := r.Suspended("T@D", t0.Add(2*time.Second)); got == nil || got.ID != dom.ID {
		t.Fatalf("Suspended = %+v, want the domain entry (added last on its member)", got)
	}
	if list := r.List(Suspend, t0.Add(2*time.Second)); len(list) != 2 || list[0].ID != all.ID {
		t.Fatalf("List = %+v, want oldest first", list)
	}
}

// A cancelled entry, here or by a Revoke from elsewhere, is not brought back by a copy that was
// still on its way; a Revoke of an id not known yet is remembered for RevokeMemory.
func TestRevokeAndLateCopies(t *testing.T) {
	origin := NewRegistry()
	e := origin.Add(Bounce, Criteria{Domain: strp("D")}, "r", time.Hour, time.Time{}, false, t0)

	r := NewRegistry()
	r.Put(copyOf(e), t0)
	gen := r.Generation()
	if !r.Revoke(e.ID, t0) || r.Generation() == gen {
		t.Fatal("Revoke of a stored entry")
	}
	if r.Put(copyOf(e), t0.Add(time.Minute)) {
		t.Fatal("a late copy of a revoked entry was stored")
	}

	early := NewRegistry() // the cancellation arrives before the copy
	gen = early.Generation()
	if early.Revoke(e.ID, t0) || early.Generation() != gen {
		t.Fatal("Revoke of an unknown id reported an entry or changed the generation")
	}
	if early.Put(copyOf(e), t0.Add(RevokeMemory-time.Second)) {
		t.Fatal("a copy arriving after its revocation was stored")
	}
	if !early.Put(copyOf(e), t0.Add(RevokeMemory)) {
		t.Fatal("a revocation of an unknown id is remembered past RevokeMemory")
	}

	local := NewRegistry()
	local.Put(copyOf(e), t0)
	if !local.Cancel(e.ID) || local.Put(copyOf(e), t0) {
		t.Fatal("a copy of a cancelled entry was stored again")
	}
	if early.Revoke("", t0) || early.Revoke("not a uuid", t0) {
		t.Fatal("Revoke of nothing")
	}
}

// Gone lists what a member says again to the others: its cancellations and those it applied (until
// the entry would have expired) and the entries it replaced; not the cancellations of entries it
// never knew.
func TestGone(t *testing.T) {
	r := NewRegistry()
	cancelled := r.Add(Bounce, Criteria{Domain: strp("a")}, "r", time.Hour, time.Time{}, false, t0)
	replaced := r.Add(Suspend, Criteria{Domain: strp("b")}, "r", 2*time.Hour, time.Time{}, false, t0)
	kept := r.Add(Suspend, Criteria{Domain: strp("b")}, "again", 2*time.Hour, time.Time{}, false, t0)
	r.Cancel(cancelled.ID)
	r.Revoke("0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f", t0) // never known here
	fromElsewhere := NewRegistry().Add(Bounce, Criteria{Domain: strp("c")}, "r", time.Hour, time.Time{}, false, t0)
	r.Put(copyOf(fromElsewhere), t0)
	r.Revoke(fromElsewhere.ID, t0)
	want := []string{cancelled.ID, replaced.ID, fromElsewhere.ID}
	got := r.Gone(t0.Add(time.Minute))
	if strings.Join(got, ",") != strings.Join(sorted(want), ",") {
		t.Fatalf("Gone %v, want %v", got, sorted(want))
	}
	for _, id := range got {
		if id == kept.ID {
			t.Fatalf("Gone lists the entry that is still active: %v", got)
		}
	}
	if got := r.Gone(t0.Add(time.Hour)); strings.Join(got, ",") != strings.Join(sorted([]string{replaced.ID}), ",") {
		t.Errorf("after an hour Gone %v, want only the replaced entry (it would have expired after two)", got)
	}
	if got := r.Gone(t0.Add(2 * time.Hour)); len(got) != 0 {
		t.Errorf("after two hours Gone %v, want nothing", got)
	}
}

func sorted(ids []string) []string {
	out := append([]string(nil), ids...)
	slices.Sort(out)
	return out
}

// Members repeat their cancellations to each other: a repeat does not make the memory longer, so it
// ends RevokeMemory after it began however often it is heard.
func TestRevokeRepeatedIsNotRememberedLonger(t *testing.T) {
	r := NewRegistry()
	id := "0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f"
	for m := time.Duration(0); m < RevokeMemory; m += time.Minute {
		r.Revoke(id, t0.Add(m))
	}
	if !r.Put(copyOf(Entry{ID: id, Kind: Bounce, Criteria: Criteria{Domain: strp("e")}, Expires: t0.Add(2 * RevokeMemory),
		Added: t0}), t0.Add(RevokeMemory)) {
		t.Error("a copy of an entry whose revocation was heard is still refused RevokeMemory after the first revocation")
	}
}
