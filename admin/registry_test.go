package admin

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// countingReader yields 0, 1, 2, ... so that ids are predictable.
type countingReader struct{ next byte }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.next
		r.next++
	}
	return len(p), nil
}

func TestAddExpiry(t *testing.T) {
	tests := []struct {
		name     string
		duration time.Duration
		expires  time.Time
		want     time.Time
	}{
		{"neither: five minutes", 0, time.Time{}, t0.Add(5 * time.Minute)},
		{"a duration", 90 * time.Second, time.Time{}, t0.Add(90 * time.Second)},
		{"expires wins over duration", time.Hour, t0.Add(time.Minute), t0.Add(time.Minute)},
		{"expires alone", 0, t0.Add(48 * time.Hour), t0.Add(48 * time.Hour)},
		{"an expiry in the past is kept (never active)", 0, t0.Add(-time.Second), t0.Add(-time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRegistry()
			e := r.Add(Bounce, Criteria{}, "why", tt.duration, tt.expires, false, t0)
			if !e.Expires.Equal(tt.want) {
				t.Fatalf("Expires = %v, want %v", e.Expires, tt.want)
			}
			if got := e.Active(t0); got != tt.want.After(t0) {
				t.Fatalf("Active(t0) = %v", got)
			}
		})
	}
}

func TestIDs(t *testing.T) {
	r := NewRegistry()
	uuidV4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := range 100 {
		e := r.Add(Suspend, Criteria{Domain: strp(fmt.Sprint(i))}, "", 0, time.Time{}, false, t0)
		if !uuidV4.MatchString(e.ID) || seen[e.ID] {
			t.Fatalf("id %q is not a fresh v4 UUID", e.ID)
		}
		seen[e.ID] = true
	}
	r = NewRegistry()
	r.random = &countingReader{}
	if e := r.Add(Bounce, Criteria{}, "", 0, time.Time{}, false, t0); e.ID != "00010203-0405-4607-8809-0a0b0c0d0e0f" {
		t.Fatalf("id from the injected source = %s", e.ID)
	}
}

func TestExpiryOnAFakeTimeline(t *testing.T) {
	r := NewRegistry()
	e := r.Add(Bounce, Criteria{Domain: strp("D")}, "cleanup", 10*time.Minute, time.Time{}, true, t0)
	end := t0.Add(10 * time.Minute)
	for _, at := range []time.Time{t0, t0.Add(time.Minute), end.Add(-1)} {
		got, ok := r.Bounce("T@D", at)
		if !ok || got.ID != e.ID || got.Reason != "cleanup" || !got.SuppressLogging || got.Kind != Bounce {
			t.Fatalf("Bounce at %v = %+v, %v", at, got, ok)
		}
		if list := r.List(Bounce, at); len(list) != 1 || list[0].Remaining(at) != end.Sub(at) {
			t.Fatalf("List at %v = %+v", at, list)
		}
	}
	if got, ok := r.Bounce("T@D", end); ok || got != nil {
		t.Fatalf("Bounce at expiry = %+v", got)
	}
	if list := r.List(Bounce, end); len(list) != 0 {
		t.Fatalf("List at expiry = %+v", list)
	}
	if e.Remaining(end) != 0 || e.Remaining(end.Add(time.Hour)) != 0 {
		t.Fatal("Remaining after expiry is not 0")
	}
	if _, ok := r.Suspended("T@D", t0); ok {
		t.Fatal("a bounce entry answered Suspended")
	}
	// Expired entries can be cancelled until an Add drops them.
	if !r.Cancel(e.ID) {
		t.Fatal("Cancel of an expired, not yet dropped entry")
	}
	old := r.Add(Bounce, Criteria{}, "", time.Minute, time.Time{}, false, t0)
	r.Add(Suspend, Criteria{}, "", 0, time.Time{}, false, t0.Add(time.Hour))
	if r.Cancel(old.ID) {
		t.Fatal("an expired entry survived the next Add")
	}
}

