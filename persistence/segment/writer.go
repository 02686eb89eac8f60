package segment

import (
	"errors"
	"fmt"
	"os"

	"github.com/hookd/hookd/message"
)

// run is the writer: it takes everything pending, writes it as one frame with one fsync, then
// acknowledges it. While one frame is being synced, new requests gather for the next.
func (s *Store) run() {
	defer close(s.done)
	for {
		s.mu.Lock()
		reqs, moves := s.pending, s.moves
		s.pending, s.moves = nil, nil
		closing := s.closing
		s.mu.Unlock()
		switch {
		case len(reqs) > 0:
			s.commit(reqs, false)
		case len(moves) > 0:
			s.commit(moves, true)
		case closing:
			return
		default:
			<-s.wake
			continue
		}
		if len(moves) > 0 && len(reqs) > 0 { // moves go alone, after the batch ahead of them
			s.commit(moves, true)
		}
	}
}

// batchOp is one request as the writer resolved it against the index.
type batchOp struct {
	req  *request
	skip bool // an update or delete of a message that is not live, or a move that lost its race
	at   loc
}

// commit writes reqs as frames of at most MaxFrameBytes each, then applies them and acknowledges.
func (s *Store) commit(reqs []request, moves bool) {
	if err := s.stickyErr(); err != nil {
		finish(reqs, err)
		return
	}
	// Flush barriers are answered last, once the frames are written and finished segments are gone.
	var barriers []request
	kept := reqs[:0:0]
	for _, r := range reqs {
		if r.e.kind == 0 {
			barriers = append(barriers, r)
		} else {
			kept = append(kept, r)
		}
	}
	reqs = kept
	for len(reqs) > 0 {
		n := s.fitFrame(reqs)
		s.commitFrame(reqs[:n], moves)
		reqs = reqs[n:]
	}
	s.maybeRoll()
	s.reclaim()
	s.checkSpace()
	finish(barriers, s.stickyErr())
}

// fitFrame returns how many leading requests fit in one frame (always at least one).
func (s *Store) fitFrame(reqs []request) int {
	size := 0
	for i := range reqs {
		e := &reqs[i].e
		size += 40 + len(e.queue) + len(e.meta) + len(e.body)
		if size > s.opts.MaxFrameBytes && i > 0 {
			return i
		}
	}
	return len(reqs)
}

func (s *Store) commitFrame(reqs []request, moves bool) {
	ops, raw := s.encode(reqs, moves)
	if raw == nil { // nothing to write: every op was skipped
		finishOps(ops, nil)
		return
	}
	frame := s.enc.EncodeAll(raw, make([]byte, frameHeaderSize, frameHeaderSize+len(raw)/2))
	payload := frame[frameHeaderSize:]
	copy(frame, appendFrameHeader(nil, payload))
	a := s.active
	off := a.size
	if _, err := a.file.Write(frame); err != nil {
		s.writeFailed(a, off, ops, err)
		return
	}
	if err := a.file.Sync(); err != nil {
		// After a failed fsync the state of the page cache is unknown: nothing more is trusted.
		err = fmt.Errorf("fsync %s: %w", a.path, err)
		s.fail(err)
		finishOps(ops, err)
		return
	}
	s.stats.frames.Add(1)
	s.stats.bytes.Add(uint64(len(frame)))
	s.stats.entries.Add(uint64(len(ops)))
	s.idxMu.Lock()
	a.size += int64(len(frame))
	for i := range ops {
		s.apply(&ops[i], uint32(off))
	}
	s.idxMu.Unlock()
	finishOps(ops, nil)
}

// encode resolves each request against the index (and the requests before it in the same frame)
// and serialises the ones that still apply.
func (s *Store) encode(reqs []request, moves bool) ([]batchOp, []byte) {
	ops := make([]batchOp, len(reqs))
	overlay := map[message.SpoolID]bool{} // live state of ids touched earlier in this frame
	live := func(id message.SpoolID) bool {
		if v, ok := overlay[id]; ok {
			return v
		}
		s.idxMu.RLock()
		_, ok := s.led.idx.get(id)
		s.idxMu.RUnlock()
		return ok
	}
	var raw []byte
	n := 0
	for i := range reqs {
		r := &reqs[i]
		op := &ops[i]
		op.req = r
		switch r.e.kind {
		case kindPut:
			if moves {
				sl, ok := s.currentSlot(r.e.id)
				if !ok || sl.put != r.from {
					op.skip = true // deleted or moved since compaction read it
					continue
				}
				r.e.attempts, r.e.due = sl.attempts, sl.due // fold in the latest update
			}
			overlay[r.e.id] = true
		case kindUpdate:
			op.skip = !live(r.e.id)
		case kindDelete:
			op.skip = !live(r.e.id)
			overlay[r.e.id] = false
		}
		if op.skip {
			continue
		}
		op.at = loc{seg: s.active.seq, idx: uint16(n)}
		n++
		raw = appendEntry(raw, &r.e)
	}
	return ops, raw
}

