package membership

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hookd/hookd/wire"
)

// The core's tests run members on a simulated network: messages are delivered in order, at once,
// to the member at the address they name (or dropped when nobody is there or the member is down),
// and time moves in heartbeat steps. Everything is deterministic.

const (
	simHeartbeat   = 100 * time.Millisecond
	simDeadAfter   = time.Second
	simJoinTimeout = 3 * time.Second
)

type simMember struct {
	cfg      Config
	core     *core
	started  time.Time
	views    []View
	at       []time.Time // when each view was published
	agent    [][]string  // the ids of each set handed to the agent
	fatal    error
	released []releasedView
	left     bool
	down     bool // hung or dead: hears nothing, says nothing
}

func (m *simMember) last() View {
	if len(m.views) == 0 {
		return View{}
	}
	return m.views[len(m.views)-1]
}

type simMsg struct {
	from, to string
	msg      proto.Message
}

type simnet struct {
	t       *testing.T
	now     time.Time
	members map[string]*simMember // by address
	alias   map[string]string     // another name of an address
	queue   []simMsg
	runs    uint64
	speak   uint32 // when set, the protocol version the next member speaks
}

func newSimnet(t *testing.T) *simnet {
	return &simnet{t: t, now: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC), members: map[string]*simMember{},
		alias: map[string]string{}}
}

// start runs a member (a new run, replacing whatever ran at addr) and delivers what follows.
func (n *simnet) start(id, addr string, peers []string, mod func(*Config)) *simMember {
	n.t.Helper()
	n.runs++
	cfg := Config{ID: id, Addr: addr, Peers: peers, PolicyHash: "policy-1", Incarnation: n.runs,
		Heartbeat: simHeartbeat, DeadAfter: simDeadAfter, JoinTimeout: simJoinTimeout}
	if mod != nil {
		mod(&cfg)
	}
	mm, err := New(cfg)
	if err != nil {
		n.t.Fatal(err)
	}
	if n.speak != 0 {
		mm.protocol, n.speak = n.speak, 0
	}
	m := &simMember{cfg: mm.cfg, core: newCore(mm.cfg, mm.peers, mm.protocol, nil, "default"), started: n.now}
	n.members[addr] = m
	m.core.start(n.now)
	n.collect(m)
	n.settle()
	return m
}

func (n *simnet) collect(m *simMember) {
	e := m.core.take()
	for _, s := range e.sends {
		n.queue = append(n.queue, simMsg{from: m.cfg.Addr, to: s.addr, msg: proto.Clone(s.msg)})
	}
	for _, p := range e.views {
		m.views = append(m.views, p.view)
		m.at = append(m.at, n.now)
		var ids []string
		for _, a := range p.agent {
			ids = append(ids, a.ID)
		}
		m.agent = append(m.agent, ids)
	}
	m.released = append(m.released, e.released...)
	if e.fatal != nil {
		if m.fatal != nil {
			n.t.Fatalf("member %s: second fatal error %v after %v", m.cfg.ID, e.fatal, m.fatal)
		}
		m.fatal = e.fatal
	}
	if e.leaveDone {
		m.left = true
	}
}

// settle delivers every message in flight, and those they cause.
func (n *simnet) settle() {
	for len(n.queue) > 0 {
		msg := n.queue[0]
		n.queue = n.queue[1:]
		if src := n.members[msg.from]; src != nil && src.down {
			continue
		}
		to := msg.to
		if real, ok := n.alias[to]; ok {
			to = real
		}
		dst := n.members[to]
		if dst == nil || dst.down {
			continue
		}
		dst.core.receive(n.now, msg.msg)
		n.collect(dst)
	}
}

// run moves time on by d, in heartbeats: each member ticks, and JoinTimeout passes when due.
func (n *simnet) run(d time.Duration) {
	for end := n.now.Add(d); n.now.Before(end); {
		n.now = n.now.Add(simHeartbeat)
		addrs := make([]string, 0, len(n.members))
		for addr := range n.members {
			addrs = append(addrs, addr)
		}
		slices.Sort(addrs)
		for _, addr := range addrs {
			m := n.members[addr]
			if m.down {
				continue
			}
			if n.now.Sub(m.started) == m.cfg.JoinTimeout {
				m.core.joinTimedOut()
			}
			m.core.tick(n.now)
			n.collect(m)
			n.settle()
		}
	}
}