func TestNewestMatchWins(t *testing.T) {
	r := NewRegistry()
	all := r.Add(Suspend, Criteria{}, "everything", time.Hour, time.Time{}, false, t0)
	dom := r.Add(Suspend, Criteria{Domain: strp("D")}, "domain", 10*time.Minute, time.Time{}, false, t0)
	if got, _ := r.Suspended("T@D", t0); got.ID != dom.ID {
		t.Fatalf("got %q, want the newer domain entry", got.Reason)
	}
	if got, _ := r.Suspended("T@E", t0); got.ID != all.ID {
		t.Fatalf("got %q, want the match-all entry", got.Reason)
	}
	if got, _ := r.Suspended("T@D", t0.Add(10*time.Minute)); got.ID != all.ID {
		t.Fatalf("after the domain entry expired, got %q", got.Reason)
	}
	if _, ok := r.Bounce("T@D", t0); ok {
		t.Fatal("a suspension answered Bounce")
	}
}

func TestEqualCriteriaReplace(t *testing.T) {
	r := NewRegistry()
	first := r.Add(Bounce, Criteria{QueueNames: []string{"a", "b"}}, "first", 0, time.Time{}, false, t0)
	other := r.Add(Suspend, Criteria{QueueNames: []string{"a", "b"}}, "a suspension", 0, time.Time{}, false, t0)
	second := r.Add(Bounce, Criteria{QueueNames: []string{"b", "a"}}, "second", 0, time.Time{}, false, t0)
	list := r.List(Bounce, t0)
	if len(list) != 1 || list[0].ID != second.ID || list[0].Reason != "second" {
		t.Fatalf("List = %+v, want only the second entry", list)
	}
	if r.Cancel(first.ID) {
		t.Fatal("the replaced entry's id is still valid")
	}
	if !r.Cancel(other.ID) {
		t.Fatal("an entry of the other kind was replaced")
	}
}

func TestCancelAndGeneration(t *testing.T) {
	r := NewRegistry()
	gen := r.Generation()
	expectGen := func(step string, bumped bool) {
		t.Helper()
		now := r.Generation()
		if bumped != (now != gen) {
			t.Fatalf("%s: generation %d -> %d", step, gen, now)
		}
		gen = now
	}
	e := r.Add(Bounce, Criteria{Tenant: strp("T")}, "", 0, time.Time{}, false, t0)
	expectGen("Add", true)
	r.Bounce("T@D", t0)
	r.Suspended("T@D", t0)
	r.List(Bounce, t0)
	r.CountBounce(e.ID, "T@D")
	expectGen("lookups and counts", false)
	if r.Cancel("6ba7b810-9dad-11d1-80b4-00c04fd430c8") || r.Cancel("not a uuid") || r.Cancel("") {
		t.Fatal("Cancel of an unknown id succeeded")
	}
	expectGen("failed Cancel", false)
	spelled := "{" + strings.ToUpper(e.ID) + "}"
	if !r.Cancel(spelled) {
		t.Fatalf("Cancel(%q) failed", spelled)
	}
	expectGen("Cancel", true)
	if r.Cancel(e.ID) {
		t.Fatal("second Cancel succeeded")
	}
	expectGen("repeated Cancel", false)
	if _, ok := r.Bounce("T@D", t0); ok {
		t.Fatal("a cancelled entry still matches")
	}
	r.Add(Suspend, Criteria{}, "", 0, t0.Add(-time.Second), false, t0)
	expectGen("Add of an already expired entry", true)
	r.Add(Suspend, Criteria{Domain: strp("x")}, "", 0, time.Time{}, false, t0.Add(time.Hour))
	expectGen("Add that prunes", true)
}

func TestCountsAndCopies(t *testing.T) {
	r := NewRegistry()
	c := Criteria{Domain: strp("D"), QueueNames: []string{"T@D"}}
	e := r.Add(Bounce, c, "r", 0, time.Time{}, false, t0)
	*c.Domain = "changed"
	c.QueueNames[0] = "changed"
	*e.Criteria.Domain = "changed too"
	for range 3 {
		r.CountBounce(e.ID, "T@D")
	}
	r.CountBounce(e.ID, "C:T@D")
	r.CountBounce("unknown", "T@D")
	list := r.List(Bounce, t0)
	if len(list) != 1 || *list[0].Criteria.Domain != "D" || list[0].Criteria.QueueNames[0] != "T@D" {
		t.Fatalf("stored criteria changed through a caller's copy: %+v", list)
	}
	if got := list[0].Counts; len(got) != 2 || got["T@D"] != 3 || got["C:T@D"] != 1 {
		t.Fatalf("Counts = %v", got)
	}
	list[0].Counts["T@D"] = 100
	*list[0].Criteria.Domain = "x"
	got, _ := r.Bounce("T@D", t0)
	if got.Counts != nil || *got.Criteria.Domain != "D" {
		t.Fatalf("Bounce = %+v", got)
	}
	if again := r.List(Bounce, t0); again[0].Counts["T@D"] != 3 {
		t.Fatal("List handed out the live counts")
	}
	if r.List(Kind(0), t0) != nil || r.List(Kind(9), t0) != nil {
		t.Fatal("List of an unknown kind")
	}
}

