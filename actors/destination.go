package actors

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/breaker"
	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/wire"
)

// destinationActor owns the circuit breaker of one destination (a custom_lua constructor and site),
// shared by every queue that delivers there. Queues subscribe, report each batch's outcome, claim
// the single probe when the open period is over, and receive the gate whenever it changes. The
// breaker is a value owned by this actor alone; time is read here and passed to it.
type destinationActor struct {
	key   string
	b     *breaker.Breaker
	clock clock.Clock
	log   *slog.Logger
	pid   *actor.PID
	subs  map[string]*actor.PID // by PID string
	last  *wire.Gate            // what the subscribers were last told
	timer clock.Timer
	at    time.Time
	send  Sender // the timer's way back in
}

// breakerStatsRequest asks a destination for its breaker's state (a Request, answered with
// BreakerStats).
type breakerStatsRequest struct{}

// gateDue wakes a destination when its open period ends.
type gateDue struct{}

func newDestinationActor(key string, cfg breaker.Config, clk clock.Clock, send Sender, log *slog.Logger) *destinationActor {
	return &destinationActor{key: key, b: breaker.New(key, cfg), clock: clk, send: send, log: log, subs: map[string]*actor.PID{}}
}

func (d *destinationActor) Receive(c *pooledCtx) {
	now := d.clock.Now()
	switch m := c.Message().(type) {
	case actor.Started:
		d.pid = c.PID()
	case actor.Stopped:
		if d.timer != nil {
			d.timer.Stop()
		}
	case *wire.Subscribe:
		if s := c.Sender(); s != nil {
			d.subs[s.String()] = s
			c.Send(s, d.gate(now))
		}
	case *wire.Unsubscribe:
		if s := c.Sender(); s != nil {
			delete(d.subs, s.String())
		}
	case *wire.Outcome:
		if d.b.Record(m.Answered, m.Probe, now) {
			d.broadcast(c, now)
		}
		if s := c.Sender(); s != nil && m.Seq != 0 { // a failing queue waits for this verdict
			g := d.gate(now)
			g.Answers = m.Seq
			c.Send(s, g)
		}
	case *wire.ClaimProbe:
		granted := d.b.ClaimProbe(now)
		if s := c.Sender(); s != nil {
			c.Send(s, &wire.ProbeClaimed{Destination: d.key, Granted: granted})
		}
		if granted {
			d.broadcast(c, now) // the others now see a probe out
		}
	case gateDue:
		d.at = time.Time{}
		d.broadcast(c, now)
	case breakerStatsRequest:
		st, opened, closed := d.b.State()
		c.Respond(BreakerStats{Destination: d.key, State: st.String(), Opened: opened, Closed: closed})
	}
}

// gate is the breaker's verdict now, as a message, with the timer armed for when it changes by
// itself (the open period ends).
func (d *destinationActor) gate(now time.Time) *wire.Gate {
	g, until := d.b.Gate(now)
	st, _, _ := d.b.State()
	out := &wire.Gate{Destination: d.key, Gate: gateKind(g), Until: dueNanos(until), State: st.String()}
	if g == breaker.Paused && !until.IsZero() && (d.timer == nil || !d.at.Equal(until)) {
		if d.timer != nil {
			d.timer.Stop()
		}
		pid, send := d.pid, d.send.Send
		d.at = until
		d.timer = d.clock.At(until, func() { send(pid, gateDue{}) })
	}
	return out
}

// broadcast tells every subscriber the gate, when it changed.
func (d *destinationActor) broadcast(c *pooledCtx, now time.Time) {
	g := d.gate(now)
	if d.last != nil && d.last.Gate == g.Gate && d.last.Until == g.Until && d.last.State == g.State {
		return
	}
	d.last = g
	for _, s := range d.subs {
		c.Send(s, g)
	}
}

func gateKind(g breaker.Gate) wire.GateKind {
	switch g {
	case breaker.Paused:
		return wire.GateKind_GATE_PAUSED
	case breaker.Probe:
		return wire.GateKind_GATE_PROBE
	default:
		return wire.GateKind_GATE_FLOWING
	}
}

// BreakerStats describes one destination's breaker.
type BreakerStats struct {
	Destination string `json:"destination"`
	State       string `json:"state"`
	Opened      uint64 `json:"opened"`
	Closed      uint64 `json:"closed"`
}

// destinations is the Destinations port: the directory of destination actors, one per key, made on
// first use.
// A destination is a pooled actor: every session result of its queues reaches it.
type destinations struct {
	engine *actor.Engine
	pool   *actorPool
	clock  clock.Clock
	log    *slog.Logger
	panics *atomic.Uint64

	mu     sync.Mutex
	actors map[string]*pooled
}

// Destination returns the actor of a destination, starting it with cfg on first use.
func (ds *destinations) Destination(key string, cfg breaker.Config) *actor.PID {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if a := ds.actors[key]; a != nil {
		return a.pid
	}
	e := ds.engine
	a, err := spawnPooled(e, ds.pool, "destination", key, newDestinationActor(key, cfg, ds.clock, engineSender{e}, ds.log),
		ds.log, ds.panics)
	if err != nil { // only a duplicate id, which this directory never asks for
		ds.log.Error("starting a destination", "destination", key, "error", err)
		return actor.NewPID(e.Address(), "destination/"+key)
	}
	ds.actors[key] = a
	return a.pid
}

func (ds *destinations) all() []*pooled {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	out := make([]*pooled, 0, len(ds.actors))
	for _, a := range ds.actors {
		out = append(out, a)
	}
	return out
}

// stats asks every destination for its breaker's state, sorted by destination.
func (ds *destinations) stats(ctx context.Context) []BreakerStats {
	var out []BreakerStats
	for _, a := range ds.all() {
		if ctx.Err() != nil {
			break
		}
		res, err := ds.engine.Request(a.pid, breakerStatsRequest{}, time.Second).Result()
		if st, ok := res.(BreakerStats); ok && err == nil {
			out = append(out, st)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Destination < out[j].Destination })
	return out
}

func (ds *destinations) stop(ctx context.Context) {
	for _, a := range ds.all() {
		a.requestStop()
		select {
		case <-a.Done():
		case <-ctx.Done():
		}
	}
}
