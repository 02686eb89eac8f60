package locallog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("locallog: writer is closed")

// expiryCheckInterval is how often, in Write calls, the age of every open segment is checked while
// records keep arriving (KumoMTA checks every 10,000 records; a write also checks its own segment).
const expiryCheckInterval = 10_000

// maxSpareEncoders bounds the encoders kept from closed segments for reuse by new ones.
const maxSpareEncoders = 4

var newline = []byte{'\n'}

// Writer writes one local logger's segments. It is safe for concurrent use; calls are serialized,
// and a call that closes a segment holds the others up for its fsyncs.
//
// A segment whose file fails (a write, or the flush of a block) is abandoned: its descriptor is
// closed and its write bits cleared as for a finished segment, but its zstd frame has no end, so
// decoders read it up to its last complete block and then report it truncated. The error is
// returned and the next record of that (dir, suffix) opens a new segment.
type Writer struct {
	mu        sync.Mutex
	s         *settings
	create    func(path string) (segmentFile, error)
	open      map[segKey]*segment
	lastStamp map[segKey]time.Time // name time of the last segment opened per key
	spare     []*zstd.Encoder
	writes    uint64
	closed    bool
}

// Open validates cfg, creates the log directories (cfg.LogDir and every per-record LogDir, with
// parents) and clears the write bits of every regular file in them whose name does not start with
// a dot: those are segments that earlier writers left open, and nothing will append to them. It
// opens no segment; the first Write does.
func Open(cfg Config) (*Writer, error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	warn := func(path string, err error) {
		s.logger.Warn("locallog: could not mark leftover file read-only", "path", path, "err", err)
	}
	for _, dir := range s.dirs() {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("locallog: creating log dir: %w", err)
		}
		if err := markLeftovers(dir, warn); err != nil {
			return nil, err
		}
	}
	return &Writer{
		s:         s,
		create:    createFile,
		open:      make(map[segKey]*segment),
		lastStamp: make(map[segKey]time.Time),
	}, nil
}

// Write appends line, and a newline if it does not end with one, to the open segment of
// recordType's (dir, suffix), first opening one (and writing its segment header) if there is none.
// Afterwards the segment is closed if its uncompressed line bytes reached MaxFileSize or its age
// reached MaxSegmentDuration. Every 10,000th call first closes every segment whose age reached
// MaxSegmentDuration.
//
// A non-nil error means something failed and should be logged; the line may or may not be in a
// segment (it is when only a segment close failed). line is not retained.
func (w *Writer) Write(recordType string, line []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	now := w.s.clock.Now()
	var errs []error
	w.writes++
	if w.writes%expiryCheckInterval == 0 {
		errs = append(errs, w.expire(now))
	}
	p := w.s.params(recordType)
	key := w.s.key(p)
	seg := w.open[key]
	if seg == nil {
		var err error
		if seg, err = w.openSegment(key, p.SegmentHeader, now); err != nil {
			return errors.Join(append(errs, err)...)
		}
	}
	if err := w.writeLine(seg, line); err != nil {
		delete(w.open, key)
		return errors.Join(append(errs, err, seg.abandon())...)
	}
	if seg.written >= w.s.maxSize || seg.expired(now, w.s.maxAge) {
		errs = append(errs, w.closeSegment(key, seg))
	}
	return errors.Join(errs...)
}

// writeLine writes line and its newline to seg and counts them.
func (w *Writer) writeLine(seg *segment, line []byte) error {
	if err := seg.write(line); err != nil {
		return err
	}
	n := int64(len(line))
	if len(line) == 0 || line[len(line)-1] != '\n' {
		if err := seg.write(newline); err != nil {
			return err
		}
		n++
	}
	seg.written += n
	return nil
}

// Tick closes every segment that has been open for MaxSegmentDuration. Call it while idle, at or
// after Deadline. After Close it does nothing.
func (w *Writer) Tick() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	return w.expire(w.s.clock.Now())
}

// Deadline reports when the oldest open segment reaches MaxSegmentDuration: the time at which Tick
// has something to close. ok is false when no segment is open or segments do not expire.
func (w *Writer) Deadline() (deadline time.Time, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.s.maxAge <= 0 {
		return time.Time{}, false
	}
	for _, seg := range w.open {
		at := seg.opened.Add(w.s.maxAge)
		if !ok || at.Before(deadline) {
			deadline, ok = at, true
		}
	}
	return deadline, ok
}

// Flush writes the data buffered for every open segment to its file (the OS's page cache, not
// fsynced), as complete zstd blocks that a reader can decompress before the segment is closed.
// After Close it does nothing.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for key, seg := range w.open {
		if err := seg.flush(); err != nil {
			delete(w.open, key)
			errs = append(errs, err, seg.abandon())
		}
	}
	return errors.Join(errs...)
}

// Close closes every open segment (see the package documentation for what closing does). Later
// Writes return ErrClosed; a second Close returns nil.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	var errs []error
	for key, seg := range w.open {
		errs = append(errs, w.closeSegment(key, seg))
	}
	w.spare = nil
	return errors.Join(errs...)
}

// expire closes the segments that have been open for maxAge at now.
func (w *Writer) expire(now time.Time) error {
	var errs []error
	for key, seg := range w.open {
		if seg.expired(now, w.s.maxAge) {
			errs = append(errs, w.closeSegment(key, seg))
		}
	}
	return errors.Join(errs...)
}

// openSegment creates the segment of key, named after now (see nextStamp), and writes header.
func (w *Writer) openSegment(key segKey, header string, now time.Time) (*segment, error) {
	stamp := nextStamp(now.Round(0), w.lastStamp[key])
	f, path, stamp, err := createSegmentFile(w.create, key.dir, key.suffix, stamp)
	if err != nil {
		return nil, err
	}
	w.lastStamp[key] = stamp
	enc, err := w.encoder(f)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("locallog: zstd encoder: %w", err), f.Close(), os.Remove(path))
	}
	seg := &segment{path: path, file: f, enc: enc, opened: now}
	if header != "" {
		if err := seg.write([]byte(header)); err != nil {
			return nil, errors.Join(err, seg.abandon())
		}
	}
	w.open[key] = seg
	return seg, nil
}

// closeSegment finishes seg and forgets it, keeping its encoder for reuse if it is sound.
func (w *Writer) closeSegment(key segKey, seg *segment) error {
	delete(w.open, key)
	err := seg.finish()
	if err == nil && len(w.spare) < maxSpareEncoders {
		w.spare = append(w.spare, seg.enc)
	}
	return err
}

// encoder returns a stream encoder writing to f: a spare one reset, or a new one. Encoding is
// synchronous (concurrency 1): blocks are compressed and written during Write and Flush, so their
// errors are returned there and no goroutine outlives a segment.
func (w *Writer) encoder(f io.Writer) (*zstd.Encoder, error) {
	if n := len(w.spare); n > 0 {
		enc := w.spare[n-1]
		w.spare = w.spare[:n-1]
		enc.Reset(f)
		return enc, nil
	}
	return zstd.NewWriter(f,
		zstd.WithEncoderLevel(w.s.level),
		zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(windowSize))
}
