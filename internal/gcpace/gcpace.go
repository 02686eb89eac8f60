// Package gcpace gives the Go heap room to grow between collections out of a fixed memory budget
// shared with what the process holds outside the heap.
//
// With the runtime's default (GOGC=100) the next collection starts when the heap has doubled. A node
// whose live heap is small (most of what it queues is off-heap) then collects very often under load:
// every few MiB allocated. Each cycle costs about the same however little it finds, so a larger
// percentage saves CPU, but any fixed one also lets a node holding a large backlog grow by that
// much. The pacer instead sets the percentage after every cycle so that the heap may grow by what is
// left of the budget once the off-heap memory is counted, and never by less than the default: an
// idle or lightly queued node collects less often, a node whose backlog fills the budget behaves as
// if the pacer were not there.
package gcpace

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Percent is the collector's percentage for a live heap of live bytes when held bytes of the budget
// are taken outside the heap: the heap may grow by budget-held, with 100 (the runtime's default) as
// the floor. The runtime's minimum goal (4 MiB at 100, scaled by the percentage) is reckoned as part
// of the live heap, so a small heap cannot make the percentage, and with it that minimum, grow past
// the budget.
func Percent(live, held, budget int64) int {
	room := budget - held
	base := max(live, minHeap)
	if room <= base {
		return 100
	}
	return int(min(max(room*100/base, 100), maxPercent))
}

const (
	minHeap    = 4 << 20 // the runtime's minimum heap goal at GOGC=100
	maxPercent = 10000
)

// Pacer adjusts the collector's percentage after each collection; see Start.
type Pacer struct {
	budget int64
	held   func() int64
	prev   int // the percentage in force before Start, put back by Stop

	mu      sync.Mutex
	stopped bool
	sample  [1]metrics.Sample
	percent int

	adjusted func(percent int) // tests: told of every adjustment
}

// Start begins pacing the collector for budget bytes, of which held reports how many are taken
// outside the Go heap at the time. It changes a process-wide setting: a program should run one
// pacer, and not when the operator chose GOGC (Wanted tells).
func Start(budget int64, held func() int64) *Pacer {
	return start(budget, held, nil)
}

func start(budget int64, held func() int64, adjusted func(int)) *Pacer {
	p := &Pacer{budget: budget, held: held, adjusted: adjusted}
	p.sample[0].Name = "/gc/heap/live:bytes"
	p.prev = debug.SetGCPercent(100)
	p.percent = 100
	p.arm()
	return p
}

// Stop ends the pacing and puts back the percentage that was in force before Start.
func (p *Pacer) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.stopped = true
	debug.SetGCPercent(p.prev)
}

// sentinel is garbage made for the collector to find: its finalizer runs once per cycle.
type sentinel struct{ _ [16]byte }

// arm makes a sentinel whose finalizer, run after the next collection that finds it unreachable,
// adjusts the percentage and arms the next one.
func (p *Pacer) arm() {
	runtime.SetFinalizer(new(sentinel), func(*sentinel) {
		if p.adjust() {
			p.arm()
		}
	})
}

// adjust sets the percentage for the live heap the last collection left; it reports false once the
// pacer is stopped.
func (p *Pacer) adjust() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return false
	}
	metrics.Read(p.sample[:])
	var live int64
	if p.sample[0].Value.Kind() == metrics.KindUint64 {
		live = int64(p.sample[0].Value.Uint64())
	}
	percent := Percent(live, p.held(), p.budget)
	if percent != p.percent {
		debug.SetGCPercent(percent)
		p.percent = percent
	}
	if p.adjusted != nil {
		p.adjusted(percent)
	}
	return true
}

// Wanted reports whether a program should pace the collector: not when the operator set GOGC
// (whose value, off included, is theirs to choose).
func Wanted(getenv func(string) string) bool {
	return getenv("GOGC") == ""
}
