package segment

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/persistence/spooltest"
)

func TestConformance(t *testing.T) {
	spooltest.Run(t, func(t *testing.T, reopen bool) persistence.Spool {
		dir := t.TempDir()
		if reopen {
			dir = lastDir
		}
		lastDir = dir
		return open(t, dir)
	}, spooltest.Features{Durable: true})
}

var lastDir string

func TestSegmentLifecycle(t *testing.T) {
	small := func(o *Options) { o.MaxSegmentSize = 2048 }
	t.Run("a segment whose messages are all done is deleted", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir, small)
		defer s.Close()
		for i := 0; i < 60; i++ {
			putSync(t, s, entryN(i))
		}
		if n := len(segFiles(t, dir)); n < 4 {
			t.Fatalf("only %d segments after 60 puts of ~600 bytes into 2 KiB segments", n)
		}
		for i := 0; i < 60; i++ {
			s.Delete(entryN(i).ID)
		}
		flush(t, s)
		if n := len(segFiles(t, dir)); n > 2 {
			t.Fatalf("%d segment files remain once every message is done: %v", n, segFiles(t, dir))
		}
		if st := s.Stats(); st.SegmentsDeleted == 0 || st.Live != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("a segment that deleted messages of an older one stays until that one is gone", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir, small)
		for i := 0; i < 10; i++ {
			putSync(t, s, entryN(i))
		}
		for i := 1; i < 10; i++ { // keep message 0 alive in the first segment
			s.Delete(entryN(i).ID)
		}
		for i := 100; i < 110; i++ { // roll past the deletes
			putSync(t, s, entryN(i))
			s.Delete(entryN(i).ID)
		}
		flush(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = open(t, dir, small)
		live := liveIDs(t, s)
		if len(live) != 1 {
			t.Fatalf("after reopening, %d live messages, want only message 0 (deleted ones came back?)", len(live))
		}
		if _, ok := live[entryN(0).ID]; !ok {
			t.Fatal("message 0 was lost")
		}
		s.Delete(entryN(0).ID)
		flush(t, s)
		if n := len(segFiles(t, dir)); n > 2 {
			t.Fatalf("%d segments remain once everything is done", n)
		}
		s.Close()
	})
}

func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, func(o *Options) { o.MaxSegmentSize = 4096; o.CompactBelow = 0.5 })
	keep := map[int]bool{}
	for i := 0; i < 100; i++ {
		putSync(t, s, entryN(i))
		if i%10 == 3 {
			keep[i] = true
			s.Update(entryN(i).ID, uint16(i), t0.Add(time.Duration(i)*time.Minute))
		} else {
			s.Delete(entryN(i).ID)
		}
	}
	flush(t, s)
	before := len(segFiles(t, dir))
	moved := s.CompactOnce()
	flush(t, s)
	after := len(segFiles(t, dir))
	if moved == 0 || after >= before {
		t.Fatalf("compaction moved %d messages; segments %d -> %d", moved, before, after)
	}
	check := func(s *Store) {
		t.Helper()
		for i := range keep {
			e, err := s.Load(entryN(i).ID)
			if err != nil {
				t.Fatalf("message %d after compaction: %v", i, err)
			}
			if string(e.Body) != string(entryN(i).Body) || e.Attempts != uint16(i) || !e.Due.Equal(t0.Add(time.Duration(i)*time.Minute)) {
				t.Fatalf("message %d after compaction: attempts %d due %v", i, e.Attempts, e.Due)
			}
		}
	}
	check(s)
	s.Close()
	s = open(t, dir)
	defer s.Close()
	live := liveIDs(t, s)
	if len(live) != len(keep) {
		t.Fatalf("after reopening %d live messages, want %d", len(live), len(keep))
	}
	for i := range keep {
		if e := live[entryN(i).ID]; e.Attempts != uint16(i) || e.Queue != "webhook" {
			t.Fatalf("recovered message %d: %+v", i, e)
		}
	}
	check(s)
}

