package segment

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/persistence/spooltest"
)

func groupN(from, to int) []*persistence.Entry {
	var g []*persistence.Entry
	for n := from; n < to; n++ {
		g = append(g, entryN(n))
	}
	return g
}

func putGroupSync(t testing.TB, s *Store, g []*persistence.Entry) {
	t.Helper()
	if err := spooltest.PutGroup(t, s, g); err != nil {
		t.Fatalf("group: %v", err)
	}
}

type frameSpan struct {
	start, end int64
	es         []entry
}

// frames decodes every intact frame of one segment file.
func frames(t *testing.T, path string) []frameSpan {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderDictRaw(dictV1ID, dictV1))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var out []frameSpan
	for off := headerSize; ; {
		n, _, ok := frameAt(data[off:])
		if !ok || off+frameHeaderSize+n > len(data) {
			return out
		}
		raw, err := dec.DecodeAll(data[off+frameHeaderSize:off+frameHeaderSize+n], nil)
		if err != nil {
			t.Fatal(err)
		}
		es, err := decodeEntries(raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, frameSpan{start: int64(off), end: int64(off + frameHeaderSize + n), es: es})
		off += frameHeaderSize + n
	}
}

// allFrames decodes the frames of every segment of dir, in order.
func allFrames(t *testing.T, dir string) []frameSpan {
	var out []frameSpan
	for _, p := range segFiles(t, dir) {
		out = append(out, frames(t, p)...)
	}
	return out
}

// holdsGroup reports whether a frame holds g, whole, in order, as one run.
func holdsGroup(f frameSpan, g []*persistence.Entry) bool {
	for i := range f.es {
		if f.es[i].id != g[0].ID {
			continue
		}
		if len(f.es)-i < len(g) {
			return false
		}
		for j, e := range g {
			if f.es[i+j].kind != kindPut || f.es[i+j].id != e.ID || !bytes.Equal(f.es[i+j].body, e.Body) {
				return false
			}
		}
		return true
	}
	return false
}

func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	des, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		data, err := os.ReadFile(filepath.Join(from, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, de.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

func TestGroupTornTail(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	putSync(t, s, entryN(1))
	g := groupN(10, 20)
	putGroupSync(t, s, g)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files := segFiles(t, dir)
	fs := frames(t, files[len(files)-1])
	if len(fs) != 2 || !holdsGroup(fs[1], g) || len(fs[1].es) != len(g) {
		t.Fatalf("want a frame of the put, then one frame of the whole group; got %d frames", len(fs))
	}
	gf := fs[1]
	for _, cut := range []int64{gf.start + 1, gf.start + frameHeaderSize, (gf.start + gf.end) / 2, gf.end - 1, gf.end} {
		d := copyDir(t, dir)
		last := filepath.Join(d, filepath.Base(files[len(files)-1]))
		if err := os.Truncate(last, cut); err != nil {
			t.Fatal(err)
		}
		s := open(t, d)
		live := liveIDs(t, s)
		if _, ok := live[entryN(1).ID]; !ok {
			t.Fatalf("cut at %d: the put before the group was lost", cut)
		}
		n := 0
		for _, e := range g {
			if _, ok := live[e.ID]; ok {
				n++
			}
		}
		whole := cut == gf.end
		if whole && n != len(g) || !whole && n != 0 {
			t.Fatalf("cut at %d of the group's frame %d-%d: %d of its %d messages recovered", cut, gf.start, gf.end, n, len(g))
		}
		if whole {
			spooltest.CheckGroup(t, s, g)
		}
		s.Close()
	}
}

func TestGroupFrames(t *testing.T) {
	t.Run("a group is never split, even past MaxFrameBytes, and puts around it are", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir, func(o *Options) { o.MaxFrameBytes = 2048 })
		var wg sync.WaitGroup
		var mu sync.Mutex
		var groups [][]*persistence.Entry
		for w := 0; w < 6; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 15; i++ {
					base := 1000*w + 20*i
					if w%2 == 0 {
						putSync(t, s, entryN(base))
						continue
					}
					g := groupN(base, base+1+i%10) // up to ten of ~600 bytes: past 2 KiB
					putGroupSync(t, s, g)
					mu.Lock()
					groups = append(groups, g)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		s.Close()
		fs := allFrames(t, dir)
		for _, g := range groups {
			found := 0
			for _, f := range fs {
				if holdsGroup(f, g) {
					found++
				}
			}
			if found != 1 {
				t.Fatalf("group of %d starting at %s: in %d frames whole", len(g), g[0].ID, found)
			}
		}
	})
	t.Run("a group of several MiB is one frame and survives a reopen", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir)
		var g []*persistence.Entry
		for i := 0; i < 60; i++ { // 60 x 64 KiB that does not compress: ~3.8 MiB, past the 1 MiB default
			g = append(g, bigEntry(i))
		}
		putGroupSync(t, s, g)
		s.Close()
		fs := allFrames(t, dir)
		if len(fs) != 1 || !holdsGroup(fs[0], g) {
			t.Fatalf("%d frames for one group of 3.8 MiB", len(fs))
		}
		s = open(t, dir)
		defer s.Close()
		spooltest.CheckGroup(t, s, g)
	})
	t.Run("a lone put whose frame would pass the format's limit is refused, the store goes on", func(t *testing.T) {
		if testing.Short() {
			t.Skip("compresses 65 MiB")
		}
		dir := t.TempDir()
		s := open(t, dir)
		e := entryN(1)
		e.Body = make([]byte, maxFrame+1<<20)
		rand.NewChaCha8([32]byte{1}).Read(e.Body)
		done := make(chan error, 1)
		s.Put(e, func(err error) { done <- err })
		if err := <-done; !errors.Is(err, ErrTooLarge) {
			t.Fatalf("a put of %d bytes: %v", len(e.Body), err)
		}
		e = nil
		putGroupSync(t, s, groupN(2, 5))
		s.Close()
		s = open(t, dir)
		defer s.Close()
		if n := s.Len(); n != 3 || len(s.Report().Repairs) != 0 {
			t.Fatalf("after a reopen: %d messages, repairs %q", n, s.Report().Repairs)
		}
	})
}

