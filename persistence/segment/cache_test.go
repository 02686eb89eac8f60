package segment

import (
	"bytes"
	"testing"
	"time"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/persistence/spooltest"
)

// TestRetryCacheBounds: the retry cache keeps copies within its byte bound, oldest out first, and
// its bookkeeping does not grow with messages kept and dropped again and again.
func TestRetryCacheBounds(t *testing.T) {
	var c retryCache
	c.init(10 * (64 + 100))
	frame := bytes.Repeat([]byte{'x'}, 100)
	for i := range 15 {
		e := entry{kind: kindPut, id: spooltest.ID(i), body: frame}
		c.keep(&e)
	}
	frame[0] = 'y' // the cache holds its own copy, not the frame's bytes
	for i := range 15 {
		e, ok := c.get(spooltest.ID(i))
		if ok != (i >= 5) {
			t.Fatalf("message %d kept: %v", i, ok)
		}
		if ok && e.body[0] != 'x' {
			t.Fatal("the kept entry shares the frame's bytes")
		}
	}
	if c.bytes > c.maxBytes {
		t.Fatalf("%d bytes kept, bound %d", c.bytes, c.maxBytes)
	}
	for i := range 10000 {
		e := entry{kind: kindPut, id: spooltest.ID(100 + i), body: frame[:10]}
		c.keep(&e)
		c.drop(e.id)
	}
	if len(c.order) > 2*len(c.m)+64+1 || len(c.m) != 9 { // the first one kept made room by evicting one
		t.Fatalf("%d places for %d kept messages after 10,000 kept and dropped", len(c.order), len(c.m))
	}
}

// TestRetriedMessageStaysCached: a message whose delivery failed (Update) is loaded from memory for
// its retry after its frame has left the frame cache; another message of that time is not; a
// delivered (deleted) one is forgotten.
func TestRetriedMessageStaysCached(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	s.cache.init(4, 16<<20)
	retried, other := entryN(1), entryN(2)
	putSync(t, s, retried)
	putSync(t, s, other)
	s.Update(retried.ID, 1, t0.Add(time.Second))
	for i := 3; i < 3+4; i++ {
		putSync(t, s, entryN(i)) // a frame each: the cache holds 4
	}
	flush(t, s)
	load := func(n int) (fromMemory bool, attempts uint16) {
		t.Helper()
		before := s.Stats().CacheHits
		got, err := s.Load(entryN(n).ID)
		if err != nil || !bytes.Equal(got.Body, entryN(n).Body) || !bytes.Equal(got.Meta, entryN(n).Meta) || got.Queue != entryN(n).Queue {
			t.Fatalf("loading message %d: %+v, %v", n, got, err)
		}
		return s.Stats().CacheHits > before, got.Attempts
	}
	if mem, attempts := load(1); !mem || attempts != 1 {
		t.Errorf("the retried message: from memory %v with %d attempts, want true and 1", mem, attempts)
	}
	if mem, _ := load(2); mem {
		t.Error("the other message was served from memory: its frame should have left the cache")
	}
	s.Delete(retried.ID)
	if _, ok := s.retry.get(retried.ID); ok {
		t.Error("a deleted message is still kept for a retry")
	}
}

// TestWrittenFramesArePacked: the writer keeps the frame it wrote compressed, not the caller's
// entries (their bodies are not kept alive by the cache); a load unpacks it from memory, without
// reading the file, and the frame's other messages are then served decoded.
func TestWrittenFramesArePacked(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	a, b := entryN(1), entryN(2)
	want := bytes.Clone(a.Body)
	done := make(chan error, 1)
	s.PutGroup([]*persistence.Entry{a, b}, func(err error) { done <- err })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(s.cache.packed.m); n != 1 || len(s.cache.decoded.m) != 0 {
		t.Fatalf("%d packed and %d decoded frames after writing one, want 1 and 0", n, len(s.cache.decoded.m))
	}
	for k, f := range s.cache.packed.m {
		if f.es != nil || f.size > 64+len(a.Body)+len(b.Body) {
			t.Fatalf("frame %v kept as %d entries, %d bytes: want it compressed", k, len(f.es), f.size)
		}
	}
	a.Body[0] ^= 0xff // the caller's bytes are its own again: the spool kept none of them
	// Served from memory (a hit: neither the file nor its frame header is read).
	for _, e := range []struct {
		id   message.SpoolID
		body []byte
	}{{a.ID, want}, {b.ID, b.Body}} {
		before := s.Stats().CacheHits
		got, err := s.Load(e.id)
		if err != nil || !bytes.Equal(got.Body, e.body) || s.Stats().CacheHits != before+1 {
			t.Fatalf("loading %s: %v (from memory: %v)", e.id, err, s.Stats().CacheHits > before)
		}
	}
	if len(s.cache.decoded.m) != 1 {
		t.Fatalf("%d decoded frames after loading from the packed one, want 1", len(s.cache.decoded.m))
	}
}

// TestFrameCacheTiersBounds: each tier stays within its frames and bytes, counting what its frames
// take (compressed payloads; decoded bytes and entries), oldest out first; a frame larger than the
// bound is not kept.
func TestFrameCacheTiersBounds(t *testing.T) {
	var c frameCache
	c.init(8, 10_000)
	payload := bytes.Repeat([]byte{'p'}, 936) // 1,000 bytes with its overhead
	for i := range 30 {
		c.putPacked(frameKey{seg: 1, off: uint32(i)}, payload)
		raw := make([]byte, 500)
		c.putDecoded(frameKey{seg: 2, off: uint32(i)}, raw, make([]entry, 2))
	}
	payload[0] = 'q' // kept as a copy
	for name, tier := range map[string]*cacheTier{"packed": &c.packed, "decoded": &c.decoded} {
		if tier.bytes > tier.maxBytes || len(tier.m) > tier.max || len(tier.order) != len(tier.m) {
			t.Errorf("%s: %d frames in %d bytes (order %d), bounds %d frames, %d bytes",
				name, len(tier.m), tier.bytes, len(tier.order), tier.max, tier.maxBytes)
		}
	}
	if len(c.packed.m) != 8 || len(c.decoded.m) != 8 {
		t.Fatalf("%d packed and %d decoded frames kept, want 8 each (the frame bound)", len(c.packed.m), len(c.decoded.m))
	}
	if _, p, ok := c.get(frameKey{seg: 1, off: 29}); !ok || p[0] != 'p' {
		t.Fatal("the newest packed frame is not kept, or shares the writer's buffer")
	}
	if _, _, ok := c.get(frameKey{seg: 1, off: 21}); ok {
		t.Fatal("an old packed frame is still kept")
	}
	c.init(100, 10_000)
	for i := range 30 {
		c.putPacked(frameKey{seg: 1, off: uint32(i)}, payload)
	}
	if len(c.packed.m) != 10 || c.packed.bytes != 10_000 {
		t.Fatalf("%d packed frames in %d bytes, want 10 in 10,000 (the byte bound)", len(c.packed.m), c.packed.bytes)
	}
	c.putPacked(frameKey{seg: 3}, make([]byte, 10_000))
	if _, _, ok := c.get(frameKey{seg: 3}); ok || len(c.packed.m) != 10 {
		t.Fatal("a frame larger than the bound was kept")
	}
	c.dropSegment(1)
	if len(c.packed.m) != 0 || c.packed.bytes != 0 || len(c.packed.order) != 0 {
		t.Fatalf("after dropping the segment: %d frames, %d bytes", len(c.packed.m), c.packed.bytes)
	}
}
