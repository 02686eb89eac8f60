package segment

import (
	"sync"

	"github.com/hookd/hookd/message"
)

// retryCache keeps the entries of messages whose delivery failed and will be retried. The frame
// cache keeps whole frames for first deliveries, which follow their writing closely; a retry comes
// a second or more later, when at full load its frame (tens of messages) has usually left the
// frame cache, and reading and decompressing all of it again for one message cost more than the
// first attempt. So Update copies the message's entry here while its frame is still cached, and
// Load looks here first; Delete drops it. It is bounded by bytes and evicts the oldest first.
type retryCache struct {
	mu       sync.Mutex
	maxBytes int
	bytes    int
	order    []message.SpoolID // oldest first; may hold ids already dropped (compacted as it grows)
	m        map[message.SpoolID]entry
}

func (c *retryCache) init(maxBytes int) {
	c.maxBytes, c.m = maxBytes, map[message.SpoolID]entry{}
}

func entryBytes(e *entry) int { return 64 + len(e.queue) + len(e.meta) + len(e.body) }

// keep stores a copy of e (its own bytes: not a slice of the frame it came from, which would keep
// the whole frame alive).
func (c *retryCache) keep(e *entry) {
	size := entryBytes(e)
	if size > c.maxBytes {
		return
	}
	buf := make([]byte, 0, len(e.queue)+len(e.meta)+len(e.body))
	buf = append(append(append(buf, e.queue...), e.meta...), e.body...)
	cp := *e
	cp.queue = buf[:len(e.queue):len(e.queue)]
	cp.meta = buf[len(e.queue) : len(e.queue)+len(e.meta) : len(e.queue)+len(e.meta)]
	cp.body = buf[len(e.queue)+len(e.meta):]
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[e.id]; ok {
		return
	}
	for c.bytes+size > c.maxBytes && len(c.order) > 0 {
		c.dropLocked(c.order[0])
		c.order = c.order[1:]
	}
	c.m[e.id] = cp
	c.order = append(c.order, e.id)
	c.bytes += size
	if len(c.order) > 2*len(c.m)+64 { // mostly places of dropped ids: keep the live ones only
		live := c.order[:0]
		for _, id := range c.order {
			if _, ok := c.m[id]; ok {
				live = append(live, id)
			}
		}
		c.order = live
	}
}

func (c *retryCache) get(id message.SpoolID) (entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	return e, ok
}

// drop forgets id (delivered, bounced or expired). Its place in the order goes with eviction.
func (c *retryCache) drop(id message.SpoolID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(id)
	if len(c.m) == 0 {
		c.order = c.order[:0] // nothing left: the stale places go too
	}
}

func (c *retryCache) dropLocked(id message.SpoolID) {
	if e, ok := c.m[id]; ok {
		c.bytes -= entryBytes(&e)
		delete(c.m, id)
	}
}
