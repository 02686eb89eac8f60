package actors

import (
	"context"
	"sync"
	"sync/atomic"
)

// Credits bound an edge between producers and an actor whose inbox would otherwise grow without
// limit: a producer takes credits before it sends, the consumer returns them once the work is done.
type Credits struct {
	mu       sync.Mutex
	capacity int
	free     int
	wake     chan struct{} // closed and replaced when credits are returned and someone holds it
	watched  bool          // someone waits on wake (without one, Release makes no channel)
	waits    atomic.Uint64 // times a producer found the edge full
	waiting  atomic.Int64  // producers waiting now
	forced   atomic.Uint64 // times credits were taken past the bound
}

// NewCredits returns capacity credits.
func NewCredits(capacity int) *Credits {
	if capacity < 1 {
		capacity = 1
	}
	return &Credits{capacity: capacity, free: capacity, wake: make(chan struct{})}
}

// Acquire takes n credits, waiting while fewer are free. A request larger than the capacity waits
// until every credit is free, then takes them all and more, so one large batch cannot wait forever.
func (c *Credits) Acquire(ctx context.Context, n int) error {
	need := min(n, c.capacity)
	counted := false
	for {
		c.mu.Lock()
		if c.free >= need {
			c.free -= n
			c.mu.Unlock()
			return nil
		}
		wake := c.wake
		c.watched = true
		c.mu.Unlock()
		if !counted {
			c.waits.Add(1)
			c.waiting.Add(1)
			defer c.waiting.Add(-1)
			counted = true
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Waiting returns how many producers are waiting for credits now.
func (c *Credits) Waiting() int { return int(c.waiting.Load()) }

// TryAcquire takes n credits if they are free, without waiting.
func (c *Credits) TryAcquire(n int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.free >= min(n, c.capacity) {
		c.free -= n
		return true
	}
	c.waits.Add(1)
	return false
}

// Force takes n credits even past the bound. Actors that must never block (a queue emitting
// expirations) use it; every use is counted.
func (c *Credits) Force(n int) {
	c.mu.Lock()
	if c.free < n {
		c.forced.Add(1)
	}
	c.free -= n
	c.mu.Unlock()
}

// Release returns n credits.
func (c *Credits) Release(n int) {
	c.mu.Lock()
	c.free += n
	if c.watched {
		close(c.wake)
		c.wake, c.watched = make(chan struct{}), false
	}
	c.mu.Unlock()
}

// WaitIdle waits until every credit has been returned, or ctx ends.
func (c *Credits) WaitIdle(ctx context.Context) error {
	for {
		c.mu.Lock()
		if c.free >= c.capacity {
			c.mu.Unlock()
			return nil
		}
		wake := c.wake
		c.watched = true
		c.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// InUse is the number of credits taken.
func (c *Credits) InUse() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.capacity - c.free
}

// Capacity is the bound.
func (c *Credits) Capacity() int { return c.capacity }

// Waits counts the times a producer found the edge full.
func (c *Credits) Waits() uint64 { return c.waits.Load() }

// Forced counts the times the bound was exceeded with Force.
func (c *Credits) Forced() uint64 { return c.forced.Load() }
