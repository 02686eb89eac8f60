package ownership

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The simulation: three members A, B and C of a cluster, each a Table, under a membership layer
// that produces a sequence of memberships (history). A member applies memberships in order,
// perhaps skipping some, and right after every change of its view sends "released <view ID>" to
// every other live member; releases between two members arrive in the order they were sent. A
// member is dropped from the membership only when it is killed or has left; a restart is a new
// Table with a new incarnation. Members also run sessions: one starts a session for each queue it
// may deliver when told to, and stops those of queues it does not own when its view changes,
// before it sends its release (and all of them when it leaves).

var simNames = []string{"A", "B", "C"}

var simQueues = []string{"q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9"}

type simMember struct {
	table   *Table          // nil while dead
	running map[string]bool // the queues it has a session for
	inc     uint64          // the latest incarnation used
	left    bool
	joined  int // the index of history at which this incarnation joined
	applied int // the last index of history it applied, -1 for none
}

type sim struct {
	t       *testing.T
	members map[string]*simMember
	history [][]Member
	wire    map[[2]string][]uint64 // in flight, per (from, to), oldest first

	// What happened, so that a test can tell that it reached the interesting states.
	settled, handovers int
}

func newSim(t *testing.T) *sim {
	s := &sim{t: t, members: map[string]*simMember{}, wire: map[[2]string][]uint64{}}
	var first []Member
	for _, id := range simNames {
		s.members[id] = &simMember{table: New(m(id, 1)), running: map[string]bool{}, inc: 1, applied: -1}
		first = append(first, m(id, 1))
	}
	s.history = [][]Member{first}
	return s
}

func (s *sim) last() []Member { return s.history[len(s.history)-1] }

// change appends a membership: the last one without id, and with add if it is not zero.
func (s *sim) change(id string, add Member) {
	next := slices.DeleteFunc(slices.Clone(s.last()), func(x Member) bool { return x.ID == id })
	if add.ID != "" {
		next = append(next, add)
	}
	s.history = append(s.history, next)
}

// send puts from's release of its current view on the wire to every other live member.
func (s *sim) send(from string) {
	id := s.members[from].table.View().ID
	for _, to := range simNames {
		if to != from && s.members[to].table != nil {
			k := [2]string{from, to}
			s.wire[k] = append(s.wire[k], id)
		}
	}
}

// drop loses what is in flight to id: its process is gone.
func (s *sim) drop(id string) {
	for k := range s.wire {
		if k[1] == id {
			delete(s.wire, k)
		}
	}
}

// apply has id apply history[k]: on a change it stops the sessions of queues it lost, then sends
// its release.
func (s *sim) apply(id string, k int) {
	sm := s.members[id]
	if sm.table.Apply(s.history[k]) {
		for q := range sm.running {
			if !sm.table.Owns(q) {
				delete(sm.running, q)
			}
		}
		s.send(id)
	}
	sm.applied = k
}

// start has id start a session for every queue it may deliver and has none for.
func (s *sim) start(id string) {
	sm := s.members[id]
	for _, q := range simQueues {
		if sm.table.MayDeliver(q) {
			sm.running[q] = true
		}
	}
}

// deliver hands the oldest release on the wire from k[0] to k[1] to its receiver.
func (s *sim) deliver(k [2]string) {
	q := s.wire[k]
	view := q[0]
	if len(q) == 1 {
		delete(s.wire, k)
	} else {
		s.wire[k] = q[1:]
	}
	if to := s.members[k[1]].table; to != nil {
		to.Released(k[0], view)
	}
}

func (s *sim) channels() [][2]string {
	var ks [][2]string
	for k := range s.wire {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b [2]string) int {
		if a[0] != b[0] {
			return strings.Compare(a[0], b[0])
		}
		return strings.Compare(a[1], b[1])
	})
	return ks
}

// step runs one operation chosen by op, with next giving its arguments.
func (s *sim) step(op byte, next func() int) {
	id := simNames[next()%len(simNames)]
	sm := s.members[id]
	switch op % 10 {
	case 0, 1: // id applies a membership it has not seen, perhaps skipping some
		if sm.table == nil {
			return
		}
		lo := max(sm.applied+1, sm.joined)
		if hi := len(s.history) - 1; lo <= hi {
			s.apply(id, lo+next()%(hi-lo+1))
		}
	case 2, 3: // a release arrives
		if ks := s.channels(); len(ks) > 0 {
			s.deliver(ks[next()%len(ks)])
		}
	case 4: // id is killed; the membership drops it
		if sm.table == nil {
			return
		}
		sm.table = nil
		s.drop(id)
		if !sm.left {
			s.change(id, Member{})
		}
	case 5: // id starts again, with a new incarnation
		if sm.table != nil {
			return
		}
		sm.inc++
		*sm = simMember{table: New(m(id, sm.inc)), running: map[string]bool{}, inc: sm.inc, applied: -1}
		s.change(id, m(id, sm.inc))
		sm.joined = len(s.history) - 1
	case 6: // id crashes and restarts before the membership noticed: only the incarnation changes
		if sm.table == nil || sm.left {
			return
		}
		sm.inc++
		*sm = simMember{table: New(m(id, sm.inc)), running: map[string]bool{}, inc: sm.inc, applied: -1}
		s.drop(id)
		s.change(id, m(id, sm.inc))
		sm.joined = len(s.history) - 1
	case 7: // id leaves gracefully; once it has, the membership drops it
		if sm.table == nil || sm.left {
			return
		}
		before := sm.table.View().Epoch
		sm.table.Leave()
		sm.left = true
		clear(sm.running)
		if sm.table.View().Epoch != before {
			s.send(id)
		}
		s.change(id, Member{})
	case 8: // everyone catches up with the membership and every release arrives
		s.settle()
	case 9: // id starts the sessions it may
		if sm.table != nil {
			s.start(id)
		}
	}
}

