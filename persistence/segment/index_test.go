package segment

import (
	"math/rand/v2"
	"testing"

	"github.com/hookd/hookd/message"
)

// TestIndexAgainstMap runs random sets, gets and deletes against the index and a Go map and wants
// them to agree at every step, through many growths and backward shifts.
func TestIndexAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ids := message.NewIDGen([6]byte{1, 2, 3, 4, 5, 6})
	var pool []message.SpoolID
	for i := 0; i < 20000; i++ {
		pool = append(pool, ids.New(t0))
	}
	x := newIndex()
	ref := map[message.SpoolID]slot{}
	for step := 0; step < 200000; step++ {
		id := pool[rng.IntN(len(pool))]
		setOdds := 2 // out of 3; the middle of the run mostly deletes, so shards shrink too
		if step > 80000 && step < 120000 {
			setOdds = 0
		}
		switch op := rng.IntN(3); {
		case op < setOdds:
			s := slot{put: loc{seg: uint32(1 + rng.IntN(9)), off: uint32(step)}, attempts: uint16(step)}
			x.set(id, s)
			ref[id] = s
		default:
			x.del(id)
			delete(ref, id)
		}
		if step%997 == 0 {
			if x.len() != len(ref) {
				t.Fatalf("step %d: len %d, map %d", step, x.len(), len(ref))
			}
			for id, want := range ref {
				if got, ok := x.get(id); !ok || got != want {
					t.Fatalf("step %d: get %v = %+v %v, want %+v", step, id, got, ok, want)
				}
			}
			n := 0
			x.each(func(id message.SpoolID, s slot) {
				n++
				if ref[id] != s {
					t.Fatalf("step %d: each gave %v %+v", step, id, s)
				}
			})
			if n != len(ref) {
				t.Fatalf("each visited %d of %d", n, len(ref))
			}
		}
	}
	for _, id := range pool {
		if _, ok := ref[id]; !ok {
			if _, found := x.get(id); found {
				t.Fatalf("deleted id %v still found", id)
			}
		}
	}
}

// TestIndexShrinks: a backlog that drains hands its memory back, and what stays is still found.
func TestIndexShrinks(t *testing.T) {
	ids := message.NewIDGen([6]byte{1, 2, 3, 4, 5, 6})
	x := newIndex()
	var all []message.SpoolID
	for i := 0; i < 200000; i++ {
		id := ids.New(t0)
		all = append(all, id)
		x.set(id, slot{put: loc{seg: 1, off: uint32(i)}})
	}
	cells := func() (n int) {
		for i := range x.shards {
			n += len(x.shards[i].cells)
		}
		return n
	}
	if full, lo, hi := cells(), 200000*100/85, 200000*100/68; full < lo || full > hi+indexShards {
		t.Fatalf("%d cells for 200,000 entries: want a load between 0.68 and 0.85", full)
	}
	keep := all[:100]
	for _, id := range all[100:] {
		x.del(id)
	}
	if n := cells(); n > indexShards*tableMinCap*2 {
		t.Fatalf("%d cells left for %d entries", n, x.len())
	}
	for i, id := range keep {
		if s, ok := x.get(id); !ok || s.put.off != uint32(i) {
			t.Fatalf("entry %d lost after shrinking: %+v %v", i, s, ok)
		}
	}
	for _, id := range all[100:1000] {
		if _, ok := x.get(id); ok {
			t.Fatal("a deleted entry came back after shrinking")
		}
	}
}

func BenchmarkIndexSet(b *testing.B) {
	ids := message.NewIDGen([6]byte{1, 2, 3, 4, 5, 6})
	x := newIndex()
	for i := 0; b.Loop(); i++ {
		x.set(ids.New(t0), slot{put: loc{seg: 1, off: uint32(i)}})
	}
}
