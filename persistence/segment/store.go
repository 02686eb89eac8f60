// Package segment is hookd's durable spool: append-only segment files of CRC-checked, zstd-compressed
// frames, written by one goroutine that shares each fsync among every caller waiting for it (group
// commit). See ../FORMAT.md for the layout.
//
//	Put / Update / Delete ──► pending ──► writer: encode one frame, write, fsync ──► done(nil)
//	                                          │
//	                                          ├─► ledger: index of live messages, per-segment counts
//	                                          └─► reclaim: delete segments nobody needs; compact sparse ones
//
// The caller's contract:
//  1. Open replays the directory; Recover then lists the live messages.
//  2. A Put is acknowledged (done(nil)) only once its frame is on disk and synced.
//  3. Update and Delete are written in order after the Put they follow, in the next frame.
//  4. Close flushes what is pending and closes the files.
package segment

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
)

// Options configure a Store.
type Options struct {
	Dir    string       // required; created if missing
	FS     FS           // default OS
	Logger *slog.Logger // default slog.Default()
	// MaxSegmentSize is the size at which the active segment is sealed and a new one begun. Default 64 MiB.
	MaxSegmentSize int64
	// Preallocate is how far ahead of its frames the active segment is filled with zeros, so that
	// the fdatasync of a commit flushes data only, not the file's growing size (about 2.5x more
	// commits per second on ext4). Default 1 MiB; negative turns it off.
	Preallocate int64
	// MaxFrameBytes bounds the uncompressed size of one frame (a group commit larger than this is
	// written as several frames). Default 1 MiB: a frame is the unit a load reads and decompresses
	// when the frame cache misses, and the compressor's history is as large as the largest frame.
	MaxFrameBytes int
	// MinFreeSpace and MinFreeInodes refuse new messages when the file system is below them.
	// The zero value means KumoMTA's default, 10%; use Threshold{Disabled: true} to turn a check off.
	MinFreeSpace, MinFreeInodes Threshold
	// CompactBelow is the fraction of live puts under which a sealed segment is compacted. Default 0.25.
	CompactBelow float64
	// CompactEvery is how often the compactor looks for sparse segments. Default 30 s.
	CompactEvery time.Duration
	// DeleteSyncDelay is how long a commit holding nothing but deletes waits for other work to
	// share its fsync. Nobody waits on a delete, and at low rates every delivery's delete
	// otherwise costs an fsync of its own; a delete lost in a crash within this window only means
	// the message is delivered again (at least once). Default 10 ms; negative: no wait.
	DeleteSyncDelay time.Duration
	// GatherDelay is how long a commit of a single frame waits for a second one to share its
	// fsync, when it follows the previous commit at once (frames were waiting when that fsync
	// returned: the store is fsyncing back to back). An fdatasync costs ~70 µs of CPU on a virtual
	// disk whatever it flushes, so under load fewer and larger commits are CPU for the deliveries;
	// an idle store does not wait. Default 300 µs; negative: no wait.
	GatherDelay time.Duration
}

// ErrLowSpace is returned for puts refused because the disk is below its free-space threshold.
var ErrLowSpace = errors.New("spool: the disk is below its minimum free space")

// ErrTooLarge refuses a group (or a lone message) too large to be written as one frame.
var ErrTooLarge = persistence.ErrGroupTooLarge

// ErrClosed is returned for work offered to a closed store.
var ErrClosed = persistence.ErrClosed

// Store is a durable persistence.Spool.
type Store struct {
	opts Options
	log  *slog.Logger
	fs   FS

	mu      sync.Mutex
	pending []request
	moves   []request
	wake    chan struct{}
	closing bool
	err     error // sticky: once the disk failed in a way the store cannot undo

	idxMu  sync.RWMutex // guards led (index and segments); the syncer applies durable frames to it
	led    ledger
	nextSq uint32
	active *segInfo // the segment the writer appends to (writer only, after Open)

	writeOff int64  // where the writer's next frame goes in the active segment (writer only)
	allocEnd int64  // the active segment is zero-filled up to here (writer only); see extend
	rawBuf   []byte // writer scratch: a frame's entries before compression
	frameBuf []byte // writer scratch: the compressed frame
	hdrBuf   [frameHeaderSize]byte
	zeros    []byte // writer scratch: what extend writes
	frameSeq uint64 // frames written (writer only)
	hand     *handoff
	// wtok is the writer token: whoever writes frames holds it, the writer goroutine (step) or a
	// PutGroup caller (writeNow). The fields above marked "writer only" or "writer scratch", and
	// the encoders, are guarded by it.
	wtok    sync.Mutex
	rollDue bool // a caller's frame filled the active segment; the writer rolls it (writer only)
	ovMu    sync.Mutex
	overlay map[message.SpoolID]liveness // ids touched by frames not yet durable

	encs     encoders
	dec      *zstd.Decoder
	cache    frameCache
	retry    retryCache
	lowSpace atomic.Bool
	spaceMu  sync.Mutex // one free-space check at a time
	unsized  int64      // bytes the syncer committed since it last checked the free space (syncer only)
	stats    counters
	report   RecoveryReport

	done     chan struct{}
	stopComp chan struct{}
	compWG   sync.WaitGroup
}