func TestGroupCallerWrites(t *testing.T) {
	t.Run("an idle store writes a group on the caller's goroutine", func(t *testing.T) {
		s := open(t, t.TempDir())
		defer s.Close()
		// The writer goroutine may hold its token for a moment as it looks for work, and then the
		// group goes its way: so several groups, each on a store idle again, and at least one is the
		// caller's. Every group and put is still one frame.
		const rounds = 20
		for i := 0; i < rounds; i++ {
			putGroupSync(t, s, groupN(10*i, 10*i+3))
			putSync(t, s, entryN(10*i+5))
		}
		if st := s.Stats(); st.CallerFrames == 0 || st.CallerFrames > rounds || st.Frames != 2*rounds {
			t.Fatalf("%d groups and puts on an idle store: %d frames, %d by the caller; want %d, 1 to %d",
				2*rounds, st.Frames, st.CallerFrames, 2*rounds, rounds)
		}
	})
	t.Run("order with puts, updates and deletes is kept, whichever goroutine writes", func(t *testing.T) {
		s := open(t, t.TempDir())
		defer s.Close()
		for i := 0; i < 100; i++ {
			a, b := entryN(3*i), entryN(3*i+1)
			s.Put(a, nil) // queued for the writer: the group after it must not pass it
			a2 := *a
			a2.Body = []byte("second version")
			putGroupSync(t, s, []*persistence.Entry{&a2, b})
			if got, err := s.Load(a.ID); err != nil || string(got.Body) != "second version" {
				t.Fatalf("round %d: the group's version of a message put just before: %v", i, err)
			}
			c := entryN(3*i + 2)
			done := make(chan error, 1)
			s.PutGroup([]*persistence.Entry{c}, func(err error) { done <- err })
			s.Update(c.ID, 7, t0) // after the group, though it may not be durable yet
			s.Delete(b.ID)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			flush(t, s)
			if got, err := s.Load(c.ID); err != nil || got.Attempts != 7 {
				t.Fatalf("round %d: update after a group: %+v %v", i, got, err)
			}
			if _, err := s.Load(b.ID); err == nil {
				t.Fatalf("round %d: deleted after its group, still loads", i)
			}
		}
		if s.Stats().CallerFrames == 0 {
			t.Fatal("no group was ever written by its caller")
		}
	})
	t.Run("caller frames fill segments, the writer rolls them", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir, func(o *Options) { o.MaxSegmentSize = 8 << 10 })
		var all []*persistence.Entry
		for i := 0; i < 40; i++ {
			g := groupN(4*i, 4*i+4)
			for j, e := range g { // 1 KiB that does not compress: 4 KiB a group
				e.Body = bigEntry(4*i + j).Body[:1024]
			}
			putGroupSync(t, s, g)
			all = append(all, g...)
		}
		if st := s.Stats(); st.CallerFrames == 0 || len(segFiles(t, dir)) < 5 {
			t.Fatalf("%d caller frames, %d segments", st.CallerFrames, len(segFiles(t, dir)))
		}
		s.Close()
		s = open(t, dir)
		defer s.Close()
		spooltest.CheckGroup(t, s, all)
		if len(s.Report().Repairs) != 0 {
			t.Fatalf("repairs %q", s.Report().Repairs)
		}
	})
}

