package segment

import (
	"sync/atomic"

	"github.com/hookd/hookd/message"
)

// segInfo is the store's accounting of one segment file.
type segInfo struct {
	seq      uint32
	path     string
	file     File  // open for reading (and for writing while active)
	size     int64 // bytes of valid data
	puts     int   // puts written
	livePuts int   // puts still current
	live     int   // livePuts plus latest updates of live messages that sit here
	// targets counts, per older segment, the records here that ended a put there (deletes, and puts
	// that replaced one). This segment must outlive those segments, or a restart would bring the
	// ended messages back.
	targets   map[uint32]int32
	sealed    bool
	unapplied atomic.Int32 // frames written here but not yet durable and applied
}

// ledger applies entries to the index and the segment accounting. Replay at start and the writer at
// run time both go through it, so they cannot disagree.
type ledger struct {
	idx    *index
	segs   map[uint32]*segInfo
	queues []string          // interned queue names; 0 is unused
	qids   map[string]uint32 // name -> index in queues
}

// queueID interns a queue name.
func (l *ledger) queueID(name []byte) uint32 {
	if id, ok := l.qids[string(name)]; ok { // no allocation for the lookup
		return id
	}
	if l.qids == nil {
		l.qids, l.queues = map[string]uint32{}, []string{""}
	}
	id := uint32(len(l.queues))
	s := string(name)
	l.queues = append(l.queues, s)
	l.qids[s] = id
	return id
}

func (l *ledger) seg(seq uint32) *segInfo { return l.segs[seq] }

// put records a put at `at`, replacing an earlier put of the same id.
func (l *ledger) put(id message.SpoolID, at loc, queue []byte, attempts uint16, due int64) {
	if old, ok := l.idx.get(id); ok {
		l.endPut(old.put, at.seg)
		l.releaseUpdate(old.updSeg)
	}
	l.idx.set(id, slot{put: at, attempts: attempts, due: toDueSecs(due), queue: l.queueID(queue)})
	s := l.seg(at.seg)
	s.puts++
	s.livePuts++
	s.live++
}

// update records a new attempts/due for a live message, written in segment seq.
func (l *ledger) update(id message.SpoolID, seq uint32, attempts uint16, due int64) bool {
	s, ok := l.idx.get(id)
	if !ok {
		return false
	}
	l.releaseUpdate(s.updSeg)
	s.updSeg, s.attempts, s.due = seq, attempts, toDueSecs(due)
	l.idx.set(id, s)
	l.seg(seq).live++
	return true
}

// remove records the end of a message, written in segment seq.
func (l *ledger) remove(id message.SpoolID, seq uint32) bool {
	s, ok := l.idx.get(id)
	if !ok {
		return false
	}
	l.endPut(s.put, seq)
	l.releaseUpdate(s.updSeg)
	l.idx.del(id)
	return true
}

func (l *ledger) endPut(p loc, by uint32) {
	s := l.seg(p.seg)
	if s == nil {
		return
	}
	s.livePuts--
	s.live--
	if p.seg != by {
		if b := l.seg(by); b != nil {
			b.targets[p.seg]++
		}
	}
}

func (l *ledger) releaseUpdate(seq uint32) {
	if s := l.seg(seq); seq != 0 && s != nil {
		s.live--
	}
}

// deletable reports whether a segment holds nothing anyone needs: sealed, nothing live, and every
// segment it ended puts in is gone already.
func (l *ledger) deletable(s *segInfo) bool {
	if !s.sealed || s.live > 0 || s.unapplied.Load() > 0 {
		return false
	}
	for seq := range s.targets {
		if l.segs[seq] != nil {
			return false
		}
	}
	return true
}

// forget drops a deleted segment from the accounting.
func (l *ledger) forget(seq uint32) {
	delete(l.segs, seq)
	for _, s := range l.segs {
		delete(s.targets, seq)
	}
}