func ids(v View) string { return strings.Join(v.IDs(), ",") }

func wantView(t *testing.T, m *simMember, want string) {
	t.Helper()
	if got := ids(m.last()); got != want {
		t.Fatalf("member %s: last view %q, want %q (views %v)", m.cfg.ID, got, want, m.views)
	}
}

func TestCoreThreeMembersFormOneView(t *testing.T) {
	n := newSimnet(t)
	peers := []string{"h:1", "h:2", "h:3"}
	a := n.start("a", "h:1", peers, nil)
	n.run(5 * simHeartbeat)
	b := n.start("b", "h:2", peers, nil)
	n.run(5 * simHeartbeat)
	c := n.start("c", "h:3", peers, nil)
	n.run(20 * simHeartbeat)
	for _, m := range []*simMember{a, b, c} {
		if len(m.views) != 1 || ids(m.views[0]) != "a,b,c" {
			t.Fatalf("member %s: views %v, want only [a b c]: the first view waits for every peer", m.cfg.ID, m.views)
		}
		if !slices.Equal(m.agent[0], []string{"a", "b", "c"}) {
			t.Fatalf("member %s: agent got %v", m.cfg.ID, m.agent)
		}
		if m.fatal != nil {
			t.Fatal(m.fatal)
		}
	}
	if m, _ := a.last().Member("c"); m.Addr != "h:3" || m.Incarnation != c.cfg.Incarnation {
		t.Fatalf("a sees c as %+v", m)
	}
}

func TestCoreDiscoversMembersThroughWelcome(t *testing.T) {
	n := newSimnet(t)
	a := n.start("a", "h:1", nil, nil)
	b := n.start("b", "h:2", []string{"h:1"}, nil)
	c := n.start("c", "h:3", []string{"h:1"}, nil) // knows only a; finds b in a's Welcome
	n.run(3 * simHeartbeat)
	for _, m := range []*simMember{a, b, c} {
		wantView(t, m, "a,b,c")
	}
}

func TestCoreFirstViewWaitsForPeersOrJoinTimeout(t *testing.T) {
	n := newSimnet(t)
	b := n.start("b", "h:2", []string{"h:1"}, nil)
	a := n.start("a", "h:1", []string{"h:2", "h:3"}, nil) // h:3 never answers
	wantView(t, b, "a,b")
	n.run(simJoinTimeout - simHeartbeat)
	if len(a.views) != 0 {
		t.Fatalf("a published %v before JoinTimeout while h:3 has not answered", a.views)
	}
	n.run(simHeartbeat)
	if len(a.views) != 1 || ids(a.views[0]) != "a,b" || a.fatal != nil {
		t.Fatalf("at JoinTimeout a has views %v, fatal %v", a.views, a.fatal)
	}
	c := n.start("c", "h:3", nil, nil) // h:3 comes up late: a keeps asking it to join
	n.run(3 * simHeartbeat)
	wantView(t, a, "a,b,c")
	wantView(t, c, "a,b,c")
	wantView(t, b, "a,b,c")
}

func TestCoreAloneWithoutPeers(t *testing.T) {
	n := newSimnet(t)
	a := n.start("a", "h:1", []string{"h:1"}, nil) // our own address is ignored
	if len(a.views) != 1 || ids(a.views[0]) != "a" {
		t.Fatalf("views %v", a.views)
	}
	n.alias["other-name-of-b:2"] = "h:2"
	b := n.start("b", "h:2", []string{"other-name-of-b:2"}, nil) // the peer entry is b itself
	if len(b.views) != 1 || ids(b.views[0]) != "b" || b.fatal != nil {
		t.Fatalf("b, whose only peer is itself, has views %v, fatal %v", b.views, b.fatal)
	}
}

func TestCoreNoPeerAnswered(t *testing.T) {
	n := newSimnet(t)
	a := n.start("a", "h:1", []string{"h:2", "h:3"}, nil)
	n.run(simJoinTimeout)
	want := "hookd: cluster: no member of --cluster-peers answered within 3s: h:2, h:3"
	if a.fatal == nil || a.fatal.Error() != want {
		t.Fatalf("fatal = %v, want %q", a.fatal, want)
	}
	if len(a.views) != 0 {
		t.Fatalf("views %v published", a.views)
	}
	sent := len(n.queue)
	n.run(10 * simHeartbeat)
	if len(n.queue) != sent {
		t.Fatal("a stopped member still sends")
	}
}

