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
		switch rng.IntN(3) {
		case 0, 1:
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

func BenchmarkIndexSet(b *testing.B) {
	ids := message.NewIDGen([6]byte{1, 2, 3, 4, 5, 6})
	x := newIndex()
	for i := 0; b.Loop(); i++ {
		x.set(ids.New(t0), slot{put: loc{seg: 1, off: uint32(i)}})
	}
}
