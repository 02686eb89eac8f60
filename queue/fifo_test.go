package queue

import (
	"math/rand/v2"
	"testing"
)

// TestFifoMatchesASlice drives the block fifo and a plain slice with the same random pushes,
// front pushes and pops, across block boundaries (pushes and pops balance, so the queue keeps
// emptying and refilling).
func TestFifoMatchesASlice(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var q fifo
	var model []entry
	next := int64(0)
	for step := 0; step < 50_000; step++ {
		switch op := r.IntN(10); {
		case op < 3 || len(model) == 0: // push, in bursts that cross blocks
			for range 1 + r.IntN(3*fifoBlock/2)*r.IntN(2) {
				next++
				q.push(entry{due: next})
				model = append(model, entry{due: next})
			}
		case op == 3:
			next++
			q.pushFront(entry{due: -next})
			model = append([]entry{{due: -next}}, model...)
		default:
			for k := 1 + r.IntN(400*fifoBlock/1024); k > 0 && len(model) > 0; k-- {
				if got := q.pop(); got != model[0] {
					t.Fatalf("step %d: popped %v, want %v", step, got, model[0])
				}
				model = model[1:]
			}
		}
		if q.len() != len(model) {
			t.Fatalf("step %d: len %d, want %d", step, q.len(), len(model))
		}
		if len(model) > 0 {
			i := r.IntN(len(model))
			if q.at(i) != model[i] {
				t.Fatalf("step %d: at(%d) = %v, want %v", step, i, q.at(i), model[i])
			}
		}
	}
}