type request struct {
	e entry
	// group is the number of requests, this one first, that must share a frame (PutGroup); 0 or 1
	// for a request alone.
	group int
	move  bool // a compaction move of the put at from
	from  loc
	done  func(error)
}

var _ persistence.Spool = (*Store)(nil)

// Open opens (creating if needed) the spool in opts.Dir and replays it.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("spool: no directory")
	}
	if opts.FS == nil {
		opts.FS = OS
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Preallocate == 0 {
		opts.Preallocate = 1 << 20
	}
	if opts.MaxSegmentSize <= 0 {
		opts.MaxSegmentSize = 64 << 20
	}
	if opts.MaxFrameBytes <= 0 {
		opts.MaxFrameBytes = 1 << 20
	}
	if opts.CompactBelow <= 0 {
		opts.CompactBelow = 0.25
	}
	if opts.CompactEvery <= 0 {
		opts.CompactEvery = 30 * time.Second
	}
	if opts.DeleteSyncDelay == 0 {
		opts.DeleteSyncDelay = 10 * time.Millisecond
	}
	if opts.GatherDelay == 0 {
		opts.GatherDelay = 300 * time.Microsecond
	}
	opts.MinFreeSpace = opts.MinFreeSpace.orDefault()
	opts.MinFreeInodes = opts.MinFreeInodes.orDefault()
	if err := opts.FS.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("spool %s: %w", opts.Dir, err)
	}
	encs, err := newEncoders()
	if err != nil {
		return nil, err
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxFrame),
		zstd.WithDecoderDictRaw(dictV1ID, dictV1))
	if err != nil {
		return nil, err
	}
	s := &Store{opts: opts, log: opts.Logger, fs: opts.FS, wake: make(chan struct{}, 1), encs: encs, dec: dec,
		led: ledger{idx: newIndex(), segs: map[uint32]*segInfo{}}, done: make(chan struct{}),
		stopComp: make(chan struct{}), hand: newHandoff(), overlay: map[message.SpoolID]liveness{}}
	s.cache.init(cacheFrames, cacheBytes)
	s.retry.init(8 << 20)
	if err := s.replay(); err != nil {
		s.closeFiles()
		return nil, err
	}
	if err := s.roll(); err != nil {
		s.closeFiles()
		return nil, err
	}
	s.reclaim()
	s.checkSpace()
	go s.run()
	go s.sync()
	s.compWG.Add(1)
	go s.compactor()
	return s, nil
}

func (s *Store) segPath(seq uint32) string {
	return filepath.Join(s.opts.Dir, fmt.Sprintf("%010d.seg", seq))
}

// Put stores a new entry; done is called once it is on disk and synced, or with the error that
// stopped it (ErrLowSpace, ErrClosed, a disk error).
func (s *Store) Put(e *persistence.Entry, done func(error)) {
	if s.LowSpace() {
		s.stats.refused.Add(1)
		if done != nil {
			done(ErrLowSpace)
		}
		return
	}
	s.submit(request{e: entry{kind: kindPut, id: e.ID, attempts: e.Attempts, due: dueNanos(e.Due),
		queue: []byte(e.Queue), meta: e.Meta, body: e.Body}, done: done})
}

// PutGroup stores new messages as one group, in order: they are written in one frame, so they
// become durable together or not at all, and done is called once, after the fsync covering that
// frame. A group beyond persistence.CheckGroup's bounds is refused with nothing written; an empty
// one is done(nil) at once. When the writer is idle and the syncer has taken every frame, the group
// is compressed and written on the caller's goroutine (writeNow), without waking the writer.
func (s *Store) PutGroup(es []*persistence.Entry, done func(error)) {
	if done == nil {
		done = func(error) {}
	}
	if len(es) == 0 {
		done(nil)
		return
	}
	if err := persistence.CheckGroup(es); err != nil {
		done(err)
		return
	}
	if s.LowSpace() {
		s.stats.refused.Add(1)
		done(ErrLowSpace)
		return
	}
	reqs := make([]request, len(es))
	for i, e := range es {
		reqs[i] = request{e: entry{kind: kindPut, id: e.ID, attempts: e.Attempts, due: dueNanos(e.Due),
			queue: []byte(e.Queue), meta: e.Meta, body: e.Body}}
	}
	reqs[0].group = len(reqs)
	reqs[len(reqs)-1].done = done // the frame's fate is the group's: one answer, on its last request
	if !s.writeNow(reqs) {
		s.submitAll(reqs)
	}
}

