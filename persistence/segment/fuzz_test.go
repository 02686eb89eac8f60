package segment

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/message"
)

func FuzzDecodeEntries(f *testing.F) {
	f.Add(appendEntry(nil, &entry{kind: kindPut, queue: []byte("q"), meta: []byte("{}"), body: []byte("b")}))
	f.Add(appendEntry(appendEntry(nil, &entry{kind: kindUpdate, attempts: 3, due: 42}), &entry{kind: kindDelete}))
	f.Add([]byte{kindPut, 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		es, err := decodeEntries(p, nil)
		if err != nil {
			return
		}
		var again []byte
		for i := range es {
			again = appendEntry(again, &es[i])
		}
		if string(again) != string(p) {
			t.Fatalf("decoded entries re-encode differently:\n%x\n%x", p, again)
		}
	})
}

// A history is a spool directory built by a known sequence of operations, with the place of every
// operation's frame, so a test can tell which operations a damaged copy still records.
type history struct {
	files map[string][]byte // segment file name -> contents at the end
	ops   []histOp
	live  map[message.SpoolID]histState
	dead  map[message.SpoolID]int // deleted id -> index of the delete op
}

type histOp struct {
	kind       byte
	id         message.SpoolID
	file       string
	start, end int64
	attempts   uint16
}

type histState struct {
	put, update int // op indexes (update -1 when none)
	attempts    uint16
}

var (
	histOnce sync.Once
	hist     *history
)

// buildHistory runs 120 random puts, updates and deletes against a spool of small segments, each
// operation in its own frame.
func buildHistory(t testing.TB) *history {
	dir, err := os.MkdirTemp("", "hookd-hist-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := Open(Options{Dir: dir, Logger: quiet(), MaxSegmentSize: 1500, MinFreeSpace: Threshold{Disabled: true},
		MinFreeInodes: Threshold{Disabled: true}, CompactEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	h := &history{live: map[message.SpoolID]histState{}, dead: map[message.SpoolID]int{}}
	rng := rand.New(rand.NewPCG(3, 4))
	var order []message.SpoolID
	next := 0
	for i := 0; i < 120; i++ {
		seq, start := s.active.seq, s.writeOff
		op := histOp{file: filepath.Base(s.segPath(seq)), start: start}
		switch r := rng.IntN(10); {
		case r < 5 || len(order) == 0:
			e := entryN(next)
			next++
			op.kind, op.id = kindPut, e.ID
			putSync(t, s, e)
			h.live[e.ID] = histState{put: i, update: -1}
			order = append(order, e.ID)
		case r < 7:
			id := order[rng.IntN(len(order))]
			op.kind, op.id, op.attempts = kindUpdate, id, uint16(i)
			s.Update(id, uint16(i), t0.Add(time.Duration(i)*time.Second))
			st := h.live[id]
			st.update, st.attempts = i, uint16(i)
			h.live[id] = st
		default:
			k := rng.IntN(len(order))
			id := order[k]
			order = append(order[:k], order[k+1:]...)
			op.kind, op.id = kindDelete, id
			s.Delete(id)
			delete(h.live, id)
			h.dead[id] = i
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		op.end = s.writeOff // where its frame ends (the file runs on, zero-filled, until sealed)
		if s.active.seq != seq {
			fi, err := os.Stat(s.segPath(seq)) // it filled the segment, which was sealed: cut to its frames
			if err != nil {
				t.Fatal(err)
			}
			op.end = fi.Size()
		}
		h.ops = append(h.ops, op)
	}
	// The files as a crash would leave them: the active segment still zero-filled past its frames.
	h.files = map[string][]byte{}
	names, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	for _, n := range names {
		b, _ := os.ReadFile(n)
		h.files[filepath.Base(n)] = b
	}
	if active := h.files[filepath.Base(s.segPath(s.active.seq))]; int64(len(active)) <= s.writeOff {
		t.Fatalf("the active segment is %d bytes, its frames end at %d: want preallocated zeros", len(active), s.writeOff)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return h
}

// damage describes what a fuzz input did to one file.
type damage struct {
	file    string
	truncAt int64 // -1 = not truncated
	flipped []int64
}

func (d damage) hurts(file string, start, end int64) bool {
	if file != d.file {
		return false
	}
	if d.truncAt >= 0 && d.truncAt < end {
		return true
	}
	for _, p := range d.flipped {
		if (p >= start && p < end) || p < headerSize {
			return true
		}
	}
	return false
}

func FuzzRecovery(f *testing.F) {
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{1, 0, 0, 1, 0, 0, 0, 0, 40, 0x10})
	f.Add([]byte{2, 0x80, 0, 0, 0, 0, 1, 0, 0, 1})
	f.Add([]byte{3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 5, 0xff, 0, 0, 0, 200, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		histOnce.Do(func() { hist = buildHistory(t) })
		h := hist
		if len(in) < 5 {
			return
		}
		names := make([]string, 0, len(h.files))
		for n := range h.files {
			names = append(names, n)
		}
		sort.Strings(names)
		d := damage{file: names[int(in[0])%len(names)], truncAt: -1}
		data := append([]byte(nil), h.files[d.file]...)
		if cut := binary.BigEndian.Uint32(in[1:5]); cut != 0xffffffff {
			d.truncAt = int64(cut) % int64(len(data)+1)
			data = data[:d.truncAt]
		}
		for rest := in[5:]; len(rest) >= 5 && len(data) > 0; rest = rest[5:] {
			pos := int64(binary.BigEndian.Uint32(rest)) % int64(len(data))
			if rest[4] != 0 {
				data[pos] ^= rest[4]
				d.flipped = append(d.flipped, pos)
			}
		}
		dir := t.TempDir()
		for n, b := range h.files {
			if n == d.file {
				b = data
			}
			if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		s, err := Open(Options{Dir: dir, Logger: quiet(), MinFreeSpace: Threshold{Disabled: true},
			MinFreeInodes: Threshold{Disabled: true}, CompactEvery: time.Hour})
		if err != nil {
			t.Fatalf("open after damage %+v: %v", d, err)
		}
		defer s.Close()
		got := liveIDs(t, s)
		for id, del := range h.dead {
			op := h.ops[del]
			if _, back := got[id]; back && !d.hurts(op.file, op.start, op.end) {
				t.Fatalf("message %s was deleted by an intact frame but came back (damage %+v)", id, d)
			}
		}
		for id, st := range h.live {
			put := h.ops[st.put]
			e, ok := got[id]
			if !ok {
				if !d.hurts(put.file, put.start, put.end) {
					t.Fatalf("message %s lost although its frame is intact (damage %+v)", id, d)
				}
				continue
			}
			if st.update >= 0 {
				up := h.ops[st.update]
				if !d.hurts(up.file, up.start, up.end) && e.Attempts != st.attempts {
					t.Fatalf("message %s recovered with attempts %d, want %d", id, e.Attempts, st.attempts)
				}
			}
			if _, err := s.Load(id); err != nil && !d.hurts(put.file, put.start, put.end) {
				t.Fatalf("message %s cannot be loaded: %v", id, err)
			}
		}
	})
}

func TestRecoveryHistoryIsRich(t *testing.T) {
	histOnce.Do(func() { hist = buildHistory(t) })
	if len(hist.files) < 3 || len(hist.live) < 10 || len(hist.dead) < 10 {
		t.Fatalf("the fuzz history is too thin to mean much: %d files, %d live, %d deleted",
			len(hist.files), len(hist.live), len(hist.dead))
	}
	t.Logf("%d files, %d live, %d deleted", len(hist.files), len(hist.live), len(hist.dead))
}
