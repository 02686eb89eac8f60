package admin

import "time"

// QueueCache remembers the admin decisions for one queue so that a queue
// actor asks the Registry again only when an entry was added or cancelled
// (Generation changed) or the entry it holds has expired. The zero value is
// ready to use. A QueueCache belongs to one actor and is not safe for
// concurrent use; the Entries it returns are shared between calls and must
// be treated as read-only.
//
// It relies on time moving forward: an entry that has expired never
// matches again, so "nothing matches" stays true until the generation
// changes.
type QueueCache struct {
	slots [2]cacheSlot // one per Kind
}

type cacheSlot struct {
	valid bool
	queue string
	gen   uint64
	entry *Entry
}

// Bounce is r.Bounce(queue, now), answered from the cache when possible.
func (c *QueueCache) Bounce(r *Registry, queue string, now time.Time) (*Entry, bool) {
	return c.get(r, Bounce, queue, now)
}

// Suspended is r.Suspended(queue, now), answered from the cache when
// possible.
func (c *QueueCache) Suspended(r *Registry, queue string, now time.Time) (*Entry, bool) {
	return c.get(r, Suspend, queue, now)
}

func (c *QueueCache) get(r *Registry, kind Kind, queue string, now time.Time) (*Entry, bool) {
	s := &c.slots[kind-1]
	if s.valid && s.queue == queue && s.gen == r.Generation() {
		if s.entry == nil {
			return nil, false
		}
		if s.entry.Active(now) {
			return s.entry, true
		}
	}
	e, gen := r.lookup(kind, queue, now)
	*s = cacheSlot{valid: true, queue: queue, gen: gen, entry: e}
	return e, e != nil
}
