package actors

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/anthdm/hollywood/actor"
)

// ErrTooManyQueues refuses a message for a new queue while the node holds Limits.MaxQueues queues.
var ErrTooManyQueues = errors.New("hookd: too many queues")

// localRouter is the Router of a single node: a directory of the queue actors it runs, spawning one
// on a queue's first use. It is the only place queue actors are spawned and forgotten, so two
// producers never race to create the same queue and no insert is sent to a queue that is going away.
type localRouter struct {
	limit int // queues at most (Route); Recover ignores it
	spawn func(name, id string, home QueueHome) (*actor.PID, error)
	send  Sender

	mu      sync.Mutex
	refs    map[string]*queueRef
	retired map[string]*queueRef // by actor ID: actors out of the directory still finishing their work
	// fenced, when set (a cluster member), hears from each retired queue actor that its sessions are over.
	fenced  func(*queueRef)
	gen     uint64 // numbers queue actors, so a queue made again after a reap never reuses an ID
	subs    []*actor.PID
	keep    bool // stopping: queues are no longer reaped
	closed  bool // stopped: queues are no longer made
	closing error
}

// queueRef is the directory's entry for one queue actor, and that actor's QueueHome.
type queueRef struct {
	r    *localRouter
	name string
	pid  *actor.PID
	// pending counts inserts routed to the actor and not yet received by it; a queue with inserts
	// on their way is never reaped.
	pending atomic.Int64
	retired bool // out of the directory (its queue moved to another member); guarded by r.mu
	// done is closed once the actor has stopped (its Stopped handler ran), however it came to stop:
	// a queue actor may be stopping itself when the node stops it.
	done     chan struct{}
	doneOnce sync.Once
}

func newLocalRouter(limit int, send Sender, spawn func(name, id string, home QueueHome) (*actor.PID, error)) *localRouter {
	return &localRouter{limit: limit, spawn: spawn, send: send, refs: map[string]*queueRef{},
		retired: map[string]*queueRef{}}
}

// Route returns the queue's actor for n inserts, making the queue if needed (within the limit).
func (r *localRouter) Route(name string, n int) (*actor.PID, error) { return r.route(name, n, r.limit) }

// Recover is Route for messages the spool already holds: the queue limit does not apply.
func (r *localRouter) Recover(name string, n int) (*actor.PID, error) { return r.route(name, n, 0) }

func (r *localRouter) route(name string, n, limit int) (*actor.PID, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref := r.refs[name]
	if ref == nil {
		if r.closed {
			return nil, r.closing
		}
		if limit > 0 && len(r.refs) >= limit {
			return nil, fmt.Errorf("%w: the node holds %d, its limit (queue %q refused)", ErrTooManyQueues, len(r.refs), name)
		}
		r.gen++
		ref = &queueRef{r: r, name: name, done: make(chan struct{})}
		pid, err := r.spawn(name, fmt.Sprintf("%s#%d", name, r.gen), ref)
		if err != nil {
			return nil, fmt.Errorf("starting queue %s: %w", name, err)
		}
		ref.pid = pid
		r.refs[name] = ref
		r.moved(name, pid)
	}
	ref.pending.Add(int64(n))
	return ref.pid, nil
}

// Release gives back n routed inserts that will not be sent to pid.
func (r *localRouter) Release(name string, pid *actor.PID, n int) {
	r.mu.Lock()
	ref := r.refs[name]
	r.mu.Unlock()
	if ref == nil || (pid != nil && !ref.pid.Equals(pid)) {
		r.mu.Lock()
		ref = nil
		if pid != nil {
			ref = r.retired[pid.ID]
		}
		r.mu.Unlock()
	}
	if ref != nil {
		ref.pending.Add(-int64(n))
	}
}

