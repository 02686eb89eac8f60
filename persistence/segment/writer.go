package segment

import (
	"errors"
	"fmt"
	"os"

	"github.com/hookd/hookd/message"
)

// The write path is a two-stage pipeline. The writer (run) takes what is pending, encodes,
// compresses and writes it as one frame, then hands the frame to the syncer (see handoff); once
// the syncer has taken it, the writer prepares the next frame while that fsync is in progress. The
// syncer fsyncs every frame handed to it since its last fsync at once, applies them to the ledger
// (which therefore only ever describes durable data), acknowledges them, and deletes the segments
// nobody needs any more.

// written is a frame the writer wrote and the syncer has yet to make durable.
type written struct {
	seg      *segInfo
	off, end int64
	seq      uint64 // the writer's frame counter
	ops      []batchOp
	barriers []request // Flush calls answered once everything before them is durable
}

// liveness is what the writer knows of an id touched by a frame not yet applied to the ledger.
type liveness struct {
	live  bool
	frame uint64
}

// run is the writer stage.
func (s *Store) run() {
	defer s.hand.close()
	for {
		// What arrives while the syncer is busy goes into the next frame: one frame per fsync.
		s.hand.awaitTaken()
		switch idle, stop := s.step(); {
		case stop:
			return
		case idle:
			<-s.wake
		}
	}
}

// step takes what is pending and writes it, holding the writer token. It reports idle when there
// was nothing to do, stop when there was nothing and the store is closing.
func (s *Store) step() (idle, stop bool) {
	s.wtok.Lock()
	defer s.wtok.Unlock()
	if s.rollDue { // a frame written by writeNow filled the segment
		s.rollDue = false
		if s.stickyErr() == nil {
			s.maybeRoll()
		}
	}
	s.mu.Lock()
	reqs, moves := s.pending, s.moves
	s.pending, s.moves = nil, nil
	closing := s.closing
	s.mu.Unlock()
	switch {
	case len(reqs) > 0:
		s.writeBatch(reqs, false)
		if len(moves) > 0 { // moves go alone, after the batch ahead of them
			s.writeBatch(moves, true)
		}
	case len(moves) > 0:
		s.writeBatch(moves, true)
	case closing:
		return false, true
	default:
		return true, false
	}
	return false, false
}

