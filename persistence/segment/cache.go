package segment

import (
	"sync"
	"unsafe"
)

type frameKey struct{ seg, off uint32 }

// frameCache keeps recent frames in memory, so that most loads touch neither the disk nor, often,
// the decompressor: messages are usually loaded soon after they were written (a retry after a
// failed first attempt, which keepForRetry copies out while the frame is here), and consecutive
// loads read messages written together. It has two tiers, each bounded by frames and by bytes:
//
//   - packed: the frames the writer wrote, as written: compressed, ~150 bytes a message under load
//     (~350 for a frame of one) instead of its whole body and meta. A lookup unpacks the frame
//     (one decompression for the frame, not a read of the file) and keeps it in the decoded tier
//     for the lookups of its other messages.
//   - decoded: frames as entries, ready to serve: those a load read from the disk, and packed ones
//     a lookup unpacked.
//
// The writer used to keep the frame's entries themselves, which shared the bodies and metas the
// hooks had built: 16 MiB of them alive at any time under load (the largest part of the heap behind
// a dead webhook, where nothing is loaded from them), twice that in heap size at the garbage
// collector's goal. The packed tier covers about twice the messages in a quarter of the bytes; what
// it costs is the unpacking, about 1 µs a load when every load has to (BenchmarkLoad).
type frameCache struct {
	mu      sync.Mutex
	decoded cacheTier
	packed  cacheTier
}

// The bounds of each tier of the store's frame cache.
const (
	cacheFrames = 4096
	cacheBytes  = 4 << 20
)

// cacheTier is one tier of the frame cache, evicting the oldest first.
type cacheTier struct {
	max      int // frames
	maxBytes int
	bytes    int
	order    []frameKey
	m        map[frameKey]cachedFrame
}

// cachedFrame is a frame in a tier: its entries (decoded) or its compressed payload (packed).
type cachedFrame struct {
	es     []entry
	packed []byte
	size   int
}

// init bounds each tier to frames frames and bytes bytes (its memory: compressed payloads, or the
// decoded bytes and entries).
func (c *frameCache) init(frames, bytes int) {
	c.decoded = cacheTier{max: frames, maxBytes: bytes, m: map[frameKey]cachedFrame{}}
	c.packed = cacheTier{max: frames, maxBytes: bytes, m: map[frameKey]cachedFrame{}}
}

// get returns the frame at k: its entries when decoded, else its compressed payload when packed.
func (c *frameCache) get(k frameKey) (es []entry, packed []byte, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.decoded.m[k]; ok {
		return f.es, nil, true
	}
	f, ok := c.packed.m[k]
	return nil, f.packed, ok
}

// entrySize is what an entry of a decoded frame takes besides the bytes it points into.
const entrySize = int(unsafe.Sizeof(entry{}))

// putDecoded keeps the entries of a frame, decoded from raw (which they point into).
func (c *frameCache) putDecoded(k frameKey, raw []byte, es []entry) {
	size := 64 + cap(raw) + cap(es)*entrySize
	c.mu.Lock()
	defer c.mu.Unlock()
	c.decoded.put(k, cachedFrame{es: es, size: size})
}

// putPacked keeps a copy of a frame's compressed payload.
func (c *frameCache) putPacked(k frameKey, payload []byte) {
	size := 64 + len(payload)
	c.mu.Lock()
	defer c.mu.Unlock()
	if size > c.packed.maxBytes {
		return
	}
	if _, ok := c.packed.m[k]; ok {
		return
	}
	c.packed.put(k, cachedFrame{packed: append([]byte(nil), payload...), size: size})
}

func (t *cacheTier) put(k frameKey, f cachedFrame) {
	if _, ok := t.m[k]; ok || f.size > t.maxBytes {
		return
	}
	for len(t.order) > 0 && (len(t.order) >= t.max || t.bytes+f.size > t.maxBytes) {
		t.bytes -= t.m[t.order[0]].size
		delete(t.m, t.order[0])
		t.order = t.order[1:]
	}
	t.order = append(t.order, k)
	t.m[k] = f
	t.bytes += f.size
}

func (c *frameCache) dropSegment(seq uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.decoded.dropSegment(seq)
	c.packed.dropSegment(seq)
}

func (t *cacheTier) dropSegment(seq uint32) {
	kept := t.order[:0]
	for _, k := range t.order {
		if k.seg == seq {
			t.bytes -= t.m[k].size
			delete(t.m, k)
			continue
		}
		kept = append(kept, k)
	}
	t.order = kept
}

// cachedFrame returns the entries of the frame at k when the cache holds it, unpacking a packed
// frame (and keeping it decoded). A packed frame that does not decode (which would be a bug: the
// writer compressed it) is treated as absent: the caller reads the disk.
func (s *Store) cachedFrame(k frameKey) ([]entry, bool) {
	es, packed, ok := s.cache.get(k)
	if !ok || packed == nil {
		return es, ok
	}
	raw, err := s.dec.DecodeAll(packed, nil)
	if err != nil {
		return nil, false
	}
	if es, err = decodeEntries(raw, nil); err != nil {
		return nil, false
	}
	s.cache.putDecoded(k, raw, es)
	return es, true
}