func TestAddPanicsOnUnknownKind(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	NewRegistry().Add(Kind(3), Criteria{}, "", 0, time.Time{}, false, t0)
}

func TestKindString(t *testing.T) {
	if Bounce.String() != "bounce" || Suspend.String() != "suspend" || Kind(7).String() != "Kind(7)" {
		t.Fatal(Bounce, Suspend, Kind(7))
	}
}

func TestQueueCache(t *testing.T) {
	r := NewRegistry()
	var c QueueCache
	if _, ok := c.Bounce(r, "T@D", t0); ok {
		t.Fatal("empty registry matched")
	}
	long := r.Add(Bounce, Criteria{Tenant: strp("T")}, "long", time.Hour, time.Time{}, false, t0)
	got, ok := c.Bounce(r, "T@D", t0)
	if !ok || got.ID != long.ID {
		t.Fatal("an Add did not invalidate the cached miss")
	}
	if again, _ := c.Bounce(r, "T@D", t0.Add(time.Minute)); again != got {
		t.Fatal("an unchanged registry was asked again")
	}
	short := r.Add(Bounce, Criteria{Domain: strp("D")}, "short", time.Minute, time.Time{}, false, t0)
	if got, _ := c.Bounce(r, "T@D", t0); got.ID != short.ID {
		t.Fatalf("got %q, want the newer entry", got.Reason)
	}
	if got, _ := c.Bounce(r, "T@D", t0.Add(time.Minute)); got.ID != long.ID {
		t.Fatalf("after expiry got %q, want the older entry", got.Reason)
	}
	if _, ok := c.Bounce(r, "X@E", t0); ok {
		t.Fatal("the cache answered for another queue")
	}
	r.Cancel(long.ID)
	if _, ok := c.Bounce(r, "T@D", t0.Add(2*time.Minute)); ok {
		t.Fatal("a Cancel did not invalidate the cache")
	}
	if _, ok := c.Suspended(r, "T@D", t0); ok {
		t.Fatal("bounces answered Suspended")
	}
	s := r.Add(Suspend, Criteria{}, "s", 0, time.Time{}, false, t0)
	if got, ok := c.Suspended(r, "T@D", t0); !ok || got.ID != s.ID {
		t.Fatal("suspension not seen")
	}
}

// TestConcurrentUse runs handlers and queue actors at once; run it with
// -race.
func TestConcurrentUse(t *testing.T) {
	r := NewRegistry()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() { // handlers: add, list, cancel
			for i := range 200 {
				now := t0.Add(time.Duration(i) * time.Second)
				e := r.Add(Kind(1+i%2), Criteria{Domain: strp(fmt.Sprint("d", i%5))}, "r", time.Minute, time.Time{}, false, now)
				r.List(Bounce, now)
				r.List(Suspend, now)
				if (i+w)%3 == 0 {
					r.Cancel(e.ID)
				}
			}
		})
		wg.Go(func() { // queue actors: ask, count
			var cache QueueCache
			for i := range 400 {
				now := t0.Add(time.Duration(i) * time.Second / 2)
				queue := fmt.Sprintf("t@d%d", i%5)
				if e, ok := cache.Bounce(r, queue, now); ok {
					r.CountBounce(e.ID, queue)
				}
				if e, ok := r.Suspended(queue, now); ok && e.Kind != Suspend {
					t.Errorf("Suspended returned a %v entry", e.Kind)
				}
				r.Generation()
			}
		})
	}
	wg.Wait()
	for _, k := range []Kind{Bounce, Suspend} {
		for _, e := range r.List(k, t0.Add(200*time.Second)) {
			if got, _ := r.lookup(k, "t@"+*e.Criteria.Domain, t0.Add(200*time.Second)); got == nil {
				t.Errorf("listed entry %s does not match its own domain", e.ID)
			}
		}
	}
}
