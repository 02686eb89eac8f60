package gcpace

import (
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"
)

const mib = 1 << 20

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		name               string
		live, held, budget int64
		want               int
	}{
		{"an empty queue leaves the whole budget to the heap", 20 * mib, 0, 64 * mib, 320},
		{"what is held outside the heap comes off the room", 20 * mib, 24 * mib, 64 * mib, 200},
		{"a backlog that fills the budget leaves the default", 15 * mib, 100 * mib, 64 * mib, 100},
		{"room smaller than the live heap never lowers the default", 40 * mib, 0, 64 * mib, 160},
		{"a live heap above the budget keeps the default", 80 * mib, 0, 64 * mib, 100},
		{"a tiny heap is reckoned at the runtime's minimum goal", 1 * mib, 0, 64 * mib, 1600},
		{"before the first collection", 0, 0, 64 * mib, 1600},
		{"a huge budget is capped", 4 * mib, 0, 1 << 40, maxPercent},
		{"no budget", 10 * mib, 0, 0, 100},
	} {
		if got := Percent(c.live, c.held, c.budget); got != c.want {
			t.Errorf("%s: Percent(%d MiB live, %d MiB held, %d MiB budget) = %d, want %d",
				c.name, c.live/mib, c.held/mib, c.budget/mib, got, c.want)
		}
	}
}

// TestPercentKeepsGoalInBudget checks the property the pacer exists for: the goal it allows (the
// live heap, or the runtime's minimum, grown by the percentage) stays within the live heap plus the
// room left, unless the default alone goes past it.
func TestPercentKeepsGoalInBudget(t *testing.T) {
	for live := int64(0); live <= 96*mib; live += mib / 2 {
		for held := int64(0); held <= 96*mib; held += 3 * mib {
			p := int64(Percent(live, held, 64*mib))
			growth := max(live, minHeap) * p / 100
			if p > 100 && growth > 64*mib-held {
				t.Fatalf("live %d, held %d: %d%% lets the heap grow by %d, past the %d left", live, held, p, growth, 64*mib-held)
			}
			if p < 100 {
				t.Fatalf("live %d, held %d: %d%% is below the default", live, held, p)
			}
		}
	}
}

var sink []byte

// TestPacerFollowsCollections runs a pacer for real: after collections it sets the percentage
// Percent gives for what is held at the time, and Stop puts the previous one back.
func TestPacerFollowsCollections(t *testing.T) {
	prev := debug.SetGCPercent(150)
	defer debug.SetGCPercent(prev)
	var held atomic.Int64
	got := make(chan int, 64)
	p := start(64*mib, held.Load, func(percent int) {
		select {
		case got <- percent:
		default:
		}
	})
	defer p.Stop()
	wait := func(want func(int) bool) int {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			sink = make([]byte, 64<<10) // something for the sentinel to be collected with
			runtime.GC()
			select {
			case percent := <-got:
				if want(percent) {
					return percent
				}
			case <-deadline:
				t.Fatal("the pacer did not adjust after collections")
			}
		}
	}
	// Read under the pacer's lock: a collection the runtime starts on its own may adjust again.
	inForce := func() (set, runs int) {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.percent, current()
	}
	wait(func(p int) bool { return p > 100 })
	if set, runs := inForce(); set <= 100 || runs != set {
		t.Fatalf("with nothing held the pacer set %d%% and the runtime runs at %d%%; want the same, above 100", set, runs)
	}
	held.Store(64 * mib)
	wait(func(p int) bool { return p == 100 })
	if set, runs := inForce(); set != 100 || runs != 100 {
		t.Fatalf("with the budget held elsewhere the pacer set %d%% and the runtime runs at %d%%, want 100", set, runs)
	}
	p.Stop()
	if current() != 150 {
		t.Fatalf("after Stop the runtime runs at %d%%, want the 150 set before Start", current())
	}
	if p.adjust() {
		t.Fatal("a stopped pacer adjusted")
	}
}

// current reads the collector's percentage.
func current() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestWanted(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if !Wanted(getenv) {
		t.Fatal("without GOGC the pacer is not wanted")
	}
	for _, v := range []string{"200", "off"} {
		env["GOGC"] = v
		if Wanted(getenv) {
			t.Fatalf("GOGC=%s: the pacer is wanted", v)
		}
	}
}
