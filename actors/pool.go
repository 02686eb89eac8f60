package actors

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"
)

// A pooled actor is a hollywood process (reached by PID like any other) whose messages are handled
// by one of a few long-lived worker goroutines that all pooled actors share. Queue actors are
// pooled: they are many (one per queue), each handles a burst of messages at a time and never waits,
// and hollywood would run each burst on a new goroutine whose stack starts small and grows again on
// the way down into the spool (ARCHITECTURE.md has the measurement). A worker keeps its stack, and
// an idle queue costs no goroutine at all.
//
// A pooled actor's messages are handled one at a time and in order, never two at once; actor.Started
// comes first and actor.Stopped last. A panic is logged and counted, and the actor goes on with its
// next message. It stops on stopActor (or Shutdown), never on hollywood's Poison, whose poison pill
// it cannot tell from another message.
type pooled struct {
	pid    *actor.PID
	engine *actor.Engine
	recv   pooledReceiver
	pool   *actorPool
	log    *slog.Logger
	panics *atomic.Uint64

	mu        sync.Mutex
	inbox     []actor.Envelope
	spare     []actor.Envelope
	scheduled bool // in the pool's run queue, or being handled by a worker
	started   bool
	stopping  bool
	stopped   bool
	done      chan struct{} // closed once Stopped has been handled
}

// pooledReceiver handles a pooled actor's messages, one per call.
type pooledReceiver interface {
	Receive(c *pooledCtx)
}

// stopActor asks a pooled actor (or a loop) to stop once the messages before it are handled.
type stopActor struct{}

// pooledCtx is what a pooled actor's Receive sees of the message it handles and of itself.
type pooledCtx struct {
	a   *pooled
	env actor.Envelope
}

func (c *pooledCtx) Message() any               { return c.env.Msg }
func (c *pooledCtx) Sender() *actor.PID         { return c.env.Sender }
func (c *pooledCtx) PID() *actor.PID            { return c.a.pid }
func (c *pooledCtx) Engine() *actor.Engine      { return c.a.engine }
func (c *pooledCtx) Send(pid *actor.PID, m any) { c.a.engine.SendWithSender(pid, m, c.a.pid) }

// Respond answers the sender of the message being handled (a Request's response).
func (c *pooledCtx) Respond(m any) {
	if c.env.Sender != nil {
		c.a.engine.Send(c.env.Sender, m)
	}
}

// Stop stops the actor once the messages already sent to it are handled.
func (c *pooledCtx) Stop() { c.a.requestStop() }

// actorPool is the worker goroutines and the run queue of the pooled actors with messages waiting.
type actorPool struct {
	mu     sync.Mutex
	cond   *sync.Cond
	runq   []*pooled
	head   int
	closed bool
	wg     sync.WaitGroup
}

// newActorPool starts n workers.
func newActorPool(n int) *actorPool {
	p := &actorPool{}
	p.cond = sync.NewCond(&p.mu)
	for range max(n, 1) {
		p.wg.Go(p.work)
	}
	return p
}

func (p *actorPool) push(a *pooled) {
	p.mu.Lock()
	p.runq = append(p.runq, a)
	p.mu.Unlock()
	p.cond.Signal()
}

func (p *actorPool) work() {
	for {
		p.mu.Lock()
		for p.head == len(p.runq) && !p.closed {
			p.cond.Wait()
		}
		if p.head == len(p.runq) {
			p.mu.Unlock()
			return
		}
		a := p.runq[p.head]
		p.runq[p.head] = nil
		p.head++
		if p.head == len(p.runq) { // empty: start again at the front
			p.runq, p.head = p.runq[:0], 0
		}
		p.mu.Unlock()
		a.burst()
	}
}

// close ends the workers once the run queue is empty. Actors with messages sent later are not run.
func (p *actorPool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cond.Broadcast()
	p.wg.Wait()
}

