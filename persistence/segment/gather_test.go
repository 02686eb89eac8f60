package segment

import (
	"sync"
	"testing"
	"time"
)

// gatherStore is a store with just the handoff and options gather uses.
func gatherStore(delay time.Duration) *Store {
	return &Store{hand: newHandoff(), opts: Options{GatherDelay: delay}}
}

// gatherWithin runs gather and fails the test if it does not return within limit.
func gatherWithin(t *testing.T, s *Store, batch []*written, busy bool, limit time.Duration) []*written {
	t.Helper()
	out := make(chan []*written, 1)
	go func() { out <- s.gather(batch, busy) }()
	select {
	case b := <-out:
		return b
	case <-time.After(limit):
		t.Fatalf("gather(busy=%v, %d frames) still waits after %v", busy, len(batch), limit)
		return nil
	}
}

// TestGatherWaitsOnlyWhenBusy: a lone frame that follows a commit at once waits for a second
// frame to share its fsync; an idle store's frame, a batch of several and a store without a delay
// do not wait.
func TestGatherWaitsOnlyWhenBusy(t *testing.T) {
	first, second := &written{seq: 1}, &written{seq: 2}
	t.Run("busy: the next frame joins", func(t *testing.T) {
		s := gatherStore(time.Hour)
		var wg sync.WaitGroup
		wg.Go(func() {
			time.Sleep(5 * time.Millisecond) // the writer's next frame, a little later
			s.hand.put(second)
		})
		got := gatherWithin(t, s, []*written{first}, true, 10*time.Second)
		wg.Wait()
		if len(got) != 2 || got[0] != first || got[1] != second {
			t.Fatalf("batch %v, want the two frames in order", got)
		}
	})
	t.Run("busy: nothing comes, the delay ends it", func(t *testing.T) {
		s := gatherStore(2 * time.Millisecond)
		if got := gatherWithin(t, s, []*written{first}, true, 10*time.Second); len(got) != 1 {
			t.Fatalf("batch of %d, want the lone frame", len(got))
		}
	})
	for _, c := range []struct {
		name  string
		s     *Store
		batch []*written
		busy  bool
	}{
		{"idle: no wait", gatherStore(time.Hour), []*written{first}, false},
		{"two frames already: no wait", gatherStore(time.Hour), []*written{first, second}, true},
		{"no delay configured", gatherStore(-1), []*written{first}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := gatherWithin(t, c.s, c.batch, c.busy, 10*time.Second); len(got) != len(c.batch) {
				t.Fatalf("batch of %d, want %d", len(got), len(c.batch))
			}
		})
	}
}
