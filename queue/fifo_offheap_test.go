package queue

import (
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/offheap"
	"github.com/hookd/hookd/message"
)

// mapped is what the fifo tests know of offheap's mappings: whether this platform maps memory at
// all, and how many mappings were live once the cleanups of earlier tests had run.
type mapped struct {
	available bool
	base      int64
}

// settleMappings runs collections until the cleanups of fifos dropped earlier have freed their
// blocks, so that offheap.Live counts only what the calling test maps from then on.
func settleMappings(t testing.TB) mapped {
	t.Helper()
	before := offheap.Live()
	probe := offheap.MustMake[entry](fifoBlock)
	available := offheap.Live() > before
	offheap.Free(probe)
	last := offheap.Live()
	deadline := time.Now().Add(10 * time.Second)
	for stable := 0; stable < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("offheap mappings never settled: %d live", last)
		}
		runtime.GC()
		time.Sleep(2 * time.Millisecond)
		if n := offheap.Live(); n == last {
			stable++
		} else {
			last, stable = n, 0
		}
	}
	return mapped{available: available, base: last}
}

// held is the number of full blocks the fifo holds, the spare included: each one a mapping.
func held(q *fifo) int64 {
	n := int64(0)
	for _, b := range q.blocks {
		if len(b) == fifoBlock {
			n++
		}
	}
	if q.spare != nil {
		n++
	}
	return n
}

// check fails unless the live mappings are exactly the fifo's full blocks: none leaked, none freed twice.
func (m mapped) check(t testing.TB, q *fifo, when string) {
	t.Helper()
	if !m.available {
		return
	}
	if got, want := offheap.Live()-m.base, held(q); got != want {
		t.Fatalf("%s: %d blocks mapped, the fifo holds %d", when, got, want)
	}
}

func pushN(q *fifo, from, n int) {
	for i := range n {
		q.push(entry{due: int64(from + i)})
	}
}

func popN(t *testing.T, q *fifo, from, n int) {
	t.Helper()
	for i := range n {
		if e := q.pop(); e.due != int64(from+i) {
			t.Fatalf("popped %d, want %d", e.due, from+i)
		}
	}
}

// A queue of up to half a block stays on the Go heap and registers no cleanup.
func TestFifoSmallStaysOnHeap(t *testing.T) {
	m := settleMappings(t)
	var q fifo
	pushN(&q, 0, fifoSmall-100)
	for i := 1; i <= 100; i++ { // a batch handed back: the entries move up the small block
		q.pushFront(entry{due: int64(-i)})
	}
	if q.owner != nil || offheap.Live() != m.base {
		t.Fatalf("%d entries mapped %d blocks", q.len(), offheap.Live()-m.base)
	}
	var front fifo // a batch handed back to an empty queue
	for i := range 200 {
		front.pushFront(entry{due: int64(-i)})
	}
	if front.owner != nil || offheap.Live() != m.base || front.at(0).due != -199 {
		t.Fatalf("200 entries pushed at the front mapped %d blocks", offheap.Live()-m.base)
	}
	pushN(&q, fifoSmall, 1) // one more: the entries move to a mapped block
	if m.available && offheap.Live() != m.base+1 {
		t.Fatalf("%d entries: %d blocks mapped, want 1", q.len(), offheap.Live()-m.base)
	}
}

// A fifo of many blocks keeps them outside the Go heap, pops in order, and frees every block as it
// drains, the spare last.
func TestFifoBlocksOffHeap(t *testing.T) {
	const n = 9*fifoBlock + 100
	m := settleMappings(t)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var q fifo
	pushN(&q, 0, n)
	runtime.GC()
	runtime.ReadMemStats(&after)
	m.check(t, &q, "filled")
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); m.available && grown > n*32/4 {
		t.Errorf("the Go heap grew by %d KiB for %d KiB of entries", grown>>10, n*32>>10)
	}
	for i := 0; i < n; i++ {
		if q.at(i).due != int64(i) {
			t.Fatalf("at(%d) = %d", i, q.at(i).due)
		}
	}
	for done := 0; done < n; {
		k := min(fifoBlock/3, n-done)
		popN(t, &q, done, k)
		done += k
		m.check(t, &q, "draining")
		if q.len() != n-done {
			t.Fatalf("len %d, want %d", q.len(), n-done)
		}
	}
	if offheap.Live() != m.base || len(q.blocks) != 0 || q.spare != nil {
		t.Fatalf("drained: %d blocks still mapped", offheap.Live()-m.base)
	}
}

// pushFront at a block boundary puts a new block in front, and into a small block turns it full.
func TestFifoPushFrontOffHeap(t *testing.T) {
	m := settleMappings(t)
	var q fifo
	pushN(&q, 0, 3*fifoBlock) // three full blocks, head at 0
	for i := 1; i <= fifoBlock+10; i++ {
		q.pushFront(entry{due: int64(-i)})
		m.check(t, &q, "pushFront")
	}
	if q.len() != 4*fifoBlock+10 || len(q.blocks) != 5 {
		t.Fatalf("len %d in %d blocks", q.len(), len(q.blocks))
	}
	popN(t, &q, -(fifoBlock + 10), fifoBlock+10)
	popN(t, &q, 0, 3*fifoBlock)
	m.check(t, &q, "drained")

	var s fifo
	pushN(&s, 0, fifoSmall) // a small block, full, head at 0
	for i := 1; i <= 3; i++ {
		s.pushFront(entry{due: int64(-i)})
	}
	m.check(t, &s, "small pushFront")
	if m.available && held(&s) != 1 {
		t.Fatalf("small fifo pushed at the front: %d full blocks", held(&s))
	}
	popN(t, &s, -3, 3)
	popN(t, &s, 0, fifoSmall)
	m.check(t, &s, "small drained")
}