// writeNow is PutGroup's fast path: when the writer has nothing to do and the syncer has taken
// every frame, the caller encodes, compresses and writes the group's frame itself and hands it to
// the syncer, sparing a wake-up of the writer goroutine (the fsync and the acknowledgement are the
// syncer's, as for any frame). It holds the writer token throughout, so frames are still written
// one at a time and in order: anything submitted before the call is either pending (then the
// caller does not go ahead) or was taken by the writer, which keeps the token until it handed its
// frames over. It reports false, having done nothing, when the path is not free.
func (s *Store) writeNow(reqs []request) bool {
	if !s.wtok.TryLock() {
		return false
	}
	defer s.wtok.Unlock()
	s.mu.Lock()
	free := len(s.pending) == 0 && len(s.moves) == 0 && !s.closing && s.err == nil
	s.mu.Unlock()
	// A full segment is the writer's to roll: that takes two fsyncs, which no caller waits for.
	if !free || s.rollDue || s.writeOff >= s.opts.MaxSegmentSize || !s.hand.drained() {
		return false
	}
	s.stats.callerFrames.Add(1)
	s.writeFrame(reqs, false)
	if s.writeOff >= s.opts.MaxSegmentSize {
		s.rollDue = true
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// batchOp is one request as the writer resolved it.
type batchOp struct {
	req  *request
	skip bool // an update or delete of a message that is not live, or a move that lost its race
	at   loc
}

// writeBatch writes reqs as frames of at most MaxFrameBytes and passes them to the syncer.
func (s *Store) writeBatch(reqs []request, moves bool) {
	if err := s.stickyErr(); err != nil {
		finish(reqs, err)
		return
	}
	var barriers []request
	kept := reqs[:0] // the batch is the writer's alone: filtered in place, not copied
	for _, r := range reqs {
		if r.e.kind == 0 {
			barriers = append(barriers, r)
		} else {
			kept = append(kept, r)
		}
	}
	for reqs = kept; len(reqs) > 0; {
		n := s.fitFrame(reqs)
		s.writeFrame(reqs[:n], moves)
		reqs = reqs[n:]
	}
	s.maybeRoll()
	if len(barriers) > 0 {
		s.hand.put(&written{barriers: barriers})
	}
}

// fitFrame returns how many leading requests fit in one frame: always at least one, and never part
// of a group (a group alone may exceed MaxFrameBytes; PutGroup bounds it below the format's limit).
// A frame holds at most maxFrameEntries entries (a location numbers them with 16 bits).
func (s *Store) fitFrame(reqs []request) int {
	size := 0
	for i := 0; i < len(reqs); {
		n := max(reqs[i].group, 1)
		for j := i; j < i+n; j++ {
			e := &reqs[j].e
			size += 40 + len(e.queue) + len(e.meta) + len(e.body)
		}
		if i > 0 && (size > s.opts.MaxFrameBytes || i+n > maxFrameEntries) {
			return i
		}
		i += n
	}
	return len(reqs)
}

// maxFrameEntries bounds the entries of a frame: loc.idx is 16 bits.
const maxFrameEntries = 1 << 16

func (s *Store) writeFrame(reqs []request, moves bool) {
	ops, raw := s.encode(reqs, moves)
	if raw == nil { // nothing to write: every op was skipped
		s.hand.put(&written{ops: ops})
		return
	}
	// raw and frame are the writer's scratch buffers, reused for every frame: the write copies the
	// frame into the kernel before the next one is built.
	if cap(s.frameBuf) < frameHeaderSize {
		s.frameBuf = make([]byte, 0, 64<<10)
	}
	frame := s.encs.compress(raw, s.frameBuf[:frameHeaderSize], moves)
	s.frameBuf, s.rawBuf = keepScratch(frame), keepScratch(raw)
	payload := frame[frameHeaderSize:]
	if len(payload) > maxFrame { // one huge message: replay would take it for damage
		s.giveBack(ops, fmt.Errorf("%w: a frame of %d bytes, more than %d", ErrTooLarge, len(payload), maxFrame))
		return
	}
	copy(frame, appendFrameHeader(s.hdrBuf[:0], payload))
	a := s.active
	off := s.writeOff
	a.unapplied.Add(1) // before the write: the syncer must not delete a segment with frames on the way
	err := s.extend(a, off+int64(len(frame)))
	if err == nil {
		// At its offset, not the file's position: a torn write that was cut off must not move the
		// next frame away from where the index will say it is.
		_, err = a.file.WriteAt(frame, off)
	}
	if err != nil {
		a.unapplied.Add(-1)
		s.writeFailed(a, off, ops, err)
		return
	}
	s.writeOff += int64(len(frame))
	s.frameSeq++
	s.ovMu.Lock()
	for i := range ops {
		if !ops[i].skip {
			ops[i].at.off = uint32(off)
			s.overlay[ops[i].req.e.id] = liveness{live: ops[i].req.e.kind != kindDelete, frame: s.frameSeq}
		}
	}
	s.ovMu.Unlock()
	if !moves && framePuts(ops) { // what was just written is what will be loaded next, if anything is
		s.cache.putPacked(frameKey{seg: a.seq, off: uint32(off)}, payload)
	}
	s.stats.frames.Add(1)
	s.stats.bytes.Add(uint64(len(frame)))
	s.stats.entries.Add(uint64(len(ops)))
	s.hand.put(&written{seg: a, off: off, end: s.writeOff, seq: s.frameSeq, ops: ops})
}

// framePuts says whether a frame of ops holds a put: loads read puts only, so a frame of updates and
// deletes would just take a place in the cache.
func framePuts(ops []batchOp) bool {
	for i := range ops {
		if !ops[i].skip && ops[i].req.e.kind == kindPut {
			return true
		}
	}
	return false
}

// encode resolves each request against what is live (including frames not yet durable, and the
// requests before it in the same frame) and serialises the ones that still apply.
func (s *Store) encode(reqs []request, moves bool) ([]batchOp, []byte) {
	ops := make([]batchOp, len(reqs))
	local := map[message.SpoolID]bool{}
	live := func(id message.SpoolID) bool {
		if v, ok := local[id]; ok {
			return v
		}
		if v, ok := s.overlayState(id); ok {
			return v.live
		}
		_, ok := s.currentSlot(id)
		return ok
	}
	raw := s.rawBuf[:0]
	n := 0
	for i := range reqs {
		r := &reqs[i]
		op := &ops[i]
		op.req = r
		switch r.e.kind {
		case kindPut:
			if moves && !s.movable(r) {
				op.skip = true // deleted, moved or changed since compaction read it
				continue
			}
			local[r.e.id] = true
		case kindUpdate:
			op.skip = !live(r.e.id)
		case kindDelete:
			op.skip = !live(r.e.id)
			local[r.e.id] = false
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

// movable checks a compaction move: the message must be durable, unchanged in flight, and still at
// the place compaction read it from. Its latest attempts and due time are folded in.
func (s *Store) movable(r *request) bool {
	if _, busy := s.overlayState(r.e.id); busy {
		return false
	}
	sl, ok := s.currentSlot(r.e.id)
	if !ok || sl.put != r.from {
		return false
	}
	r.e.attempts, r.e.due = sl.attempts, sl.due.nanos()
	return true
}

func (s *Store) overlayState(id message.SpoolID) (liveness, bool) {
	s.ovMu.Lock()
	defer s.ovMu.Unlock()
	v, ok := s.overlay[id]
	return v, ok
}

func (s *Store) currentSlot(id message.SpoolID) (slot, bool) {
	s.idxMu.RLock()
	defer s.idxMu.RUnlock()
	return s.led.idx.get(id)
}

func (s *Store) stillAt(id message.SpoolID, from loc) bool {
	sl, ok := s.currentSlot(id)
	return ok && sl.put == from
}

// writeFailed handles a failed write: the partial frame is cut off so the file stays valid, the puts
// of the frame fail, and its updates and deletes go back to be written with the next frame. If the
// file cannot be repaired, the store stops.
func (s *Store) writeFailed(a *segInfo, off int64, ops []batchOp, err error) {
	err = fmt.Errorf("write %s: %w", a.path, err)
	s.allocEnd = off
	if terr := a.file.Truncate(off); terr != nil {
		s.fail(errors.Join(err, fmt.Errorf("truncate after a failed write: %w", terr)))
		finishOps(ops, err)
		return
	}
	s.log.Error("spool write failed; its puts are refused", "segment", a.path, "error", err)
	s.stats.writeErrors.Add(1)
	s.giveBack(ops, err)
}

// giveBack answers the puts of a frame that was not written with err, and queues its updates and
// deletes again, to be written with the next frame.
func (s *Store) giveBack(ops []batchOp, err error) {
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
	if len(retry) == 0 {
		return
	}
	s.mu.Lock()
	s.pending = append(retry, s.pending...)
	s.mu.Unlock()
	select { // writeNow's caller has no loop to come back to them
	case s.wake <- struct{}{}:
	default:
	}
}

// keepScratch returns b emptied for reuse, or nil when it grew past what is worth keeping (a frame
// of one huge group).
func keepScratch(b []byte) []byte {
	if cap(b) > 4<<20 {
		return nil
	}
	return b[:0]
}

// errMoveSkipped answers a compaction move that did not happen (the message changed meanwhile).
var errMoveSkipped = errors.New("spool: move skipped")

func finishOps(ops []batchOp, err error) {
	for i := range ops {
		d := ops[i].req.done
		switch {
		case d == nil:
		case err == nil && ops[i].skip && ops[i].req.move:
			d(errMoveSkipped)
		default:
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
	if s.writeOff < s.opts.MaxSegmentSize {
		return
	}
	if err := s.roll(); err != nil {
		s.fail(err)
	}
}

// extend makes sure the active segment is zero-filled up to at least end, a Preallocate chunk at a
// time. The zeros are written, not just reserved (fallocate leaves extents that the first write
// converts, a metadata change again). A frame then overwrites blocks the file already has, and the
// commit's fdatasync has no size change to journal; the one that follows an extension does.
// Replay takes a run of zeros after the last frame as the segment's end.
func (s *Store) extend(a *segInfo, end int64) error {
	if s.opts.Preallocate < 0 || end <= s.allocEnd {
		return nil
	}
	// A chunk at most the segment's own size: small segments are not given a megabyte each.
	chunk := min(s.opts.Preallocate, max(s.opts.MaxSegmentSize, 4<<10))
	to := (end + chunk - 1) / chunk * chunk
	// Written from a small buffer, a few calls a chunk: one the chunk's size would be a megabyte of
	// heap kept for the store's life (twice that in the garbage collector's goal) to save syscalls
	// that cost nothing next to the fdatasync that follows.
	if cap(s.zeros) < int(min(chunk, zerosBuf)) {
		s.zeros = make([]byte, min(chunk, zerosBuf))
	}
	for at := max(s.allocEnd, s.writeOff); at < to; {
		n := min(int64(len(s.zeros)), to-at)
		if _, err := a.file.WriteAt(s.zeros[:n], at); err != nil {
			return fmt.Errorf("preallocating: %w", err)
		}
		at += n
	}
	s.allocEnd = to
	return nil
}

// zerosBuf is the size of the buffer extend writes zeros from.
const zerosBuf = 64 << 10

// seal cuts the zeros after the last frame of a segment the writer has left (a crash before the
// cut leaves them to replay, which reads them as the end).
func (s *Store) seal(a *segInfo) {
	if s.opts.Preallocate < 0 || s.allocEnd <= s.writeOff {
		return
	}
	if err := a.file.Truncate(s.writeOff); err != nil {
		s.log.Warn("spool: could not cut the preallocated end of a sealed segment", "segment", a.path, "error", err)
	}
}

// roll seals the active segment (if any) and starts a new one. Only the writer calls it (and Open,
// before the writer starts).
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
	if s.active != nil {
		s.seal(s.active)
	}
	s.idxMu.Lock()
	if s.active != nil {
		s.active.sealed = true
	}
	s.led.segs[seq] = seg
	s.active = seg
	s.idxMu.Unlock()
	s.writeOff, s.allocEnd = headerSize, headerSize
	return nil
}
