package segment

import (
	"errors"
	"time"

	"github.com/hookd/hookd/message"
)

// compactor periodically rewrites sparse sealed segments: their live messages are written again at
// the end of the spool (with their current attempts and due time) so the old file can be deleted.
// Writers are not blocked: the moves go through the writer as ordinary frames of their own.
func (s *Store) compactor() {
	defer s.compWG.Done()
	t := time.NewTicker(s.opts.CompactEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stopComp:
			return
		case <-t.C:
			s.CompactOnce()
		}
	}
}

// CompactOnce compacts every sealed segment whose share of live puts is below CompactBelow, and
// waits until the moved messages are durable. It returns how many messages it moved.
func (s *Store) CompactOnce() int {
	moved := 0
	for _, seq := range s.sparseSegments() {
		moved += s.compactSegment(seq)
	}
	return moved
}

func (s *Store) sparseSegments() []uint32 {
	s.idxMu.RLock()
	defer s.idxMu.RUnlock()
	var out []uint32
	for seq, sg := range s.led.segs {
		sparse := sg.puts > 0 && float64(sg.livePuts) < s.opts.CompactBelow*float64(sg.puts)
		onlyUpdates := sg.livePuts == 0 && sg.live > 0 // kept alive by the latest updates of a few messages
		if sg.sealed && sg.live > 0 && (sparse || onlyUpdates) {
			out = append(out, seq)
		}
	}
	return out
}

// compactSegment moves the live puts of one segment forward and waits for the moves to be durable.
func (s *Store) compactSegment(seq uint32) int {
	s.idxMu.RLock()
	sg := s.led.segs[seq]
	var f File
	if sg != nil {
		f = sg.file
	}
	s.idxMu.RUnlock()
	if f == nil {
		return 0
	}
	data, err := readAll(f)
	if err != nil {
		s.log.Warn("compaction: reading a segment", "segment", sg.path, "error", err)
		return 0
	}
	type pending struct {
		id   message.SpoolID
		from loc
		e    entry
	}
	var todo []pending
	var updates []message.SpoolID
	s.walkForCompaction(seq, data, func(id message.SpoolID, at loc, e entry) {
		todo = append(todo, pending{id: id, from: at, e: e})
	}, func(id message.SpoolID) { updates = append(updates, id) })
	moving := map[message.SpoolID]bool{}
	for _, p := range todo {
		moving[p.id] = true
	}
	for _, id := range updates { // rewriting the latest update releases this segment
		if moving[id] {
			continue // the move carries the latest attempts and due time
		}
		s.idxMu.RLock()
		sl, ok := s.led.idx.get(id)
		s.idxMu.RUnlock()
		if ok {
			s.submit(request{e: entry{kind: kindUpdate, id: id, attempts: sl.attempts, due: sl.due.nanos()}})
		}
	}
	if len(todo) == 0 {
		return 0
	}
	done := make(chan error, len(todo))
	reqs := make([]request, len(todo))
	for i, p := range todo { // the writer folds in the attempts and due time current when it writes
		reqs[i] = request{e: p.e, move: true, from: p.from, done: func(err error) { done <- err }}
	}
	s.mu.Lock()
	if s.closing || s.err != nil {
		s.mu.Unlock()
		return 0
	}
	s.moves = append(s.moves, reqs...)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	moved := 0
	for range reqs {
		switch err := <-done; {
		case err == nil:
			moved++
		case !errors.Is(err, errMoveSkipped):
			return moved // the store failed; it says why
		}
	}
	s.stats.compacted.Add(1)
	s.stats.moved.Add(uint64(moved))
	return moved
}

// walkForCompaction calls put for each put of the segment that is still the live copy of its
// message, and update for each message whose latest update is in the segment.
func (s *Store) walkForCompaction(seq uint32, data []byte, put func(message.SpoolID, loc, entry), update func(message.SpoolID)) {
	seen := map[message.SpoolID]bool{}
	off := headerSize
	for off < len(data) {
		n, ok := s.intactFrame(data, off)
		if !ok {
			return
		}
		raw, err := s.dec.DecodeAll(data[off+frameHeaderSize:off+frameHeaderSize+n], nil)
		if err == nil {
			es, err := decodeEntries(raw, nil)
			if err == nil {
				for i, e := range es {
					at := loc{seg: seq, off: uint32(off), idx: uint16(i)}
					switch {
					case e.kind == kindPut && s.stillAt(e.id, at):
						put(e.id, at, e)
					case e.kind == kindUpdate && !seen[e.id] && s.latestUpdateIn(e.id, seq):
						seen[e.id] = true
						update(e.id)
					}
				}
			}
		}
		off += frameHeaderSize + n
	}
}

func (s *Store) latestUpdateIn(id message.SpoolID, seq uint32) bool {
	s.idxMu.RLock()
	defer s.idxMu.RUnlock()
	sl, ok := s.led.idx.get(id)
	return ok && sl.updSeg == seq
}