func TestRecoveryRepairs(t *testing.T) {
	t.Run("a torn tail is cut off and reported with its file and offset", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir)
		for i := 0; i < 5; i++ {
			putSync(t, s, entryN(i))
		}
		s.Close()
		files := segFiles(t, dir)
		last := files[len(files)-1]
		f, _ := os.OpenFile(last, os.O_APPEND|os.O_WRONLY, 0)
		f.Write(append(appendFrameHeader(nil, []byte("abcdefgh")), "abc"...)) // a frame cut short
		f.Close()
		s = open(t, dir)
		defer s.Close()
		if len(liveIDs(t, s)) != 5 {
			t.Fatal("messages before the torn tail were lost")
		}
		rep := strings.Join(s.Report().Repairs, "\n")
		if !strings.Contains(rep, last) || !strings.Contains(rep, "cut a torn or corrupt tail at offset") {
			t.Fatalf("report %q", rep)
		}
	})
	t.Run("a corrupt frame in the middle is skipped and reported; the frames around it survive", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir)
		for i := 0; i < 3; i++ {
			putSync(t, s, entryN(i))
		}
		s.Close()
		file := segFiles(t, dir)[0]
		data, _ := os.ReadFile(file)
		second := headerSize + frameHeaderSize + int(le32(data[headerSize+4:]))
		data[second+frameHeaderSize+3] ^= 0x40
		os.WriteFile(file, data, 0o644)
		s = open(t, dir)
		defer s.Close()
		live := liveIDs(t, s)
		_, has0 := live[entryN(0).ID]
		_, has1 := live[entryN(1).ID]
		_, has2 := live[entryN(2).ID]
		if !has0 || has1 || !has2 {
			t.Fatalf("recovered 0:%v 1:%v 2:%v, want the corrupt frame's message only to be missing", has0, has1, has2)
		}
		rep := strings.Join(s.Report().Repairs, "\n")
		if !strings.Contains(rep, "skipped corrupt data at offsets") || !strings.Contains(rep, file) {
			t.Fatalf("report %q", rep)
		}
	})
	t.Run("a segment with a damaged header is set aside, the others still load", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir, func(o *Options) { o.MaxSegmentSize = 1024 })
		for i := 0; i < 30; i++ {
			putSync(t, s, entryN(i))
		}
		s.Close()
		files := segFiles(t, dir)
		data, _ := os.ReadFile(files[0])
		copy(data, "XXXX")
		os.WriteFile(files[0], data, 0o644)
		s = open(t, dir)
		defer s.Close()
		if n := len(liveIDs(t, s)); n == 0 || n == 30 {
			t.Fatalf("%d messages recovered", n)
		}
		if _, err := os.Stat(files[0] + ".corrupt"); err != nil {
			t.Fatalf("the damaged segment was not set aside: %v", err)
		}
	})
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func TestDiskFaults(t *testing.T) {
	t.Run("a failed write refuses that frame's puts, keeps the store and what it holds", func(t *testing.T) {
		fs := &faultFS{}
		dir := t.TempDir()
		s := open(t, dir, func(o *Options) { o.FS = fs })
		putSync(t, s, entryN(1))
		fs.failWrites.Store(true)
		done := make(chan error, 1)
		s.Put(entryN(2), func(err error) { done <- err })
		if err := <-done; err == nil || !strings.Contains(err.Error(), "no space left") {
			t.Fatalf("put on a full disk: %v", err)
		}
		s.Delete(entryN(1).ID) // will fail to write and be retried
		fs.failWrites.Store(false)
		putSync(t, s, entryN(3))
		s.cache.dropSegment(s.active.seq) // read it back from the file, where the index says it is
		if got, err := s.Load(entryN(3).ID); err != nil || !bytes.Equal(got.Body, entryN(3).Body) {
			t.Fatalf("loading message 3 written after a failed write: %v", err)
		}
		s.Close()
		s = open(t, dir)
		defer s.Close()
		live := liveIDs(t, s)
		if len(live) != 1 {
			t.Fatalf("recovered %d messages, want only message 3 (1 deleted, 2 refused)", len(live))
		}
		if _, ok := live[entryN(3).ID]; !ok {
			t.Fatal("message 3 missing")
		}
	})
	t.Run("a failed fsync stops the store for good", func(t *testing.T) {
		fs := &faultFS{}
		s := open(t, t.TempDir(), func(o *Options) { o.FS = fs })
		defer s.Close()
		fs.failSyncs.Store(true)
		done := make(chan error, 1)
		s.Put(entryN(1), func(err error) { done <- err })
		if err := <-done; err == nil {
			t.Fatal("put acknowledged although fsync failed")
		}
		fs.failSyncs.Store(false)
		s.Put(entryN(2), func(err error) { done <- err })
		if err := <-done; err == nil || !strings.Contains(err.Error(), "fsync") {
			t.Fatalf("put after a failed fsync: %v", err)
		}
	})
	t.Run("below min_free_space new messages are refused, and accepted again once there is room", func(t *testing.T) {
		fs := &faultFS{}
		s := open(t, t.TempDir(), func(o *Options) {
			o.FS = fs
			o.MinFreeSpace = Threshold{Percent: 10}
		})
		defer s.Close()
		// Small commits do not look at the free space each time.
		for i := range 20 {
			putSync(t, s, entryN(i))
		}
		if n := fs.spaceCalls.Load(); n != 1 {
			t.Fatalf("%d free-space checks for 20 small commits, want the one at Open", n)
		}
		fs.setSpace(&Space{FreeBytes: 5, TotalBytes: 100, FreeInodes: 50, TotalInodes: 100})
		// The syncer checks once spaceCheckBytes have been committed, after acknowledging them, so
		// the flag may also go up between the loop's look and its next put, which is then refused.
		done := make(chan error, 1)
		for i := 0; !s.LowSpace(); i++ {
			if i > 2*spaceCheckBytes/(len(bigEntry(0).Body)/2) {
				t.Fatal("committing past spaceCheckBytes below min_free_space did not raise the low-space flag")
			}
			if i > 0 {
				time.Sleep(time.Millisecond)
			}
			s.Put(bigEntry(100+i), func(err error) { done <- err })
			if err := <-done; errors.Is(err, ErrLowSpace) {
				break
			} else if err != nil {
				t.Fatalf("put: %v", err)
			}
		}
		s.Put(entryN(50), func(err error) { done <- err })
		if err := <-done; !errors.Is(err, ErrLowSpace) {
			t.Fatalf("put below min_free_space: %v", err)
		}
		s.Delete(entryN(1).ID) // deletions still go through
		flush(t, s)
		// Room again, with nothing written meanwhile: the next put looks and is taken.
		fs.setSpace(&Space{FreeBytes: 50, TotalBytes: 100, FreeInodes: 50, TotalInodes: 100})
		putSync(t, s, entryN(51))
		if s.LowSpace() {
			t.Fatal("still low on space")
		}
	})
}

