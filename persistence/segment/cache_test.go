package segment

import (
	"bytes"
	"testing"
	"time"

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
