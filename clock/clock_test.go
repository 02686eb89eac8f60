package clock

import (
	"testing"
	"time"
)

func TestFake(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t.Run("timers fire in due order with the clock at their due time", func(t *testing.T) {
		c := NewFake(start)
		var got []time.Duration
		for _, d := range []time.Duration{3 * time.Second, time.Second, 2 * time.Second} {
			c.AfterFunc(d, func() { got = append(got, c.Now().Sub(start)) })
		}
		c.Advance(2 * time.Second)
		if len(got) != 2 || got[0] != time.Second || got[1] != 2*time.Second {
			t.Fatalf("after 2s fired %v", got)
		}
		c.Advance(time.Hour)
		if len(got) != 3 || got[2] != 3*time.Second {
			t.Fatalf("after 1h fired %v", got)
		}
		if c.Now().Sub(start) != time.Hour+2*time.Second {
			t.Fatalf("clock reads %v", c.Now().Sub(start))
		}
	})
	t.Run("a stopped timer never fires", func(t *testing.T) {
		c := NewFake(start)
		fired := false
		tm := c.AfterFunc(time.Second, func() { fired = true })
		if !tm.Stop() {
			t.Fatal("Stop of a pending timer returned false")
		}
		if tm.Stop() {
			t.Fatal("second Stop returned true")
		}
		c.Advance(time.Minute)
		if fired || c.Pending() != 0 {
			t.Fatalf("fired=%v pending=%d", fired, c.Pending())
		}
	})
	t.Run("a callback may schedule another timer that is due within the same advance", func(t *testing.T) {
		c := NewFake(start)
		n := 0
		var again func()
		again = func() {
			n++
			if n < 5 {
				c.AfterFunc(time.Second, again)
			}
		}
		c.AfterFunc(time.Second, again)
		c.Advance(10 * time.Second)
		if n != 5 {
			t.Fatalf("chain ran %d times, want 5", n)
		}
	})
}
