package membership

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/cluster"
	"github.com/anthdm/hollywood/remote"

	"github.com/hookd/hookd/internal/loopback"
)

// These tests run real members in one process: each has its own hollywood engine, with a remote
// listening on a loopback port, and a hollywood cluster whose provider is a Membership. Real time
// is unavoidable here: durations are short and bounds generous.

const (
	testHeartbeat = 100 * time.Millisecond
	testDeadAfter = time.Second
	testWait      = 5 * time.Second // the most any condition below may take
)

// freeAddr is a loopback address nobody listens at, never handed out twice.
func freeAddr(t *testing.T) string { return loopback.TestAddr(t) }

// member is one running member and what its callbacks saw.
type member struct {
	t       *testing.T
	id      string
	addr    string
	m       *Membership
	remote  *remote.Remote
	engine  *actor.Engine
	cluster *cluster.Cluster

	mu       sync.Mutex
	views    []View
	fatals   []error
	released []releasedView
	events   []string // the hollywood cluster events of the engine: "join c", "leave c"
	changed  chan struct{}
	stopped  bool
}

type launchOpt struct {
	mod      func(*Config)
	protocol uint32
}

func launch(t *testing.T, id, addr string, peers []string, opts ...launchOpt) *member {
	t.Helper()
	tm := &member{t: t, id: id, addr: addr, changed: make(chan struct{}, 1)}
	cfg := Config{ID: id, Addr: addr, Peers: peers, PolicyHash: "policy-1",
		Incarnation: uint64(time.Now().UnixNano()), Heartbeat: testHeartbeat, DeadAfter: testDeadAfter,
		JoinTimeout: 3 * time.Second,
		OnView:      func(v View) { tm.record(func() { tm.views = append(tm.views, v) }) },
		OnFatal:     func(err error) { tm.record(func() { tm.fatals = append(tm.fatals, err) }) },
		OnReleased: func(peer string, view uint64) {
			tm.record(func() { tm.released = append(tm.released, releasedView{peer: peer, view: view}) })
		},
	}
	for _, o := range opts {
		if o.mod != nil {
			o.mod(&cfg)
		}
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		if o.protocol != 0 {
			m.protocol = o.protocol
		}
	}
	tm.m = m
	tm.engine, tm.remote, err = NewEngine(addr, remote.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	events := tm.engine.SpawnFunc(func(c *actor.Context) {
		switch e := c.Message().(type) {
		case cluster.MemberJoinEvent:
			tm.record(func() { tm.events = append(tm.events, "join "+e.Member.ID) })
		case cluster.MemberLeaveEvent:
			tm.record(func() { tm.events = append(tm.events, "leave "+e.Member.ID) })
		}
	}, "test", actor.WithID("events"))
	tm.engine.Subscribe(events)
	tm.cluster, err = cluster.New(cluster.NewConfig().WithEngine(tm.engine).WithID(id).WithListenAddr(addr).
		WithProvider(m.Provider()))
	if err != nil {
		t.Fatal(err)
	}
	tm.cluster.Start()
	groupOf(t).add(tm)
	return tm
}

func (tm *member) record(f func()) {
	tm.mu.Lock()
	f()
	tm.mu.Unlock()
	select {
	case tm.changed <- struct{}{}:
	default:
	}
}

// group is the members one test started. They stop together: all leave, then all clusters stop
// (no membership actor sends any more), then all remotes, so that no member sends to one whose
// remote is gone (see node: hollywood's router would stall for 3 s dialing it).
type group struct{ members []*member }

var (
	groupsMu sync.Mutex
	groups   = map[*testing.T]*group{}
)

func groupOf(t *testing.T) *group {
	groupsMu.Lock()
	defer groupsMu.Unlock()
	g := groups[t]
	if g == nil {
		g = &group{}
		groups[t] = g
		t.Cleanup(func() {
			groupsMu.Lock()
			delete(groups, t)
			groupsMu.Unlock()
			g.stop()
		})
	}
	return g
}

func (g *group) add(tm *member) {
	groupsMu.Lock()
	g.members = append(g.members, tm)
	groupsMu.Unlock()
}

func (g *group) stop() {
	var live []*member
	for _, tm := range g.members {
		tm.mu.Lock()
		if !tm.stopped {
			tm.stopped = true
			live = append(live, tm)
		}
		tm.mu.Unlock()
	}
	for _, tm := range live {
		tm.m.Leave()
	}
	for _, tm := range live {
		tm.cluster.Stop()
	}
	for _, tm := range live {
		tm.remote.Stop().Wait()
	}
}

// kill stops the member's remote, then its cluster, without Leave: as when the process is killed.
func (tm *member) kill() {
	tm.mu.Lock()
	if tm.stopped {
		tm.mu.Unlock()
		return
	}
	tm.stopped = true
	tm.mu.Unlock()
	tm.remote.Stop().Wait() // first: nothing more goes in or out, as when the process is killed
	tm.cluster.Stop()
}

// waitFor waits until cond, called under the member's lock, holds.
func (tm *member) waitFor(what string, cond func() bool) {
	tm.t.Helper()
	deadline := time.After(testWait)
	for {
		tm.mu.Lock()
		ok := cond()
		tm.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-tm.changed:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			tm.mu.Lock()
			defer tm.mu.Unlock()
			tm.t.Fatalf("member %s: %s: not within %v (views %v, fatal %v, events %v)", tm.id, what, testWait,
				tm.views, tm.fatals, tm.events)
		}
	}
}

