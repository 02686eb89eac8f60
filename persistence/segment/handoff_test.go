package segment

import (
	"sync"
	"testing"
	"time"
)

func TestHandoffOrderAndClose(t *testing.T) {
	h := newHandoff()
	const n = 10000
	var got []uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		var batch []*written
		for {
			var ok bool
			if batch, ok = h.take(batch[:0], 0); !ok {
				return
			}
			for _, w := range batch {
				got = append(got, w.seq)
			}
		}
	}()
	for i := range uint64(n) {
		h.put(&written{seq: i})
		if i%3 == 0 {
			h.awaitTaken()
		}
	}
	h.close()
	<-done
	if len(got) != n {
		t.Fatalf("the syncer took %d frames, want %d", len(got), n)
	}
	for i, seq := range got {
		if seq != uint64(i) {
			t.Fatalf("frame %d taken at position %d: out of order", seq, i)
		}
	}
}

func TestHandoffAwaitTakenWaitsForTheSyncer(t *testing.T) {
	h := newHandoff()
	h.put(&written{seq: 1})
	returned := make(chan struct{})
	go func() { h.awaitTaken(); close(returned) }()
	select {
	case <-returned:
		t.Fatal("awaitTaken returned before the syncer took the frame")
	case <-time.After(20 * time.Millisecond):
	}
	if batch, _ := h.take(nil, 0); len(batch) != 1 || batch[0].seq != 1 {
		t.Fatalf("take took %v", batch)
	}
	<-returned
	if batch, ok := h.take(nil, time.Millisecond); !ok || len(batch) != 0 {
		t.Fatalf("take on an empty handoff: %d frames, ok %v", len(batch), ok)
	}
}

func TestHandoffTakeTimeout(t *testing.T) {
	h := newHandoff()
	start := time.Now()
	batch, ok := h.take([]*written{{seq: 7}}, 5*time.Millisecond)
	if !ok || len(batch) != 1 || time.Since(start) < 5*time.Millisecond {
		t.Fatalf("an empty handoff: %d frames, ok %v after %v", len(batch), ok, time.Since(start))
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		time.Sleep(2 * time.Millisecond)
		h.put(&written{seq: 8})
	})
	batch, ok = h.take(batch, time.Minute)
	wg.Wait()
	if !ok || len(batch) != 2 || batch[1].seq != 8 {
		t.Fatalf("a frame handed over while waiting: %d frames, ok %v", len(batch), ok)
	}
	// Timeouts racing with puts lose no frame and leave no wake-up behind that would block one.
	const n = 3000
	var producer sync.WaitGroup
	producer.Go(func() {
		for i := range n {
			h.put(&written{seq: uint64(i)})
			if i%7 == 0 {
				time.Sleep(time.Duration(i%5) * time.Microsecond)
			}
		}
	})
	seen := 0
	deadline := time.Now().Add(time.Minute)
	for i := 0; seen < n; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d frames taken in a minute", seen, n)
		}
		var got []*written
		if i%2 == 0 {
			got, _ = h.take(nil, time.Microsecond)
		} else {
			got, _ = h.take(nil, 0)
		}
		for _, w := range got {
			if w.seq != uint64(seen) {
				t.Fatalf("frame %d taken in place of %d", w.seq, seen)
			}
			seen++
		}
	}
	producer.Wait()
	h.close()
	if _, ok := h.take(nil, 0); ok {
		t.Fatal("take on a closed, empty handoff reports ok")
	}
}