func (s *Store) currentSlot(id message.SpoolID) (slot, bool) {
	s.idxMu.RLock()
	defer s.idxMu.RUnlock()
	return s.led.idx.get(id)
}

func (s *Store) stillAt(id message.SpoolID, from loc) bool {
	s.idxMu.RLock()
	defer s.idxMu.RUnlock()
	sl, ok := s.led.idx.get(id)
	return ok && sl.put == from
}

// apply records a written op in the ledger (idxMu held).
func (s *Store) apply(op *batchOp, off uint32) {
	if op.skip {
		return
	}
	e := &op.req.e
	op.at.off = off
	switch e.kind {
	case kindPut:
		s.led.put(e.id, op.at, e.queue, e.attempts, e.due)
	case kindUpdate:
		s.led.update(e.id, op.at.seg, e.attempts, e.due)
	case kindDelete:
		s.led.remove(e.id, op.at.seg)
	}
}

// writeFailed handles a failed write: the partial frame is cut off so the file stays valid, the puts
// of the frame fail, and its updates and deletes go back to be written with the next frame. If the
// file cannot be repaired, the store stops.
func (s *Store) writeFailed(a *segInfo, off int64, ops []batchOp, err error) {
	err = fmt.Errorf("write %s: %w", a.path, err)
	if terr := a.file.Truncate(off); terr != nil {
		s.fail(errors.Join(err, fmt.Errorf("truncate after a failed write: %w", terr)))
		finishOps(ops, err)
		return
	}
	s.log.Error("spool write failed; its puts are refused", "segment", a.path, "error", err)
	s.stats.writeErrors.Add(1)
	var retry []request
	for i := range ops {
		r := ops[i].req
		if r.e.kind == kindPut {
			if r.done != nil {
				r.done(err)
			}
			continue
		}
		if !ops[i].skip {
			retry = append(retry, *r)
		}
	}
	s.mu.Lock()
	s.pending = append(retry, s.pending...)
	s.mu.Unlock()
}

func finishOps(ops []batchOp, err error) {
	for i := range ops {
		if d := ops[i].req.done; d != nil {
			d(err)
		}
	}
}

func finish(reqs []request, err error) {
	for i := range reqs {
		if reqs[i].done != nil {
			reqs[i].done(err)
		}
	}
}

func (s *Store) stickyErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Store) maybeRoll() {
	if s.active.size < s.opts.MaxSegmentSize {
		return
	}
	if err := s.roll(); err != nil {
		s.fail(err)
	}
}

// roll seals the active segment (if any) and starts a new one.
func (s *Store) roll() error {
	s.nextSq++
	seq := s.nextSq
	path := s.segPath(seq)
	f, err := s.fs.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("creating segment: %w", err)
	}
	if _, err := f.Write(encodeHeader()); err != nil {
		f.Close()
		return fmt.Errorf("writing segment header %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	if err := s.fs.SyncDir(s.opts.Dir); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", s.opts.Dir, err)
	}
	seg := &segInfo{seq: seq, path: path, file: f, size: headerSize, targets: map[uint32]int32{}}
	s.idxMu.Lock()
	if s.active != nil {
		s.active.sealed = true
	}
	s.led.segs[seq] = seg
	s.active = seg
	s.idxMu.Unlock()
	return nil
}

// reclaim deletes every segment nobody needs, in rounds: a segment whose deletions ended puts in an
// older one may go only once that one's removal is durable.
func (s *Store) reclaim() {
	for {
		var gone []*segInfo
		s.idxMu.Lock()
		for _, sg := range s.led.segs {
			if s.led.deletable(sg) {
				gone = append(gone, sg)
			}
		}
		for _, sg := range gone {
			s.led.forget(sg.seq)
			s.cache.dropSegment(sg.seq)
		}
		s.idxMu.Unlock()
		if len(gone) == 0 {
			return
		}
		for _, sg := range gone {
			if sg.file != nil {
				sg.file.Close()
			}
			if err := s.fs.Remove(sg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
				s.log.Warn("removing a finished segment", "segment", sg.path, "error", err)
			}
			s.stats.segmentsDeleted.Add(1)
		}
		if err := s.fs.SyncDir(s.opts.Dir); err != nil {
			s.fail(fmt.Errorf("fsync %s: %w", s.opts.Dir, err))
			return
		}
	}
}
