package membership

import (
	"net"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"
)

// NewEngine returns a hollywood engine whose remote listens at addr, with two corrections to
// hollywood v1.0.5's remote:
//
//   - The remote is started only once the engine is complete. actor.NewEngine starts it before it
//     creates the engine's event stream, so a message arriving in between (a peer's Join, as soon as
//     the port opens) reads the event stream while it is being set: a data race.
//   - Sends to an address whose connection dropped are held back until something listens there
//     again. The remote's single router dials a new connection inside its receive loop, retrying
//     with sleeps of 0, 1 and 2 s; while it does, every message to every member waits. After a
//     member is killed, the first message anyone sends to it would stall the whole transport for
//     3 s, heartbeats between the survivors included, and with a short DeadAfter they would declare
//     each other dead. So once the remote reports an address unreachable, messages to it wait
//     (up to holdMax of them) while a probe of our own, a TCP connection off the router, looks for
//     it: when the probe connects they go, in order, and so does everything after; when it fails
//     they are dropped (as the remote itself would drop them after failing to dial) and the next
//     message, at least probeEvery later, probes again. Everything hookd sends between members is
//     repeated or answered (heartbeats, joins, handovers with their retries), so a dropped message
//     costs a retry.
//
// Stop the remote with r.Stop().Wait().
func NewEngine(addr string, cfg remote.Config) (*actor.Engine, *remote.Remote, error) {
	r := remote.New(addr, cfg)
	g := &gate{down: map[string]*downAddr{}, send: r.Send}
	e, err := actor.NewEngine(actor.NewEngineConfig().WithRemote(gatedRemote{Remote: r, gate: g}))
	if err != nil {
		return nil, nil, err
	}
	g.watch(e)
	if err := r.Start(e); err != nil {
		return nil, nil, err
	}
	return e, r, nil
}

// probeEvery is how often an address that dropped is probed while messages are sent to it, and
// holdMax how many messages wait for a probe.
const (
	probeEvery = 200 * time.Millisecond
	holdMax    = 4096
)

// gatedRemote is the remote with its Start left to NewEngine and its sends through the gate.
type gatedRemote struct {
	*remote.Remote
	gate *gate
}

// Start does nothing; see NewEngine.
func (gatedRemote) Start(*actor.Engine) error { return nil }

// Send sends msg, or holds it while its address dropped and has not answered a probe since.
func (g gatedRemote) Send(pid *actor.PID, msg any, sender *actor.PID) {
	if g.gate.hold(heldMsg{pid, msg, sender}) {
		return
	}
	g.Remote.Send(pid, msg, sender)
}

// gate keeps the addresses whose connection the remote lost.
type gate struct {
	mu   sync.Mutex
	down map[string]*downAddr
	dial func(addr string) bool                           // a probe; nil means a TCP connection within half a second
	send func(pid *actor.PID, msg any, sender *actor.PID) // what a successful probe lets through
}

type downAddr struct {
	probing bool
	last    time.Time
	held    []heldMsg
}

type heldMsg struct {
	pid    *actor.PID
	msg    any
	sender *actor.PID
}

// watch marks an address down whenever the engine reports it unreachable.
func (g *gate) watch(e *actor.Engine) {
	pid := e.SpawnFunc(func(c *actor.Context) {
		if ev, ok := c.Message().(actor.RemoteUnreachableEvent); ok {
			g.mu.Lock()
			if g.down[ev.ListenAddr] == nil {
				g.down[ev.ListenAddr] = &downAddr{}
			}
			g.mu.Unlock()
		}
	}, "hookd", actor.WithID("transport-gate"))
	e.Subscribe(pid)
}

// hold takes m when its address is down (holding it for a probe under way or due, dropping it
// otherwise) and reports whether it did.
func (g *gate) hold(m heldMsg) bool {
	addr := m.pid.Address
	g.mu.Lock()
	defer g.mu.Unlock()
	d := g.down[addr]
	if d == nil {
		return false
	}
	if !d.probing && time.Since(d.last) >= probeEvery {
		d.probing, d.last = true, time.Now()
		go g.probe(addr, d)
	}
	if d.probing && len(d.held) < holdMax {
		d.held = append(d.held, m)
	}
	return true
}

func (g *gate) probe(addr string, d *downAddr) {
	ok := false
	if g.dial != nil {
		ok = g.dial(addr)
	} else if conn, err := net.DialTimeout("tcp", addr, 500*time.Millisecond); err == nil {
		_ = conn.Close()
		ok = true
	}
	g.mu.Lock()
	d.probing = false
	held := d.held
	d.held = nil
	if ok && g.down[addr] == d {
		delete(g.down, addr)
	}
	// Sent under the lock, so that nothing sent after the probe overtakes what waited for it.
	if ok {
		for _, m := range held {
			g.send(m.pid, m.msg, m.sender)
		}
	}
	g.mu.Unlock()
}