// A block emptied at the head is kept for the next growth; a second one is freed rather than kept.
func TestFifoSpareReuse(t *testing.T) {
	m := settleMappings(t)
	var q fifo
	pushN(&q, 0, 3*fifoBlock)
	popN(t, &q, 0, fifoBlock)
	if q.spare == nil {
		t.Fatal("no spare after the head block emptied")
	}
	spare := &q.spare[0]
	m.check(t, &q, "spare kept")
	pushN(&q, 3*fifoBlock, fifoBlock/2) // into a new tail block: the spare
	if q.spare != nil || &q.blocks[len(q.blocks)-1][0] != spare {
		t.Fatal("growth did not reuse the spare")
	}
	m.check(t, &q, "spare reused")
	popN(t, &q, fifoBlock, 2*fifoBlock) // two blocks empty: one kept, one freed
	m.check(t, &q, "two emptied")
	if m.available && held(&q) != 2 {
		t.Fatalf("%d blocks held, want the tail block and one spare", held(&q))
	}
	popN(t, &q, 3*fifoBlock, fifoBlock/2)
	m.check(t, &q, "drained")
}

// A fifo dropped with blocks in it, alone or in its queue core, has them freed by its cleanup.
func TestFifoFreedWhenDropped(t *testing.T) {
	m := settleMappings(t)
	if !m.available {
		t.Skip("memory is not mapped on this platform")
	}
	q := new(fifo)
	pushN(q, 0, 5*fifoBlock)
	popN(t, q, 0, fifoBlock+1) // four blocks left, and a spare
	if held(q) != 5 || offheap.Live() != m.base+5 {
		t.Fatalf("%d blocks held, %d mapped", held(q), offheap.Live()-m.base)
	}
	q = nil

	cfg := DefaultConfig()
	cfg.Deliverable = true
	c := New(cfg, func() float64 { return 0.5 })
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.SetGate(Paused, now.Add(time.Hour), now)
	ids := message.NewIDGen([6]byte{1, 2, 3, 4, 5, 6})
	items := make([]Item, 4*fifoBlock)
	for i := range items {
		items[i] = Item{ID: ids.New(now)}
	}
	c.InsertMany(items, now)
	if _, ready, _ := c.Counts(); ready != len(items) || offheap.Live() != m.base+9 {
		t.Fatalf("%d ready, %d blocks mapped", ready, offheap.Live()-m.base)
	}
	c = nil

	deadline := time.Now().Add(10 * time.Second)
	for offheap.Live() != m.base {
		if time.Now().After(deadline) {
			t.Fatalf("%d blocks still mapped after the fifos were dropped", offheap.Live()-m.base)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

// FuzzFifo drives the fifo and a plain slice with the same pushes, front pushes and pops, each of
// up to two blocks, and checks order, len, at and that exactly the fifo's full blocks are mapped.
func FuzzFifo(f *testing.F) {
	f.Add([]byte{0, 0xff, 0xff, 2, 0x10, 0, 1, 0x40, 0, 2, 0xff, 0xff})
	f.Add([]byte{0, 0x20, 0, 1, 0x01, 0, 0, 0x30, 0, 2, 0x28, 0, 1, 0xff, 0x0f, 2, 0xff, 0xff})
	f.Add([]byte{1, 0xff, 0x07, 0, 0xff, 0xff, 1, 0x05, 0, 2, 0x00, 0x10, 0, 0x00, 0x08, 2, 0xff, 0xff})
	f.Add([]byte{0, 0x00, 0x04, 2, 0x01, 0x04, 0, 0x00, 0x04, 2, 0x00, 0x04, 0, 0x00, 0x0c, 2, 0x00, 0x08})
	m := settleMappings(f) // each input drains its fifo, so the count comes back to this
	f.Fuzz(func(t *testing.T, ops []byte) {
		var q fifo
		var model []entry
		next := int64(0)
		for len(ops) >= 3 {
			op, k := ops[0]%3, int(binary.LittleEndian.Uint16(ops[1:3]))%(2*fifoBlock+1)
			ops = ops[3:]
			switch op {
			case 0:
				for range k {
					next++
					q.push(entry{due: next})
					model = append(model, entry{due: next})
				}
			case 1:
				front := make([]entry, 0, k)
				for range k {
					next++
					q.pushFront(entry{due: -next})
					front = append(front, entry{due: -next})
				}
				for i, j := 0, len(front)-1; i < j; i, j = i+1, j-1 {
					front[i], front[j] = front[j], front[i]
				}
				model = append(front, model...)
			case 2:
				for ; k > 0 && len(model) > 0; k-- {
					if got := q.pop(); got != model[0] {
						t.Fatalf("popped %d, want %d", got.due, model[0].due)
					}
					model = model[1:]
				}
			}
			if q.len() != len(model) {
				t.Fatalf("len %d, want %d", q.len(), len(model))
			}
			for _, i := range []int{0, len(model) / 3, len(model) / 2, len(model) - 1} {
				if len(model) > 0 && q.at(i) != model[i] {
					t.Fatalf("at(%d) = %d, want %d", i, q.at(i).due, model[i].due)
				}
			}
			m.check(t, &q, "after an op")
		}
		for len(model) > 0 {
			if got := q.pop(); got != model[0] {
				t.Fatalf("draining: popped %d, want %d", got.due, model[0].due)
			}
			model = model[1:]
		}
		m.check(t, &q, "drained")
		if m.available && offheap.Live() != m.base {
			t.Fatalf("drained: %d blocks still mapped", offheap.Live()-m.base)
		}
	})
}
