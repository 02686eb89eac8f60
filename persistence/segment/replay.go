package segment

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RecoveryReport says what Open found in the spool directory.
type RecoveryReport struct {
	Segments int           // segment files read
	Frames   int           // intact frames replayed
	Live     int           // live messages found
	Repairs  []string      // damage found and what was done about it, one line each
	Took     time.Duration // time spent replaying
}

// replay reads every segment in order and rebuilds the index, the accounting and the list of live
// messages. A torn or corrupt tail is cut off; a corrupt frame in the middle is skipped; both are
// reported with the file and offset.
func (s *Store) replay() error {
	start := time.Now()
	seqs, err := s.listSegments()
	if err != nil {
		return err
	}
	for i, seq := range seqs {
		if err := s.replaySegment(seq, i == len(seqs)-1); err != nil {
			return err
		}
		s.nextSq = max(s.nextSq, seq)
	}
	for _, sg := range s.led.segs {
		sg.sealed = true
	}
	s.report.Segments, s.report.Live, s.report.Took = len(seqs), s.led.idx.len(), time.Since(start)
	for _, r := range s.report.Repairs {
		s.log.Warn("spool recovery: "+r, "dir", s.opts.Dir)
	}
	return nil
}

func (s *Store) listSegments() ([]uint32, error) {
	des, err := s.fs.ReadDir(s.opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", s.opts.Dir, err)
	}
	var seqs []uint32
	for _, de := range des {
		name, ok := strings.CutSuffix(de.Name(), ".seg")
		if !ok || de.IsDir() {
			continue
		}
		n, err := strconv.ParseUint(name, 10, 32)
		if err != nil || n == 0 {
			continue
		}
		seqs = append(seqs, uint32(n))
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	return seqs, nil
}

func (s *Store) repair(format string, args ...any) {
	s.report.Repairs = append(s.report.Repairs, fmt.Sprintf(format, args...))
}

func (s *Store) replaySegment(seq uint32, last bool) error {
	path := s.segPath(seq)
	f, err := s.fs.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("spool: opening %s: %w", path, err)
	}
	data, err := readAll(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("spool: reading %s: %w", path, err)
	}
	if err := checkHeader(data); err != nil {
		f.Close()
		if err == errShortHeader && last {
			s.repair("%s: removed a segment whose header was never completely written (%d bytes)", path, len(data))
			return s.fs.Remove(path)
		}
		aside := path + ".corrupt"
		s.repair("%s: not a readable segment (%v); moved aside as %s, its messages are lost", path, err, aside)
		return s.fs.Rename(path, aside)
	}
	sg := &segInfo{seq: seq, path: path, file: f, targets: map[uint32]int32{}}
	s.led.segs[seq] = sg
	valid := s.walkFrames(sg, data)
	sg.size = valid
	if valid < int64(len(data)) {
		if err := f.Truncate(valid); err != nil {
			return fmt.Errorf("spool: cutting the tail of %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("spool: fsync %s: %w", path, err)
		}
		if !allZero(data[valid:]) { // zeros are preallocated space, the usual end of a segment
			s.repair("%s: cut a torn or corrupt tail at offset %d (%d bytes)", path, valid, int64(len(data))-valid)
		}
	}
	return nil
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// walkFrames replays the frames of one segment and returns the end of its last intact frame.
func (s *Store) walkFrames(sg *segInfo, data []byte) int64 {
	off := headerSize
	var buf []byte
	var es []entry
	for off < len(data) {
		n, ok := s.intactFrame(data, off)
		if !ok && allZero(data[off:]) {
			return int64(off) // preallocated space: the end
		}
		if !ok {
			next := s.nextFrame(data, off+1)
			if next < 0 {
				return int64(off)
			}
			s.repair("%s: skipped corrupt data at offsets %d-%d", sg.path, off, next)
			off = next
			continue
		}
		payload := data[off+frameHeaderSize : off+frameHeaderSize+n]
		var err error
		buf, err = s.dec.DecodeAll(payload, buf[:0])
		if err == nil {
			es, err = decodeEntries(buf, es[:0])
		}
		if err != nil {
			s.repair("%s: skipped a frame at offset %d that does not decode: %v", sg.path, off, err)
		} else {
			s.replayEntries(sg.seq, uint32(off), es)
			s.report.Frames++
		}
		off += frameHeaderSize + n
	}
	return int64(off)
}

func (s *Store) replayEntries(seq, off uint32, es []entry) {
	for i := range es {
		e := &es[i]
		switch e.kind {
		case kindPut:
			s.led.put(e.id, loc{seg: seq, off: off, idx: uint16(i)}, e.queue, e.attempts, e.due)
		case kindUpdate:
			s.led.update(e.id, seq, e.attempts, e.due)
		case kindDelete:
			s.led.remove(e.id, seq)
		}
	}
}

// intactFrame reports whether a whole frame with a good checksum starts at off.
func (s *Store) intactFrame(data []byte, off int) (int, bool) {
	if len(data)-off < frameHeaderSize {
		return 0, false
	}
	n, sum, ok := frameAt(data[off:])
	if !ok || n > len(data)-off-frameHeaderSize {
		return 0, false
	}
	return n, crc32.Checksum(data[off+frameHeaderSize:off+frameHeaderSize+n], crcTable) == sum
}

// nextFrame finds the next offset at or after from where an intact frame starts, or -1.
func (s *Store) nextFrame(data []byte, from int) int {
	magic := appendFrameHeader(nil, nil)[:4]
	for from < len(data) {
		i := bytes.Index(data[from:], magic)
		if i < 0 {
			return -1
		}
		if _, ok := s.intactFrame(data, from+i); ok {
			return from + i
		}
		from += i + 1
	}
	return -1
}

func readAll(f File) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	data := make([]byte, st.Size())
	n, err := f.ReadAt(data, 0)
	if n == len(data) {
		return data, nil
	}
	return data[:n], err
}
