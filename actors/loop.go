package actors

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/anthdm/hollywood/actor"
)

// A loop is a hollywood process (an actor reached by PID like any other) whose messages are all
// handled on one goroutine that lives as long as the process. It is the only way hookd reaches a Lua
// state: hollywood runs each burst of an ordinary actor's inbox on a new goroutine, whose stack starts
// small, and a call into Lua needs a deep one; growing it again for every burst cost more CPU than the
// Lua call itself (ARCHITECTURE.md has the measurement). A loop's goroutine keeps its stack.
//
// A loop hands its receiver everything waiting in its inbox at once, so a receiver that can batch (a
// hook deciding many records, a session) does so without asking. Sends never block and the inbox has
// no bound, as hollywood's: the edges into loops are bounded by credits where a producer can outrun
// them.
type loop struct {
	pid    *actor.PID
	engine *actor.Engine
	recv   loopReceiver
	log    *slog.Logger
	panics *atomic.Uint64

	mu       sync.Mutex
	inbox    []actor.Envelope
	spare    []actor.Envelope
	parked   bool
	stopping bool
	wake     chan struct{}
	done     chan struct{} // closed once the goroutine has delivered Stopped and exited
}

// loopReceiver is what runs on a loop's goroutine. Receive gets the messages taken from the inbox at
// once, in the order they were sent; actor.Started comes first and actor.Stopped last, each alone.
type loopReceiver interface {
	Receive(l *loopCtx, msgs []actor.Envelope)
}

// loopCtx is a loop's view of itself, valid on its goroutine only.
type loopCtx struct{ l *loop }

// PID is the loop's own address.
func (c *loopCtx) PID() *actor.PID { return c.l.pid }

// Send sends msg to pid with the loop as its sender.
func (c *loopCtx) Send(pid *actor.PID, msg any) { c.l.engine.SendWithSender(pid, msg, c.l.pid) }

// Engine is the actor engine the loop runs in.
func (c *loopCtx) Engine() *actor.Engine { return c.l.engine }

// Stop ends the loop once the messages already taken are handled: Stopped follows. It does not
// wait (it is called from the loop's own goroutine).
func (c *loopCtx) Stop() { c.l.requestStop() }

// spawnLoop registers a loop under kind/id and starts its goroutine. A duplicate id is refused.
func spawnLoop(e *actor.Engine, kind, id string, recv loopReceiver, log *slog.Logger, panics *atomic.Uint64) (*loop, error) {
	l := &loop{pid: actor.NewPID(e.Address(), kind+"/"+id), engine: e, recv: recv, log: log, panics: panics,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	if err := register(e, kind, id, l); err != nil {
		return nil, err
	}
	return l, nil
}

// register adds proc, whose PID is kind/id, to e's registry, which calls its Start. An id already
// taken (before, or meanwhile) is refused and proc is not started.
func register(e *actor.Engine, kind, id string, proc actor.Processer) error {
	if e.Registry.GetPID(kind, id) != nil {
		return fmt.Errorf("actor %s/%s already exists", kind, id)
	}
	e.SpawnProc(proc)
	if e.Registry.GetPID(kind, id) != proc.PID() { // another took the id meanwhile
		return fmt.Errorf("actor %s/%s already exists", kind, id)
	}
	return nil
}

// Start is called by the registry: it starts the loop's goroutine.
func (l *loop) Start() { go l.run() }

// PID is the loop's address.
func (l *loop) PID() *actor.PID { return l.pid }

// Send queues a message for the loop's goroutine. It never blocks.
func (l *loop) Send(_ *actor.PID, msg any, sender *actor.PID) {
	if _, ok := msg.(stopActor); ok {
		l.requestStop()
		return
	}
	l.mu.Lock()
	if l.stopping {
		l.mu.Unlock()
		l.engine.BroadcastEvent(actor.DeadLetterEvent{Target: l.pid, Message: msg, Sender: sender})
		return
	}
	l.inbox = append(l.inbox, actor.Envelope{Msg: msg, Sender: sender})
	if l.parked {
		l.parked = false
		l.wake <- struct{}{}
	}
	l.mu.Unlock()
}

// Invoke is part of hollywood's Processer interface; a loop takes its messages itself.
func (l *loop) Invoke([]actor.Envelope) {}

// Shutdown stops the loop without waiting for it (the registry's contract).
func (l *loop) Shutdown() { l.requestStop() }

func (l *loop) requestStop() {
	l.mu.Lock()
	l.stopping = true
	if l.parked {
		l.parked = false
		l.wake <- struct{}{}
	}
	l.mu.Unlock()
}

// stop ends the loop and waits until its goroutine has handled Stopped. Not for use on the loop's
// own goroutine.
func (l *loop) stop() {
	l.requestStop()
	<-l.done
}

// Done is closed once the loop has stopped.
func (l *loop) Done() <-chan struct{} { return l.done }

func (l *loop) run() {
	defer close(l.done)
	ctx := &loopCtx{l: l}
	l.invoke(ctx, []actor.Envelope{{Msg: actor.Started{}}})
	for {
		l.mu.Lock()
		for len(l.inbox) == 0 && !l.stopping {
			l.parked = true
			l.mu.Unlock()
			<-l.wake
			l.mu.Lock()
		}
		batch := l.inbox
		l.inbox, l.spare = l.spare[:0], nil
		stopping := l.stopping
		l.mu.Unlock()
		if len(batch) > 0 {
			l.invoke(ctx, batch)
		}
		clear(batch)
		l.mu.Lock()
		if cap(batch) <= 4096 {
			l.spare = batch[:0]
		}
		drained := stopping && len(l.inbox) == 0
		l.mu.Unlock()
		if drained {
			break
		}
	}
	l.invoke(ctx, []actor.Envelope{{Msg: actor.Stopped{}}})
	l.engine.Registry.Remove(l.pid)
}

// invoke hands msgs to the receiver; a panic is logged and counted, and the loop goes on with the
// next messages (hollywood's restart path, which loses the actor's state and, past MaxRestarts, the
// process, is never used).
func (l *loop) invoke(ctx *loopCtx, msgs []actor.Envelope) {
	defer func() {
		if r := recover(); r != nil {
			if l.panics != nil {
				l.panics.Add(1)
			}
			l.log.Error("recovered from a panic in an actor", "actor", l.pid.ID,
				"message", fmt.Sprintf("%T", msgs[0].Msg), "panic", r, "stack", string(debug.Stack()))
		}
	}()
	l.recv.Receive(ctx, msgs)
}
