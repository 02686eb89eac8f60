package segment

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
)

// Threshold is a minimum amount of free space: a percentage of the total, or an absolute number.
// The zero value stands for KumoMTA's default, 10%.
type Threshold struct {
	Percent  float64 // used when > 0
	Absolute uint64  // used when Percent is 0
	Disabled bool
}

// ParseThreshold reads KumoMTA's forms: "10%" or a number of bytes (inodes), such as "2000000000".
func ParseThreshold(s string) (Threshold, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v < 0 || v > 100 {
			return Threshold{}, fmt.Errorf("invalid percentage %q", s)
		}
		if v == 0 {
			return Threshold{Disabled: true}, nil
		}
		return Threshold{Percent: v}, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return Threshold{}, fmt.Errorf("invalid free space %q: want a percentage such as \"10%%\" or a number", s)
	}
	if v == 0 {
		return Threshold{Disabled: true}, nil
	}
	return Threshold{Absolute: v}, nil
}

func (t Threshold) orDefault() Threshold {
	if t == (Threshold{}) {
		return Threshold{Percent: 10}
	}
	return t
}

// Below reports whether free of total is under the threshold.
func (t Threshold) Below(free, total uint64) bool {
	switch {
	case t.Disabled || total == 0:
		return false
	case t.Percent > 0:
		return float64(free) < float64(total)*t.Percent/100
	default:
		return free < t.Absolute
	}
}

// spaceCheckBytes is how much the syncer commits between two checks of the free space: the disk
// fills at most this much past the threshold before new messages are refused, and a check (a
// statfs call) costs a busy store nothing measurable, where one per commit cost ~4 µs a record at
// low rates.
const spaceCheckBytes = 1 << 20

// committed counts bytes the syncer made durable, and checks the free space once enough were.
func (s *Store) committed(n int64) {
	if s.unsized += n; s.unsized >= spaceCheckBytes {
		s.unsized = 0
		s.checkSpace()
	}
}

// checkSpace refreshes the low-space flag that Put consults. A check already under way answers
// for this one.
func (s *Store) checkSpace() {
	if !s.spaceMu.TryLock() {
		return
	}
	defer s.spaceMu.Unlock()
	sp, err := s.fs.Space(s.opts.Dir)
	if err != nil {
		s.log.Warn("cannot read free space", "dir", s.opts.Dir, "error", err)
		return
	}
	low := s.opts.MinFreeSpace.Below(sp.FreeBytes, sp.TotalBytes) || s.opts.MinFreeInodes.Below(sp.FreeInodes, sp.TotalInodes)
	if was := s.lowSpace.Swap(low); was != low {
		if low {
			s.log.Error("spool disk below its minimum free space: refusing new messages", "dir", s.opts.Dir,
				"free_bytes", sp.FreeBytes, "total_bytes", sp.TotalBytes, "free_inodes", sp.FreeInodes)
		} else {
			s.log.Info("spool disk has room again", "dir", s.opts.Dir, "free_bytes", sp.FreeBytes)
		}
	}
}

// counters are the store's running figures.
type counters struct {
	frames, entries, bytes atomic.Uint64
	syncs                  atomic.Uint64
	refused, writeErrors   atomic.Uint64
	segmentsDeleted        atomic.Uint64
	compacted, moved       atomic.Uint64
	loads, cacheHits       atomic.Uint64
	callerFrames           atomic.Uint64
}

// Stats is a snapshot of the store's figures.
type Stats struct {
	Frames, Entries, Bytes uint64 // frames, entries and bytes written since Open
	Syncs                  uint64 // fsync rounds (one may cover several frames)
	Refused                uint64 // puts refused for lack of space
	WriteErrors            uint64
	Segments               int    // segment files now
	SegmentsDeleted        uint64 // finished segments removed
	Compacted, Moved       uint64 // segments compacted, messages moved by compaction
	Live                   int    // live messages
	DiskBytes              int64  // bytes in segment files now
	Loads, CacheHits       uint64
	LowSpace               bool
	CallerFrames           uint64 // frames PutGroup wrote on its caller's goroutine (writeNow)
}

// Stats returns the store's figures.
func (s *Store) Stats() Stats {
	s.idxMu.RLock()
	st := Stats{Segments: len(s.led.segs), Live: s.led.idx.len()}
	for _, sg := range s.led.segs {
		st.DiskBytes += sg.size
	}
	s.idxMu.RUnlock()
	c := &s.stats
	st.Frames, st.Entries, st.Bytes, st.Syncs = c.frames.Load(), c.entries.Load(), c.bytes.Load(), c.syncs.Load()
	st.Refused, st.WriteErrors, st.SegmentsDeleted = c.refused.Load(), c.writeErrors.Load(), c.segmentsDeleted.Load()
	st.Compacted, st.Moved, st.Loads, st.CacheHits = c.compacted.Load(), c.moved.Load(), c.loads.Load(), c.cacheHits.Load()
	st.LowSpace, st.CallerFrames = s.lowSpace.Load(), c.callerFrames.Load()
	return st
}
