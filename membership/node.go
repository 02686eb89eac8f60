package membership

import (
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/cluster"
	"google.golang.org/protobuf/proto"

	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/wire"
)

// maxPending bounds the messages kept for an address while it is probed.
const maxPending = 16

// node is the membership actor (PID(Addr)): it runs a core, feeds it the messages of other members
// and the clock's ticks, and carries out its effects over hollywood's remote.
//
// Sending to an address nobody listens at is not free in hollywood v1.0.5: the remote's single
// stream router dials inside its own receive loop, retrying for 0+1+2 s, so every message to every
// other member waits meanwhile, and the dial has no timeout of its own. A node therefore hands
// hollywood a message straight away only for a live member whose address a probe of its own (a
// short dial) reached since hollywood last reported it unreachable (actor.RemoteUnreachableEvent).
// Anything else (a Join to a peer not in the view, an answer to a member not yet admitted) waits
// for a probe, and is dropped when the probe fails: heartbeats and joins repeat. One stall remains
// possible: a message that reaches the router after it learnt of a lost connection and before the
// node did.
type node struct {
	m       *Membership
	c       *cluster.Cluster
	engine  *actor.Engine
	clock   clock.Clock
	core    *core
	pid     *actor.PID
	links   map[string]*link
	tick    clock.Timer
	joinT   clock.Timer
	probeTO time.Duration
	waiting []chan struct{} // Leave calls waiting for the peers' acknowledgements

	started atomic.Bool
	ended   atomic.Bool
	frozen  atomic.Bool // tests: the member hangs, neither hearing nor speaking
	stopped chan struct{}
}

// link is what the node knows of the connection to one address.
type link struct {
	up      bool // a probe connected since hollywood last reported the address unreachable
	probing bool
	pending []proto.Message
}

// The node's own messages.
type (
	tickMsg        struct{}
	joinTimeoutMsg struct{}
	probeDone      struct {
		addr string
		ok   bool
	}
	releaseCmd struct{ view uint64 }
	leaveCmd   struct{ done chan struct{} }
)

func newNode(m *Membership, c *cluster.Cluster) *node {
	var kinds []string
	region := c.Region()
	if self := c.Member(); self != nil {
		kinds = self.Kinds
	}
	return &node{
		m:       m,
		c:       c,
		engine:  c.Engine(),
		clock:   m.cfg.Clock,
		core:    newCore(m.cfg, m.peers, m.protocol, kinds, region),
		pid:     PID(c.Engine().Address()), // what Spawn gives it: known before, for Release and Leave
		links:   map[string]*link{},
		probeTO: min(max(2*m.cfg.Heartbeat, 250*time.Millisecond), m.cfg.DeadAfter),
		stopped: make(chan struct{}),
	}
}

// running reports whether the actor started and has not stopped.
func (n *node) running() bool { return n.started.Load() && !n.ended.Load() }

// Receive handles the node's messages, then carries out what its core asked for.
func (n *node) Receive(ctx *actor.Context) {
	switch msg := ctx.Message().(type) {
	case actor.Started:
		n.onStarted()
	case actor.Stopped:
		n.onStopped()
		return
	case tickMsg:
		if !n.frozen.Load() {
			n.core.tick(n.clock.Now())
		}
		if !n.core.done() {
			n.armTick()
		}
	case joinTimeoutMsg:
		n.core.joinTimedOut()
	case probeDone:
		n.onProbe(msg)
	case actor.RemoteUnreachableEvent:
		if l := n.links[msg.ListenAddr]; l != nil {
			l.up = false
		}
	case releaseCmd:
		n.core.release(msg.view)
	case leaveCmd:
		n.waiting = append(n.waiting, msg.done)
		n.core.leave()
	case *wire.Join, *wire.Welcome, *wire.Refused, *wire.Heartbeat, *wire.Leave, *wire.LeaveAck, *wire.Released:
		if !n.frozen.Load() {
			n.core.receive(n.clock.Now(), msg.(proto.Message))
		}
	}
	n.apply(n.core.take())
}

func (n *node) onStarted() {
	if n.started.Load() {
		return // hollywood restarted the actor after a panic: the state is kept
	}
	n.started.Store(true)
	n.engine.Subscribe(n.pid)
	n.engine.Send(n.c.PID(), &cluster.Members{Members: n.core.agentSelf()})
	n.m.mu.Lock()
	released := n.m.released
	n.m.mu.Unlock()
	n.core.release(released)
	n.core.start(n.clock.Now())
	n.armTick()
	if len(n.m.peers) > 0 {
		n.joinT = n.clock.AfterFunc(n.m.cfg.JoinTimeout, func() { n.engine.Send(n.pid, joinTimeoutMsg{}) })
	}
}

func (n *node) onStopped() {
	n.ended.Store(true)
	if n.tick != nil {
		n.tick.Stop()
	}
	if n.joinT != nil {
		n.joinT.Stop()
	}
	n.engine.Unsubscribe(n.pid)
	n.release()
	close(n.stopped)
	n.m.events.close()
}

func (n *node) armTick() {
	n.tick = n.clock.AfterFunc(n.m.cfg.Heartbeat, func() { n.engine.Send(n.pid, tickMsg{}) })
}

// apply carries out a core's effects.
func (n *node) apply(e effects) {
	for _, s := range e.sends {
		n.send(s.addr, s.msg)
	}
	for _, p := range e.views {
		n.m.publish(p.view)
		n.engine.Send(n.c.PID(), &cluster.Members{Members: p.agent})
	}
	for _, r := range e.released {
		n.m.releasedBy(r.peer, r.view)
	}
	if e.fatal != nil {
		if n.tick != nil {
			n.tick.Stop()
		}
		n.m.fatal(e.fatal)
	}
	if e.leaveDone || e.fatal != nil {
		n.release()
	}
}

// release lets the Leave calls waiting return.
func (n *node) release() {
	for _, ch := range n.waiting {
		close(ch)
	}
	n.waiting = nil
}

// send hands msg to hollywood's remote for the membership actor at addr, once addr is known to
// accept connections.
func (n *node) send(addr string, msg proto.Message) {
	l := n.links[addr]
	if l == nil {
		l = &link{}
		n.links[addr] = l
	}
	if l.up && n.core.holds(addr) {
		n.engine.SendWithSender(PID(addr), msg, n.pid)
		return
	}
	if len(l.pending) == maxPending {
		l.pending = l.pending[1:]
	}
	l.pending = append(l.pending, msg)
	if !l.probing {
		l.probing = true
		go n.probe(addr)
	}
}

// probe dials addr once, with a timeout, and reports whether it connected.
func (n *node) probe(addr string) {
	conn, err := net.DialTimeout("tcp", addr, n.probeTO)
	if err == nil {
		_ = conn.Close()
	}
	n.engine.Send(n.pid, probeDone{addr: addr, ok: err == nil})
}

func (n *node) onProbe(p probeDone) {
	l := n.links[p.addr]
	if l == nil {
		return
	}
	l.probing = false
	pending := l.pending
	l.pending = nil
	if !p.ok {
		if len(pending) > 0 {
			slog.Debug("hookd: cluster: address does not accept connections; messages dropped", "member",
				n.m.cfg.ID, "addr", p.addr, "dropped", len(pending))
		}
		return
	}
	l.up = true
	for _, msg := range pending {
		n.engine.SendWithSender(PID(p.addr), msg, n.pid)
	}
}

func logFatal(err error) { slog.Error(err.Error()) }
