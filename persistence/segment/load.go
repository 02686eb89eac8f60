package segment

import (
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
)

// Has reports whether the store holds id: what is written but not durable yet counts, a delete on
// its way does too (as gone).
func (s *Store) Has(id message.SpoolID) bool {
	if v, ok := s.overlayState(id); ok {
		return v.live
	}
	_, ok := s.currentSlot(id)
	return ok
}

// Load reads a live message back, meta and body included.
func (s *Store) Load(id message.SpoolID) (*persistence.Entry, error) {
	s.stats.loads.Add(1)
	for attempt := 0; ; attempt++ {
		s.idxMu.RLock()
		sl, ok := s.led.idx.get(id)
		var f File
		if sg := s.led.segs[sl.put.seg]; ok && sg != nil {
			f = sg.file
		}
		s.idxMu.RUnlock()
		if !ok {
			return nil, persistence.ErrNotFound
		}
		if e, ok := s.retry.get(id); ok {
			s.stats.cacheHits.Add(1)
			return &persistence.Entry{ID: id, Queue: string(e.queue), Attempts: sl.attempts, Due: dueTime(sl.due.nanos()),
				Meta: e.meta, Body: e.body}, nil
		}
		if f == nil {
			return nil, fmt.Errorf("spool: segment %d of message %s is not open", sl.put.seg, id)
		}
		e, err := s.readEntry(f, sl.put)
		if err != nil && attempt == 0 {
			continue // compaction may have moved it between the lookup and the read
		}
		if err != nil {
			return nil, fmt.Errorf("spool: reading message %s: %w", id, err)
		}
		if e.id != id || e.kind != kindPut {
			return nil, fmt.Errorf("spool: message %s: the index points at another entry", id)
		}
		return &persistence.Entry{ID: id, Queue: string(e.queue), Attempts: sl.attempts, Due: dueTime(sl.due.nanos()),
			Meta: e.meta, Body: e.body}, nil
	}
}

func (s *Store) readEntry(f File, at loc) (*entry, error) {
	entries, err := s.readFrame(f, at)
	if err != nil {
		return nil, err
	}
	if int(at.idx) >= len(entries) {
		return nil, errors.New("entry index out of range")
	}
	e := entries[at.idx]
	return &e, nil
}

// readFrame returns the decoded entries of the frame at `at`, from the cache when it has them.
func (s *Store) readFrame(f File, at loc) ([]entry, error) {
	key := frameKey{seg: at.seg, off: at.off}
	if es, ok := s.cachedFrame(key); ok {
		s.stats.cacheHits.Add(1)
		return es, nil
	}
	var h [frameHeaderSize]byte
	if _, err := f.ReadAt(h[:], int64(at.off)); err != nil {
		return nil, err
	}
	n, sum, ok := frameAt(h[:])
	if !ok {
		return nil, errors.New("no frame at the indexed offset")
	}
	payload := make([]byte, n)
	if _, err := f.ReadAt(payload, int64(at.off)+frameHeaderSize); err != nil {
		return nil, err
	}
	if crc32.Checksum(payload, crcTable) != sum {
		return nil, errors.New("frame checksum mismatch")
	}
	raw, err := s.dec.DecodeAll(payload, nil)
	if err != nil {
		return nil, fmt.Errorf("decompressing frame: %w", err)
	}
	es, err := decodeEntries(raw, nil)
	if err != nil {
		return nil, err
	}
	s.cache.putDecoded(key, raw, es)
	return es, nil
}