func TestCoreSilentMemberIsDeadAfterDeadAfter(t *testing.T) {
	n := newSimnet(t)
	peers := []string{"h:1", "h:2", "h:3"}
	a := n.start("a", "h:1", peers, nil)
	b := n.start("b", "h:2", peers, nil)
	c := n.start("c", "h:3", peers, nil)
	n.run(5 * simHeartbeat)
	wantView(t, a, "a,b,c")
	hung := n.now // c's last heartbeat went out at this tick
	c.down = true
	n.run(simDeadAfter - simHeartbeat)
	wantView(t, a, "a,b,c")
	n.run(simHeartbeat)
	for _, m := range []*simMember{a, b} {
		wantView(t, m, "a,b")
		if at := m.at[len(m.at)-1]; at.Sub(hung) != simDeadAfter {
			t.Fatalf("%s dropped c %v after its last heartbeat, want %v", m.cfg.ID, at.Sub(hung), simDeadAfter)
		}
	}

	// c wakes up: it finds a and b silent, then shakes hands again; same run, same incarnation.
	n.run(simDeadAfter)
	c.down = false
	n.run(5 * simHeartbeat)
	for _, m := range []*simMember{a, b, c} {
		wantView(t, m, "a,b,c")
	}
	if m, _ := a.last().Member("c"); m.Incarnation != c.cfg.Incarnation {
		t.Fatalf("a sees c as %+v", m)
	}
}

func TestCoreRestartIsLeaveThenJoin(t *testing.T) {
	n := newSimnet(t)
	peers := []string{"h:1", "h:2", "h:3"}
	a := n.start("a", "h:1", peers, nil)
	n.start("b", "h:2", peers, nil)
	c1 := n.start("c", "h:3", peers, nil)
	n.run(3 * simHeartbeat)
	before := len(a.views)
	c2 := n.start("c", "h:3", peers, nil) // a new run at the same address, before c1 is found dead
	n.run(3 * simHeartbeat)
	got := a.views[before:]
	if len(got) != 2 || ids(got[0]) != "a,b" || ids(got[1]) != "a,b,c" {
		t.Fatalf("a's views after c restarted: %v, want [a b] then [a b c]", got)
	}
	if !slices.Equal(a.agent[before], []string{"a", "b"}) {
		t.Fatalf("the agent was not told c left: %v", a.agent[before:])
	}
	if m, _ := a.last().Member("c"); m.Incarnation != c2.cfg.Incarnation || m.Incarnation == c1.cfg.Incarnation {
		t.Fatalf("a sees c as %+v", m)
	}
	// A late Join of the past run changes nothing.
	late := &wire.Join{Member: &wire.MemberInfo{Id: "c", Addr: "h:3", Incarnation: c1.cfg.Incarnation}, PolicyHash: "policy-1",
		Protocol: Protocol}
	a.core.receive(n.now, late)
	n.collect(a)
	n.settle()
	if len(a.views) != before+2 {
		t.Fatalf("a late Join of c's past run changed a's view: %v", a.views[before+2:])
	}
}

func TestCoreLeave(t *testing.T) {
	n := newSimnet(t)
	peers := []string{"h:1", "h:2", "h:3"}
	a := n.start("a", "h:1", peers, nil)
	b := n.start("b", "h:2", peers, nil)
	c := n.start("c", "h:3", peers, nil)
	n.run(3 * simHeartbeat)
	views := len(c.views)
	c.core.leave()
	n.collect(c)
	n.settle()
	wantView(t, a, "a,b")
	wantView(t, b, "a,b")
	if !c.left {
		t.Fatal("c's Leave was not acknowledged by a and b")
	}
	n.run(simDeadAfter)
	if len(c.views) != views {
		t.Fatalf("c published %v after it left", c.views[views:])
	}
	wantView(t, a, "a,b")
}

func TestCoreRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(n *simnet) *simMember // returns the member that must stop
		want  string
	}{
		{"our own id", func(n *simnet) *simMember {
			n.start("a", "h:1", nil, nil)
			return n.start("a", "h:9", []string{"h:1"}, nil)
		}, `hookd: cluster: member "a" at h:1 refused us: the cluster id "a" is already used by the member at h:1`},
		{"a live member's id", func(n *simnet) *simMember {
			n.start("a", "h:1", nil, nil)
			n.start("b", "h:2", []string{"h:1"}, nil)
			return n.start("b", "h:9", []string{"h:1"}, nil)
		}, `hookd: cluster: member "a" at h:1 refused us: the cluster id "b" is already used by the member at h:2`},
		{"a live member's id, found by the welcomer", func(n *simnet) *simMember {
			n.start("b", "h:2", nil, nil)
			dup := n.start("b", "h:9", nil, nil)
			n.start("a", "h:1", []string{"h:2", "h:9"}, nil)
			return dup
		}, `hookd: cluster: member "a" at h:1 refused us: the cluster id "b" is already used by the member at h:2`},
		{"policy hash", func(n *simnet) *simMember {
			n.start("a", "h:1", nil, nil)
			return n.start("x", "h:9", []string{"h:1"}, func(c *Config) { c.PolicyHash = "policy-2" })
		}, `hookd: cluster: member "a" at h:1 refused us: it runs policy hash "policy-1", we run "policy-2"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newSimnet(t)
			stopped := tc.setup(n)
			n.run(3 * simHeartbeat)
			if stopped.fatal == nil || stopped.fatal.Error() != tc.want {
				t.Fatalf("fatal = %v\nwant    %s", stopped.fatal, tc.want)
			}
			for addr, m := range n.members {
				if m != stopped && m.fatal != nil {
					t.Fatalf("%s also stopped: %v", addr, m.fatal)
				}
				for _, v := range m.views {
					if x, ok := v.Member(stopped.cfg.ID); ok && x.Addr == stopped.cfg.Addr && m != stopped {
						t.Fatalf("%s took the refused member into view %v", addr, v)
					}
				}
			}
		})
	}
}

func TestCoreProtocolMismatch(t *testing.T) {
	n := newSimnet(t)
	n.start("a", "h:1", nil, nil)
	n.speak = 2
	x := n.start("x", "h:9", []string{"h:1"}, nil)
	n.run(3 * simHeartbeat)
	want := `hookd: cluster: member "a" at h:1 refused us: it speaks membership protocol 1, we speak 2`
	if x.fatal == nil || x.fatal.Error() != want {
		t.Fatalf("fatal = %v, want %s", x.fatal, want)
	}
}

func TestCoreRelease(t *testing.T) {
	n := newSimnet(t)
	peers := []string{"h:1", "h:2", "h:3"}
	a := n.start("a", "h:1", peers, nil)
	b := n.start("b", "h:2", peers, nil)
	c := n.start("c", "h:3", peers, nil)
	n.run(3 * simHeartbeat)
	a.core.release(3)
	a.core.release(3) // the same view again: nothing new
	n.collect(a)
	n.settle()
	for _, m := range []*simMember{b, c} {
		if !slices.Equal(m.released, []releasedView{{peer: "a", view: 3}}) {
			t.Fatalf("%s heard releases %v", m.cfg.ID, m.released)
		}
	}
	n.run(5 * simHeartbeat) // heartbeats repeat it; nobody hears it twice
	d := n.start("d", "h:4", []string{"h:1"}, nil)
	n.run(5 * simHeartbeat)
	for _, m := range []*simMember{b, c, d} {
		if !slices.Equal(m.released, []releasedView{{peer: "a", view: 3}}) {
			t.Fatalf("%s heard releases %v", m.cfg.ID, m.released)
		}
	}
	if len(a.released) != 0 {
		t.Fatalf("a heard its own release: %v", a.released)
	}
}

func TestCoreIgnoresMalformed(t *testing.T) {
	n := newSimnet(t)
	a := n.start("a", "h:1", nil, nil)
	for i, msg := range []proto.Message{&wire.Join{}, &wire.Welcome{}, &wire.Heartbeat{}, &wire.Leave{},
		&wire.Released{}, &wire.LeaveAck{}, &wire.Join{Member: &wire.MemberInfo{Id: "x"}}} {
		a.core.receive(n.now, msg)
		n.collect(a)
		n.settle()
		if a.fatal != nil || len(a.views) != 1 {
			t.Fatalf("message %d (%T): fatal %v, views %v", i, msg, a.fatal, a.views)
		}
	}
}