// Update records new attempts and due time for a stored message.
func (s *Store) Update(id message.SpoolID, attempts uint16, due time.Time) {
	s.keepForRetry(id)
	s.submit(request{e: entry{kind: kindUpdate, id: id, attempts: attempts, due: dueNanos(due)}})
}

// keepForRetry copies a message that will be loaded again for a retry into the retry cache, when
// its frame is still in the frame cache (see retryCache).
func (s *Store) keepForRetry(id message.SpoolID) {
	if _, ok := s.retry.get(id); ok {
		return
	}
	s.idxMu.RLock()
	sl, ok := s.led.idx.get(id)
	s.idxMu.RUnlock()
	if !ok {
		return
	}
	es, ok := s.cachedFrame(frameKey{seg: sl.put.seg, off: sl.put.off})
	if !ok || int(sl.put.idx) >= len(es) || es[sl.put.idx].id != id || es[sl.put.idx].kind != kindPut {
		return
	}
	s.retry.keep(&es[sl.put.idx])
}

// Delete records that a message is finished.
func (s *Store) Delete(id message.SpoolID) {
	s.retry.drop(id)
	s.submit(request{e: entry{kind: kindDelete, id: id}})
}

func (s *Store) submit(r request) { s.submitAll([]request{r}) }

// submitAll queues requests for the writer, contiguous and in order.
func (s *Store) submitAll(rs []request) {
	s.mu.Lock()
	if s.closing || s.err != nil {
		err := s.err
		s.mu.Unlock()
		if err == nil {
			err = ErrClosed
		}
		for _, r := range rs {
			if r.done != nil {
				r.done(err)
			}
		}
		return
	}
	s.pending = append(s.pending, rs...)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Recover calls fn for every live message, with its queue, attempts and due time (Meta and Body are
// not filled in: Load reads them). It returns the first error fn returns.
func (s *Store) Recover(fn func(*persistence.Entry) error) error {
	s.idxMu.RLock()
	entries := make([]persistence.Entry, 0, s.led.idx.len())
	s.led.idx.each(func(id message.SpoolID, sl slot) {
		entries = append(entries, persistence.Entry{ID: id, Queue: s.led.queues[sl.queue], Attempts: sl.attempts,
			Due: dueTime(sl.due.nanos())})
	})
	s.idxMu.RUnlock()
	for i := range entries {
		if err := fn(&entries[i]); err != nil {
			return err
		}
	}
	return nil
}

// Flush waits until everything submitted before it has been written (or has failed).
func (s *Store) Flush() error {
	done := make(chan error, 1)
	s.submit(request{done: func(err error) { done <- err }})
	return <-done
}

// Report describes what Open found: segments, live messages, and any damage it repaired.
func (s *Store) Report() RecoveryReport { return s.report }

// Close writes what is pending, stops the writer and the compactor, and closes every file.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	s.mu.Unlock()
	close(s.stopComp)
	s.compWG.Wait()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	<-s.done // the writer and the syncer have stopped
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if s.active != nil && err == nil {
		s.seal(s.active)
	}
	return errors.Join(err, s.closeFiles())
}

func (s *Store) closeFiles() error {
	var errs []error
	for _, sg := range s.led.segs {
		if sg.file != nil {
			errs = append(errs, sg.file.Close())
			sg.file = nil
		}
	}
	return errors.Join(errs...)
}

// LowSpace reports whether the disk is below its free-space threshold (new messages are refused).
// While it is, every call looks again (one at a time: a call that finds a check under way answers
// with what the last one found), so the store takes messages again as soon as there is room, even
// when nothing is being written.
func (s *Store) LowSpace() bool {
	if s.lowSpace.Load() {
		s.checkSpace()
		return s.lowSpace.Load()
	}
	return false
}

// Len is the number of live messages.
func (s *Store) Len() int {
	s.idxMu.RLock()
	defer s.idxMu.RUnlock()
	return s.led.idx.len()
}

func (s *Store) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
		s.log.Error("spool failed; it refuses new work until hookd restarts", "dir", s.opts.Dir, "error", err)
	}
	s.mu.Unlock()
}
