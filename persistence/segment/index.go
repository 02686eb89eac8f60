package segment

import "github.com/hookd/hookd/message"

// loc is where an entry lives: segment, frame offset, index within the frame.
type loc struct {
	seg uint32
	off uint32
	idx uint16
}

// slot is what the store keeps in memory per live message: where its put is, where its latest
// update is (0 = none), its queue (an interned name), and its current attempts and due time (folded
// into the put when compaction moves it). Its fields are ordered to pack into 32 bytes.
type slot struct {
	due      int64
	put      loc
	attempts uint16
	updSeg   uint32
	queue    uint32
}

// index maps live messages to their slots. It is a type of its own so its representation can change
// without touching the store's logic.
type index struct {
	m map[message.SpoolID]slot
}

func newIndex() *index { return &index{m: make(map[message.SpoolID]slot)} }

func (x *index) get(id message.SpoolID) (slot, bool) {
	s, ok := x.m[id]
	return s, ok
}

func (x *index) set(id message.SpoolID, s slot) { x.m[id] = s }

func (x *index) del(id message.SpoolID) { delete(x.m, id) }

func (x *index) len() int { return len(x.m) }

func (x *index) each(fn func(message.SpoolID, slot)) {
	for id, s := range x.m {
		fn(id, s)
	}
}