// bigEntry is an entry whose body (64 KiB of random bytes) does not compress.
func bigEntry(n int) *persistence.Entry {
	e := entryN(n)
	e.Body = make([]byte, 64<<10)
	rand.NewChaCha8([32]byte{byte(n), byte(n >> 8)}).Read(e.Body)
	return e
}

func TestThreshold(t *testing.T) {
	cases := []struct {
		in          string
		free, total uint64
		below       bool
	}{
		{"10%", 9, 100, true}, {"10%", 10, 100, false}, {"5000", 4999, 1e9, true}, {"5000", 5000, 1e9, false},
		{"0%", 0, 100, false}, {"0", 0, 100, false},
	}
	for _, c := range cases {
		th, err := ParseThreshold(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := th.Below(c.free, c.total); got != c.below {
			t.Errorf("%s with %d of %d free: below=%v", c.in, c.free, c.total, got)
		}
	}
	for _, bad := range []string{"", "ten", "120%", "-1", "5 GB"} {
		if _, err := ParseThreshold(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestGroupCommit(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				done := make(chan error, 1)
				s.Put(entryN(w*100+i), func(err error) { done <- err })
				if err := <-done; err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	st := s.Stats()
	if st.Live != 1280 || st.Frames >= 1280 {
		t.Fatalf("1280 puts from 64 writers took %d frames (fsyncs); live %d", st.Frames, st.Live)
	}
	t.Logf("1280 puts, %d fsyncs", st.Frames)
}

// TestDeletesWaitForCompany: a commit of deletes alone waits (DeleteSyncDelay) for other work to
// share its fsync; a Flush or Close does not let it wait; with a short delay it is synced alone.
func TestDeletesWaitForCompany(t *testing.T) {
	long := func(o *Options) { o.DeleteSyncDelay = time.Hour }
	t.Run("the next put's fsync carries it", func(t *testing.T) {
		s := open(t, t.TempDir(), long)
		defer s.Close()
		putSync(t, s, entryN(1))
		st := s.Stats()
		s.Delete(entryN(1).ID)
		for deadline := time.Now().Add(10 * time.Second); s.Stats().Frames == st.Frames; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) { // the delete is to be a frame of its own, written
				t.Fatal("the delete was never written")
			}
		}
		putSync(t, s, entryN(2))
		syncs := st.Syncs
		if got := s.Stats().Syncs - syncs; got != 1 {
			t.Fatalf("%d fsyncs for a delete and the put after it, want 1", got)
		}
		if _, err := s.Load(entryN(1).ID); err == nil {
			t.Fatal("the deleted message is still there")
		}
	})
	t.Run("a Flush does not wait", func(t *testing.T) {
		s := open(t, t.TempDir(), long)
		defer s.Close()
		putSync(t, s, entryN(1))
		s.Delete(entryN(1).ID)
		flush(t, s)
		if n := s.Len(); n != 0 {
			t.Fatalf("%d messages after deleting the only one and flushing", n)
		}
	})
	t.Run("Close syncs it", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir, long)
		putSync(t, s, entryN(1))
		putSync(t, s, entryN(2))
		s.Delete(entryN(1).ID)
		s.Close()
		s = open(t, dir)
		defer s.Close()
		if _, err := s.Load(entryN(1).ID); err == nil || s.Len() != 1 {
			t.Fatalf("after a restart: %d messages, the deleted one loads: %v", s.Len(), err == nil)
		}
	})
	t.Run("alone, it is synced once the delay is over", func(t *testing.T) {
		s := open(t, t.TempDir(), func(o *Options) { o.DeleteSyncDelay = 5 * time.Millisecond })
		defer s.Close()
		putSync(t, s, entryN(1))
		s.Delete(entryN(1).ID)
		for deadline := time.Now().Add(10 * time.Second); s.Len() != 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("a lone delete was never synced")
			}
		}
	})
}
