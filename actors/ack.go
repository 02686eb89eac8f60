package actors

import (
	"context"
	"sync"
)

// Ack tracks the work one producer call caused (records through hooks, messages into the spool) and
// tells the producer when all of it is settled. Work is counted with Add before it is handed on and
// settled with Done; Wait returns once the count is back to zero after Seal.
type Ack struct {
	mu      sync.Mutex
	pending int
	sealed  bool
	err     error
	done    chan struct{}
}

// NewAck returns an Ack with nothing pending.
func NewAck() *Ack { return &Ack{done: make(chan struct{})} }

// Add counts n more pieces of pending work.
func (a *Ack) Add(n int) {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.pending += n
	a.mu.Unlock()
}

// Done settles one piece of work; a non-nil err is kept (the first one wins).
func (a *Ack) Done(err error) {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.pending--
	if err != nil && a.err == nil {
		a.err = err
	}
	a.finishLocked()
	a.mu.Unlock()
}

// Seal says no more work will be added.
func (a *Ack) Seal() {
	a.mu.Lock()
	a.sealed = true
	a.finishLocked()
	a.mu.Unlock()
}

func (a *Ack) finishLocked() {
	if a.sealed && a.pending <= 0 {
		select {
		case <-a.done:
		default:
			close(a.done)
		}
	}
}

// Wait blocks until all work is settled or ctx ends, and returns the first error.
func (a *Ack) Wait(ctx context.Context) error {
	select {
	case <-a.done:
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