// settle applies the last membership everywhere and delivers every release.
func (s *sim) settle() {
	for {
		for _, id := range simNames {
			if sm := s.members[id]; sm.table != nil && sm.applied < len(s.history)-1 {
				s.apply(id, len(s.history)-1)
			}
		}
		ks := s.channels()
		if len(ks) == 0 {
			return
		}
		for _, k := range ks {
			for len(s.wire[k]) > 0 {
				s.deliver(k)
			}
		}
	}
}

// check asserts the invariants: never two members that may deliver the same queue, or that run
// a session of it; only owners may, and none that has left. When every live member has applied the last membership and every
// release has arrived, all hold the same view and each queue's owner delivers it.
func (s *sim) check(step int) {
	quiet := len(s.wire) == 0
	var live []string
	for _, id := range simNames {
		if sm := s.members[id]; sm.table != nil {
			live = append(live, id)
			quiet = quiet && sm.applied == len(s.history)-1
		}
	}
	var ids []string
	for _, x := range s.last() {
		ids = append(ids, x.ID)
	}
	for _, q := range simQueues {
		var may []string
		for _, id := range live {
			tb := s.members[id].table
			if tb.MayDeliver(q) {
				may = append(may, id)
				if !tb.Owns(q) {
					s.t.Fatalf("step %d: %s may deliver %s, which it does not own", step, id, q)
				}
				if s.members[id].left {
					s.t.Fatalf("step %d: %s has left and may deliver %s", step, id, q)
				}
			}
		}
		var running []string
		for _, id := range live {
			if s.members[id].running[q] {
				running = append(running, id)
				if !s.members[id].table.Owns(q) {
					s.t.Fatalf("step %d: %s runs a session of %s, which it does not own", step, id, q)
				}
			}
		}
		if len(running) > 1 {
			s.t.Fatalf("step %d: %q all run a session of %s (views %v)", step, running, q, s.views())
		}
		if len(may) > 1 {
			s.t.Fatalf("step %d: %q may all deliver %s (views %v)", step, may, q, s.views())
		}
		if !quiet {
			continue
		}
		if owner := Owner(q, ids); owner != "" && !slices.Equal(may, []string{owner}) {
			s.t.Fatalf("step %d: all settled, %s is owned by %s, but %q may deliver it (views %v)", step, q, owner, may, s.views())
		}
	}
	if quiet {
		s.settled++
		for _, id := range live {
			if got, want := s.members[id].table.View().ID, viewID(sortedMembers(s.last())); got != want {
				s.t.Fatalf("step %d: all settled, %s is in view %#x, not %#x", step, id, got, want)
			}
		}
	}
}

func sortedMembers(ms []Member) []Member {
	out := slices.Clone(ms)
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// views describes the members' views, for a failure.
func (s *sim) views() map[string][]Member {
	out := map[string][]Member{}
	for _, id := range simNames {
		if tb := s.members[id].table; tb != nil {
			out[id] = tb.View().Members
		}
	}
	return out
}

// run plays ops on a fresh simulation, checking after every step.
func runSim(t *testing.T, ops []byte) *sim {
	s := newSim(t)
	i := 0
	next := func() int {
		if i >= len(ops) {
			return 0
		}
		i++
		return int(ops[i-1])
	}
	for step := 0; i < len(ops); step++ {
		before := map[string]bool{}
		for _, q := range simQueues {
			for _, id := range simNames {
				if tb := s.members[id].table; tb != nil && tb.MayDeliver(q) {
					before[q+"/"+id] = true
				}
			}
		}
		s.step(byte(next()), next)
		s.check(step)
		for _, q := range simQueues {
			for _, id := range simNames {
				if tb := s.members[id].table; tb != nil && tb.MayDeliver(q) && !before[q+"/"+id] {
					s.handovers++
				}
			}
		}
	}
	return s
}

// FuzzTable plays random sequences of memberships, kills, restarts, Leaves and releases across
// three members and checks the fencing invariants after every step.
func FuzzTable(f *testing.F) {
	f.Add([]byte{8, 0})
	f.Add([]byte{0, 0, 0, 0, 1, 1, 0, 1, 1, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0})
	f.Add([]byte{8, 0, 4, 2, 0, 0, 0, 0, 1, 2, 2, 1, 5, 2, 0, 2, 0, 2, 9, 0, 8, 0})
	f.Add([]byte{8, 0, 6, 1, 0, 1, 0, 2, 1, 0, 2, 3, 2, 7, 0, 0, 1, 0, 2, 8, 0})
	f.Add([]byte{8, 0, 7, 0, 0, 1, 0, 0, 2, 0, 2, 1, 2, 2, 2, 3, 8, 0, 5, 0, 8, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 4000 {
			ops = ops[:4000]
		}
		runSim(t, ops)
	})
}

// TestTableRandom runs the simulation of FuzzTable on many fixed pseudo-random sequences, so
// that every go test explores it, and checks that the runs reach settled states and handovers.
func TestTableRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	settled, handovers := 0, 0
	for run := 0; run < 1500; run++ {
		ops := make([]byte, 20+rng.IntN(400))
		for i := range ops {
			ops[i] = byte(rng.UintN(256))
		}
		s := runSim(t, ops)
		settled += s.settled
		handovers += s.handovers
	}
	t.Logf("settled %d, handovers %d", settled, handovers)
	if settled < 1000 || handovers < 1000 {
		t.Errorf("the runs settled %d times with %d handovers: too few to show anything", settled, handovers)
	}
}
