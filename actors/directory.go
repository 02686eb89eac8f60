package actors

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/anthdm/hollywood/actor"
)

// ErrTooManyQueues refuses a message for a new queue while the node holds Limits.MaxQueues queues.
var ErrTooManyQueues = errors.New("hookd: too many queues")

// directory finds the queue actor of a queue name, spawning it on first use. It is the only place
// queue actors are spawned and forgotten, so two producers can never race to create the same queue
// and no message is sent to a queue that is going away.
type directory struct {
	sys  *System
	mu   sync.Mutex
	refs map[string]*queueRef
	gen  uint64 // numbers queue actors, so a queue made again after a reap never reuses an actor ID
}

// queueRef is the directory's entry for one queue actor.
type queueRef struct {
	name string
	pid  *actor.PID
	// pending counts inserts handed out by reserve and not yet received by the actor; a queue with
	// inserts on their way is never reaped.
	pending atomic.Int64
	gone    chan struct{} // closed once the queue is reaped: waiting for its answer is pointless
}

// reserve returns the queue's actor for one insert the caller is about to send (or to cancel with
// release), making the queue if needed. limit > 0 refuses to make a queue past that many.
func (d *directory) reserve(name string, limit int) (*queueRef, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ref := d.refs[name]
	if ref == nil {
		if limit > 0 && len(d.refs) >= limit {
			return nil, fmt.Errorf("%w: the node holds %d, its limit (queue %q refused)", ErrTooManyQueues, len(d.refs), name)
		}
		d.gen++
		ref = &queueRef{name: name, gone: make(chan struct{})}
		pid, err := d.sys.spawn(func() actor.Receiver { return newQueueActor(d.sys, ref) }, "queue",
			fmt.Sprintf("%s#%d", name, d.gen))
		if err != nil {
			return nil, fmt.Errorf("starting queue %s: %w", name, err)
		}
		ref.pid = pid
		d.refs[name] = ref
	}
	ref.pending.Add(1)
	return ref, nil
}

// release cancels a reservation whose insert will not be sent.
func (r *queueRef) release() { r.pending.Add(-1) }

// reap forgets an empty queue, unless an insert is on its way to it. The caller (the queue actor
// itself) stops once it returns true; the next message for the name makes a new queue.
func (d *directory) reap(ref *queueRef) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.refs[ref.name] != ref || ref.pending.Load() != 0 || d.sys.stopping.Load() {
		return false
	}
	delete(d.refs, ref.name)
	close(ref.gone)
	return true
}

func (d *directory) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.refs)
}

func (d *directory) all() []*queueRef {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*queueRef, 0, len(d.refs))
	for _, ref := range d.refs {
		out = append(out, ref)
	}
	return out
}

// drainAll asks every queue to finish its sessions and waits for them (or ctx). Queues are no longer
// reaped once the system is stopping.
func (d *directory) drainAll(ctx context.Context) {
	type wait struct {
		done chan struct{}
		ref  *queueRef
	}
	var waits []wait
	for _, ref := range d.all() {
		done := make(chan struct{})
		d.sys.engine.Send(ref.pid, drain{done: done})
		waits = append(waits, wait{done, ref})
	}
	for _, w := range waits {
		select {
		case <-w.done:
		case <-w.ref.gone:
		case <-ctx.Done():
			return
		}
	}
}

// stopAll stops every queue actor (and with them their connection actors).
func (d *directory) stopAll(ctx context.Context) {
	for _, ref := range d.all() {
		waitDone(ctx, d.sys.engine.Poison(ref.pid))
	}
}

// Queues returns a snapshot of every queue, sorted by name. detail adds each queue's oldest message
// age and attempts histogram (a pass over every message).
func (s *System) Queues(ctx context.Context, detail bool) []QueueStats {
	var out []QueueStats
	for _, ref := range s.queues.all() {
		reply := make(chan QueueStats, 1)
		s.engine.Send(ref.pid, queueSnapshot{reply: reply, detail: detail})
		select {
		case st := <-reply:
			out = append(out, st)
		case <-ref.gone: // reaped meanwhile: it was empty
		case <-ctx.Done():
			return out
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
