package actors

import (
	"context"
	"sync"

	"github.com/anthdm/hollywood/actor"
)

// acks is where hooks answer the producers' batches: a hollywood process (reached by PID like any
// actor) that runs on the sender's goroutine instead of having an inbox of its own, so an answer
// costs no goroutine hand-off. It is the commit point of a request: when every hook has answered
// and all succeeded (and the producer still waits), the request's queue inserts go out; when any
// failed, or the producer gave up waiting, every message of the request that was written is deleted
// again and nothing reaches a queue. So an answer to the producer is always true: success means all
// of it is durable and queued, an error means none of it will ever be delivered.
type acks struct {
	pid     *actor.PID
	send    Sender
	router  Router
	spool   QueueStore // deletes what a failed request wrote
	inserts *Credits
	metrics *Metrics

	mu      sync.Mutex
	next    uint64
	waiting map[uint64]*waiter
}

// waiter is one producer call waiting for its hooks.
type waiter struct {
	corr      uint64
	pending   int // hooks yet to answer
	err       error
	inserts   []RoutedInsert
	abandoned bool // the producer stopped waiting: roll back whatever arrives
	finished  bool
	done      chan struct{}
}

func newAcks(e interface{ Address() string }, send Sender, router Router, spool QueueStore, inserts *Credits, m *Metrics) *acks {
	return &acks{pid: actor.NewPID(e.Address(), "intake/acks"), send: send, router: router, spool: spool,
		inserts: inserts, metrics: m, waiting: map[uint64]*waiter{}}
}

// open registers a call that waits for n hooks.
func (a *acks) open(n int) *waiter {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.next++
	w := &waiter{corr: a.next, pending: n, done: make(chan struct{})}
	a.waiting[w.corr] = w
	return w
}

// wait returns once every hook answered, or ctx ended (then the call is abandoned: what it kept is
// rolled back as it arrives).
func (a *acks) wait(ctx context.Context, w *waiter) error {
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
	}
	a.mu.Lock()
	if w.finished {
		a.mu.Unlock()
		return w.err
	}
	w.abandoned = true
	a.mu.Unlock()
	return ctx.Err()
}

// Send takes a hook's LogDone (hollywood's Processer interface).
func (a *acks) Send(_ *actor.PID, msg any, _ *actor.PID) {
	d, ok := msg.(LogDone)
	if !ok {
		return
	}
	a.mu.Lock()
	w := a.waiting[d.Corr]
	if w == nil { // unknown: nobody can be told; keep nothing of it
		a.mu.Unlock()
		a.rollback(d.Inserts)
		return
	}
	if err := codeError(d.Code, d.Err); err != nil && w.err == nil {
		w.err = err
	}
	w.inserts = append(w.inserts, d.Inserts...)
	w.pending--
	if w.pending > 0 {
		a.mu.Unlock()
		return
	}
	delete(a.waiting, w.corr)
	ok = w.err == nil && !w.abandoned
	w.finished = !w.abandoned
	a.mu.Unlock()
	if ok {
		sendInserts(a.send, a.metrics, w.inserts)
	} else {
		a.rollback(w.inserts)
	}
	close(w.done)
}

// rollback deletes what a failed or abandoned request wrote and gives back its routes and credits.
func (a *acks) rollback(routes []RoutedInsert) {
	for _, r := range routes {
		for _, s := range r.Insert.Messages {
			if !r.Insert.Held {
				if id, err := spoolID(s.Id); err == nil {
					a.spool.Delete(id)
				}
			}
		}
		n := len(r.Insert.Messages)
		a.router.Release(r.Insert.Queue, r.PID, n)
		a.inserts.Release(n)
	}
}

// PID is the acknowledgements' address.
func (a *acks) PID() *actor.PID { return a.pid }

// Start, Invoke and Shutdown complete hollywood's Processer interface: there is no inbox.
func (a *acks) Start()                  {}
func (a *acks) Invoke([]actor.Envelope) {}
func (a *acks) Shutdown()               {}