// retire takes a queue's actor out of the directory: the next Route makes a new one (or, in a
// cluster, finds the queue elsewhere), while this one finishes what it holds and receives the
// inserts already on their way to it. The caller holds no lock of r.
func (r *localRouter) retire(name string) *queueRef {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref := r.refs[name]
	if ref == nil {
		return nil
	}
	delete(r.refs, name)
	ref.retired = true
	r.retired[ref.pid.ID] = ref
	r.moved(name, nil)
	return ref
}

// lookup is the directory's entry for a queue, or nil.
func (r *localRouter) lookup(name string) *queueRef {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refs[name]
}

// names lists the queues of the directory.
func (r *localRouter) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.refs))
	for name := range r.refs {
		out = append(out, name)
	}
	return out
}

// retiredRefs lists the retired actors still running.
func (r *localRouter) retiredRefs() []*queueRef {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*queueRef, 0, len(r.retired))
	for _, ref := range r.retired {
		out = append(out, ref)
	}
	return out
}

// Queues lists every queue and its actor.
func (r *localRouter) Queues() []QueueRef {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]QueueRef, 0, len(r.refs))
	for name, ref := range r.refs {
		out = append(out, QueueRef{Name: name, PID: ref.pid})
	}
	return out
}

// Subscribe sends pid a QueueMoved for each queue that gets or loses its actor from now on.
func (r *localRouter) Subscribe(pid *actor.PID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs = append(r.subs, pid)
}

// Unsubscribe stops the QueueMoved events to pid.
func (r *localRouter) Unsubscribe(pid *actor.PID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, s := range r.subs {
		if s.Equals(pid) {
			r.subs = append(r.subs[:i], r.subs[i+1:]...)
			return
		}
	}
}

// moved tells the subscribers; the caller holds r.mu.
func (r *localRouter) moved(name string, pid *actor.PID) {
	for _, s := range r.subs {
		r.send.Send(s, QueueMoved{Name: name, PID: pid})
	}
}

// keepAll stops reaping queues: the node is stopping and waits for each of them.
func (r *localRouter) keepAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keep = true
}

// close stops making and reaping queues: from now on Route refuses new queue names with err.
func (r *localRouter) close(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed, r.closing = true, err
}

// stopAll stops every actor of the directory and waits until they have (or ctx ends).
func (r *localRouter) stopAll(ctx context.Context, e *actor.Engine) {
	r.mu.Lock()
	refs := make([]*queueRef, 0, len(r.refs))
	for _, ref := range r.refs {
		refs = append(refs, ref)
	}
	r.mu.Unlock()
	for _, ref := range refs {
		ref.stop(ctx, e)
	}
}

// Stopped is the actor telling that it has stopped.
func (q *queueRef) Stopped() { q.doneOnce.Do(func() { close(q.done) }) }

// stop stops the actor and waits until it has (or ctx ends), whether or not it was stopping itself.
func (q *queueRef) stop(ctx context.Context, e *actor.Engine) {
	e.Send(q.pid, stopActor{})
	select {
	case <-q.done:
	case <-ctx.Done():
	}
}

// Fenced is a retired queue actor telling that none of its sessions is left.
func (q *queueRef) Fenced() {
	if f := q.r.fenced; f != nil {
		f(q)
	}
}

// Arrived is the queue actor telling that n inserts reached it.
func (q *queueRef) Arrived(n int) { q.pending.Add(-int64(n)) }

// Reap forgets the queue unless an insert is on its way to it or the node is stopping. The queue
// actor stops once it returns true; the next message for the name makes a new queue. A retired
// actor may stop as soon as nothing is on its way to it.
func (q *queueRef) Reap() bool {
	r := q.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if q.retired {
		if q.pending.Load() != 0 {
			return false
		}
		delete(r.retired, q.pid.ID)
		return true
	}
	if r.refs[q.name] != q || q.pending.Load() != 0 || r.keep || r.closed {
		return false
	}
	delete(r.refs, q.name)
	r.moved(q.name, nil)
	return true
}