// waitView waits until the last view published has exactly ids.
func (tm *member) waitView(ids ...string) View {
	tm.t.Helper()
	want := strings.Join(ids, ",")
	tm.waitFor("view "+want, func() bool {
		return len(tm.views) > 0 && strings.Join(tm.views[len(tm.views)-1].IDs(), ",") == want
	})
	return tm.last()
}

func (tm *member) last() View {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if len(tm.views) == 0 {
		return View{}
	}
	return tm.views[len(tm.views)-1]
}

// waitFatal waits for OnFatal and returns its error.
func (tm *member) waitFatal() error {
	tm.t.Helper()
	tm.waitFor("OnFatal", func() bool { return len(tm.fatals) > 0 })
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.fatals[0]
}

// agentMembers waits until hollywood's own view (c.Members()) holds exactly ids, hosts checked.
func (tm *member) agentMembers(want map[string]string) {
	tm.t.Helper()
	deadline := time.Now().Add(testWait)
	for {
		got := map[string]string{}
		for _, m := range tm.cluster.Members() {
			got[m.ID] = m.Host
		}
		if len(got) == len(want) && !slices.ContainsFunc(keys(want), func(id string) bool { return got[id] != want[id] }) {
			return
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("member %s: hollywood's c.Members() is %v, want %v", tm.id, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// trio starts three members that list each other (and themselves) as peers.
func trio(t *testing.T, opts ...launchOpt) (a, b, c *member, peers []string) {
	t.Helper()
	peers = []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	a = launch(t, "a", peers[0], peers, opts...)
	b = launch(t, "b", peers[1], peers, opts...)
	c = launch(t, "c", peers[2], peers, opts...)
	for _, m := range []*member{a, b, c} {
		m.waitView("a", "b", "c")
	}
	return a, b, c, peers
}

func TestThreeMembersFormOneView(t *testing.T) {
	t.Parallel()
	a, b, c, peers := trio(t)
	hosts := map[string]string{"a": peers[0], "b": peers[1], "c": peers[2]}
	for _, m := range []*member{a, b, c} {
		m.mu.Lock()
		first := m.views[0]
		m.mu.Unlock()
		if got := strings.Join(first.IDs(), ","); got != "a,b,c" {
			t.Fatalf("%s's first view is %q: it was published before every peer answered", m.id, got)
		}
		for _, x := range first.Members {
			if x.Addr != hosts[x.ID] {
				t.Fatalf("%s sees %+v at the wrong address", m.id, x)
			}
		}
		if got := m.m.Members(); len(got.Members) != 3 {
			t.Fatalf("%s: Members() = %v", m.id, got)
		}
		m.agentMembers(hosts)
	}
	if x, _ := a.last().Member("b"); x.Incarnation != b.m.cfg.Incarnation {
		t.Fatalf("a sees b as %+v, b runs incarnation %d", x, b.m.cfg.Incarnation)
	}
}

func TestKilledMemberIsDroppedAndRejoins(t *testing.T) {
	t.Parallel()
	a, b, c, peers := trio(t)
	killed := time.Now()
	c.kill()
	for _, m := range []*member{a, b} {
		m.waitView("a", "b")
		if took := time.Since(killed); took < testDeadAfter/2 {
			t.Fatalf("%s dropped c %v after it was killed, well before DeadAfter %v", m.id, took, testDeadAfter)
		}
		m.agentMembers(map[string]string{"a": peers[0], "b": peers[1]})
	}
	c2 := launch(t, "c", peers[2], peers)
	for _, m := range []*member{a, b, c2} {
		m.waitView("a", "b", "c")
	}
	if x, _ := a.last().Member("c"); x.Incarnation != c2.m.cfg.Incarnation {
		t.Fatalf("a sees c as %+v, the new run is incarnation %d", x, c2.m.cfg.Incarnation)
	}
	a.agentMembers(map[string]string{"a": peers[0], "b": peers[1], "c": peers[2]})
	a.waitFor("hollywood events leave c, join c", func() bool {
		i := slices.Index(a.events, "leave c")
		return i >= 0 && slices.Contains(a.events[i:], "join c")
	})
}

func TestHungMemberIsDroppedAndRejoins(t *testing.T) {
	t.Parallel()
	a, b, c, _ := trio(t)
	hung := time.Now()
	c.m.running().frozen.Store(true) // c neither hears nor speaks; its sockets stay open
	for _, m := range []*member{a, b} {
		m.waitView("a", "b")
		if took := time.Since(hung); took < testDeadAfter/2 {
			t.Fatalf("%s dropped c %v after it hung, well before DeadAfter %v", m.id, took, testDeadAfter)
		}
	}
	c.m.running().frozen.Store(false) // it speaks again: the same run shakes hands again
	for _, m := range []*member{a, b, c} {
		m.waitView("a", "b", "c")
	}
	if x, _ := a.last().Member("c"); x.Incarnation != c.m.cfg.Incarnation {
		t.Fatalf("a sees c as %+v", x)
	}
}

func TestRestartedMemberIsLeaveThenJoin(t *testing.T) {
	t.Parallel()
	a, _, c, peers := trio(t)
	a.mu.Lock()
	before := len(a.views)
	a.mu.Unlock()
	c.kill()
	restarted := time.Now()
	c2 := launch(t, "c", peers[2], peers) // at once: c is not yet found dead
	a.waitFor("c's new run in the view", func() bool {
		x, ok := tmLast(a).Member("c")
		return ok && x.Incarnation == c2.m.cfg.Incarnation
	})
	a.mu.Lock()
	views := slices.Clone(a.views[before:])
	a.mu.Unlock()
	if len(views) != 2 || strings.Join(views[0].IDs(), ",") != "a,b" {
		t.Fatalf("a's views after c restarted: %v, want [a b] then [a b c]", views)
	}
	if took := time.Since(restarted); took > testDeadAfter {
		t.Logf("the restart was seen after %v: c may have been found dead first", took)
	}
	a.waitFor("hollywood events leave c, join c", func() bool {
		i := slices.Index(a.events, "leave c")
		return i >= 0 && slices.Contains(a.events[i:], "join c")
	})
}

// running is the membership's actor.
func (m *Membership) running() *node {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.node
}

// tmLast is m.last() for use under m's lock.
func tmLast(m *member) View {
	if len(m.views) == 0 {
		return View{}
	}
	return m.views[len(m.views)-1]
}

func TestLeaveDropsAtOnce(t *testing.T) {
	t.Parallel()
	slow := launchOpt{mod: func(c *Config) { c.DeadAfter = 4 * time.Second }}
	a, b, c, _ := trio(t, slow)
	start := time.Now()
	c.m.Leave()
	if took := time.Since(start); took > 700*time.Millisecond {
		t.Fatalf("Leave took %v: the peers' acknowledgements did not come", took)
	}
	for _, m := range []*member{a, b} {
		m.waitView("a", "b")
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("the peers dropped c %v after Leave; DeadAfter is 4s", took)
	}
	c.mu.Lock()
	n := len(c.views)
	c.mu.Unlock()
	time.Sleep(3 * testHeartbeat)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.views) != n {
		t.Fatalf("c published %v after Leave", c.views[n:])
	}
	c.m.Leave() // again: nothing
}

func TestRefusedJoins(t *testing.T) {
	t.Parallel()
	policy2 := launchOpt{mod: func(c *Config) { c.PolicyHash = "policy-2" }}
	for _, tc := range []struct {
		name string
		id   string // of the joiner
		opt  launchOpt
		want string // with A and B for the addresses of a and b
	}{
		{"our own id", "a", launchOpt{}, `hookd: cluster: member "a" at A refused us: the cluster id "a" is already used by the member at A`},
		{"a live member's id", "b", launchOpt{}, `hookd: cluster: member "a" at A refused us: the cluster id "b" is already used by the member at B`},
		{"policy hash", "x", policy2, `hookd: cluster: member "a" at A refused us: it runs policy hash "policy-1", we run "policy-2"`},
		{"protocol", "x", launchOpt{protocol: 2}, `hookd: cluster: member "a" at A refused us: it speaks membership protocol 1, we speak 2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			aAddr, bAddr := freeAddr(t), freeAddr(t)
			a := launch(t, "a", aAddr, nil)
			b := launch(t, "b", bAddr, []string{aAddr})
			a.waitView("a", "b")
			x := launch(t, tc.id, freeAddr(t), []string{aAddr}, tc.opt)
			err := x.waitFatal()
			want := strings.NewReplacer("at A", "at "+aAddr, "at B", "at "+bAddr).Replace(tc.want)
			if err.Error() != want {
				t.Fatalf("OnFatal(%q)\nwant     %q", err, want)
			}
			time.Sleep(3 * testHeartbeat)
			for _, m := range []*member{a, b} {
				m.mu.Lock()
				for _, v := range m.views {
					if slices.ContainsFunc(v.Members, func(o Member) bool { return o.Addr == x.addr }) {
						t.Errorf("%s took the refused member into view %v", m.id, v)
					}
				}
				if got := strings.Join(tmLast(m).IDs(), ","); got != "a,b" {
					t.Errorf("%s's view is %q", m.id, got)
				}
				if len(m.fatals) > 0 {
					t.Errorf("%s stopped too: %v", m.id, m.fatals)
				}
				m.mu.Unlock()
			}
			x.mu.Lock()
			defer x.mu.Unlock()
			if len(x.views) != 0 || len(x.fatals) != 1 {
				t.Fatalf("the refused member published %v and stopped %d times", x.views, len(x.fatals))
			}
		})
	}
}

func TestNoPeerAnswered(t *testing.T) {
	t.Parallel()
	p1, p2 := freeAddr(t), freeAddr(t)
	x := launch(t, "x", freeAddr(t), []string{p1, p2}, launchOpt{mod: func(c *Config) { c.JoinTimeout = 300 * time.Millisecond }})
	err := x.waitFatal()
	want := "hookd: cluster: no member of --cluster-peers answered within 300ms: " + p1 + ", " + p2
	if err.Error() != want {
		t.Fatalf("OnFatal(%q), want %q", err, want)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.views) != 0 {
		t.Fatalf("views %v published", x.views)
	}
}

func TestReleasePropagates(t *testing.T) {
	t.Parallel()
	a, b, c, peers := trio(t)
	a.m.Release(5)
	a.m.Release(7) // view ids are hashes: the latest release counts, whatever its value
	for _, m := range []*member{b, c} {
		m.waitFor("a's release of view 7", func() bool {
			return len(m.released) > 0 && m.released[len(m.released)-1].view == 7
		})
	}
	d := launch(t, "d", freeAddr(t), peers[:1]) // joins later: hears it from a's heartbeats
	d.waitFor("a's release of view 7", func() bool {
		return len(d.released) > 0 && d.released[len(d.released)-1].view == 7
	})
	time.Sleep(3 * testHeartbeat)
	for _, m := range []*member{b, c, d} {
		m.mu.Lock()
		got := slices.Clone(m.released)
		m.mu.Unlock()
		if len(got) == 0 || got[len(got)-1] != (releasedView{peer: "a", view: 7}) || len(got) > 2 {
			t.Fatalf("%s heard releases %v, want a's view 7 last (after 5 at most)", m.id, got)
		}
	}
}