func TestGroupFaults(t *testing.T) {
	t.Run("a failed write refuses the whole group, the store goes on", func(t *testing.T) {
		for _, busy := range []bool{false, true} { // written by the caller, or by the writer
			fs := &faultFS{}
			dir := t.TempDir()
			s := open(t, dir, func(o *Options) { o.FS = fs })
			putSync(t, s, entryN(1))
			fs.failWrites.Store(true)
			if busy {
				s.Put(entryN(2), nil) // pending: the group goes to the writer behind it
			}
			g := groupN(10, 20)
			if err := spooltest.PutGroup(t, s, g); err == nil {
				t.Fatal("a group written to a full disk was acknowledged")
			}
			fs.failWrites.Store(false)
			for _, e := range g {
				if _, err := s.Load(e.ID); err == nil {
					t.Fatalf("busy=%v: message %s of a refused group loads", busy, e.ID)
				}
			}
			putGroupSync(t, s, groupN(30, 33))
			s.Close()
			s = open(t, dir)
			live := liveIDs(t, s)
			s.Close()
			for _, e := range g {
				if _, ok := live[e.ID]; ok {
					t.Fatalf("busy=%v: message %s of a refused group recovered", busy, e.ID)
				}
			}
			if len(live) != 4 {
				t.Fatalf("busy=%v: %d messages recovered, want 4", busy, len(live))
			}
		}
	})
	t.Run("below min_free_space a group is refused", func(t *testing.T) {
		fs := &faultFS{}
		s := open(t, t.TempDir(), func(o *Options) { o.FS = fs; o.MinFreeSpace = Threshold{Percent: 10} })
		defer s.Close()
		fs.setSpace(&Space{FreeBytes: 5, TotalBytes: 100, FreeInodes: 50, TotalInodes: 100})
		s.checkSpace()
		if err := spooltest.PutGroup(t, s, groupN(1, 3)); !errors.Is(err, ErrLowSpace) || s.Len() != 0 {
			t.Fatalf("group below min_free_space: %v, %d stored", err, s.Len())
		}
	})
}

// TestGroupStress mixes groups, puts, updates, deletes and compaction from many goroutines over
// small segments (for the race detector, and for the accounting), then checks a reopen.
func TestGroupStress(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, func(o *Options) { o.MaxSegmentSize = 8 << 10; o.DeleteSyncDelay = -1 })
	stop := make(chan struct{})
	var cwg sync.WaitGroup
	cwg.Add(1)
	go func() {
		defer cwg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				s.CompactOnce()
				time.Sleep(time.Millisecond)
			}
		}
	}()
	var mu sync.Mutex
	want := map[message.SpoolID]uint16{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			mine := map[message.SpoolID]uint16{}
			for i := 0; i < 60; i++ {
				base := 10000*w + 50*i
				switch rng.IntN(4) {
				case 0:
					putSync(t, s, entryN(base))
					mine[entryN(base).ID] = 0
				default:
					g := groupN(base, base+1+rng.IntN(8))
					putGroupSync(t, s, g)
					for _, e := range g {
						mine[e.ID] = 0
					}
				}
				for id := range mine { // map order: a random few
					switch rng.IntN(6) {
					case 0:
						s.Delete(id)
						delete(mine, id)
					case 1:
						mine[id]++
						s.Update(id, mine[id], t0)
					}
					break
				}
			}
			mu.Lock()
			for id, a := range mine {
				want[id] = a
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(stop)
	cwg.Wait()
	flush(t, s)
	check := func(s *Store) {
		t.Helper()
		live := liveIDs(t, s)
		if len(live) != len(want) {
			t.Fatalf("%d live, want %d", len(live), len(want))
		}
		for id, a := range want {
			if e, ok := live[id]; !ok || e.Attempts != a {
				t.Fatalf("message %s: %+v, want attempts %d", id, e, a)
			}
			if _, err := s.Load(id); err != nil {
				t.Fatalf("load %s: %v", id, err)
			}
		}
	}
	check(s)
	s.Close()
	s = open(t, dir)
	defer s.Close()
	check(s)
}