// spawnPooled registers a pooled actor under kind/id. A duplicate id is refused.
func spawnPooled(e *actor.Engine, pool *actorPool, kind, id string, recv pooledReceiver, log *slog.Logger,
	panics *atomic.Uint64) (*pooled, error) {
	a := &pooled{pid: actor.NewPID(e.Address(), kind+"/"+id), engine: e, recv: recv, pool: pool, log: log,
		panics: panics, done: make(chan struct{})}
	if err := register(e, kind, id, a); err != nil {
		return nil, err
	}
	return a, nil
}

// Start is called by the registry: Started is handled first, whenever the actor first runs.
func (a *pooled) Start() { a.schedule() }

// PID is the actor's address.
func (a *pooled) PID() *actor.PID { return a.pid }

// Send queues a message and has the actor run if it is idle. It never blocks.
func (a *pooled) Send(_ *actor.PID, msg any, sender *actor.PID) {
	if _, ok := msg.(stopActor); ok {
		a.requestStop()
		return
	}
	a.mu.Lock()
	if a.stopped {
		a.mu.Unlock()
		a.engine.BroadcastEvent(actor.DeadLetterEvent{Target: a.pid, Message: msg, Sender: sender})
		return
	}
	a.inbox = append(a.inbox, actor.Envelope{Msg: msg, Sender: sender})
	run := !a.scheduled
	a.scheduled = true
	a.mu.Unlock()
	if run {
		a.pool.push(a)
	}
}

// Invoke is part of hollywood's Processer interface; the pool hands the actor its messages.
func (a *pooled) Invoke([]actor.Envelope) {}

// Shutdown stops the actor without waiting for it (the registry's contract).
func (a *pooled) Shutdown() { a.requestStop() }

func (a *pooled) requestStop() {
	a.mu.Lock()
	a.stopping = true
	a.mu.Unlock()
	a.schedule()
}

func (a *pooled) schedule() {
	a.mu.Lock()
	run := !a.scheduled && !a.stopped
	a.scheduled = a.scheduled || run
	a.mu.Unlock()
	if run {
		a.pool.push(a)
	}
}

// Done is closed once the actor has stopped.
func (a *pooled) Done() <-chan struct{} { return a.done }

// burst handles what is waiting, on a worker; then the actor goes back to the run queue when more
// arrived meanwhile, or idles.
func (a *pooled) burst() {
	a.mu.Lock()
	first := !a.started
	a.started = true
	batch := a.inbox
	a.inbox, a.spare = a.spare[:0], nil
	a.mu.Unlock()
	if first {
		a.invoke(actor.Envelope{Msg: actor.Started{}})
		a.engine.BroadcastEvent(actor.ActorStartedEvent{PID: a.pid, Timestamp: time.Now()})
	}
	for _, env := range batch {
		a.invoke(env)
	}
	clear(batch)
	a.mu.Lock()
	if cap(batch) <= 4096 {
		a.spare = batch[:0]
	}
	if a.stopping && len(a.inbox) == 0 {
		a.stopped = true
		a.mu.Unlock()
		a.invoke(actor.Envelope{Msg: actor.Stopped{}})
		a.engine.Registry.Remove(a.pid)
		close(a.done)
		a.engine.BroadcastEvent(actor.ActorStoppedEvent{PID: a.pid, Timestamp: time.Now()}) // as hollywood's own
		return
	}
	more := len(a.inbox) > 0 || a.stopping
	a.scheduled = more
	a.mu.Unlock()
	if more {
		a.pool.push(a)
	}
}

func (a *pooled) invoke(env actor.Envelope) {
	defer func() {
		if r := recover(); r != nil {
			if a.panics != nil {
				a.panics.Add(1)
			}
			a.log.Error("recovered from a panic in an actor", "actor", a.pid.ID,
				"message", fmt.Sprintf("%T", env.Msg), "panic", r, "stack", string(debug.Stack()))
		}
	}()
	a.recv.Receive(&pooledCtx{a: a, env: env})
}
