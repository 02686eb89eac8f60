package membership

import (
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd/clock"
)

func TestDetector(t *testing.T) {
	start := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	const deadAfter = 5 * time.Second

	t.Run("a member is dead once silent for DeadAfter, not before, and reported once", func(t *testing.T) {
		c := clock.NewFake(start)
		d := newDetector(deadAfter)
		d.Heard("a", 1, c.Now())
		d.Heard("b", 1, c.Now())
		c.Advance(2 * time.Second)
		d.Heard("b", 1, c.Now())
		c.Advance(deadAfter - 2*time.Second - time.Nanosecond)
		if dead := d.Dead(c.Now()); len(dead) != 0 {
			t.Fatalf("dead %v a nanosecond before DeadAfter", dead)
		}
		c.Advance(time.Nanosecond)
		if dead := d.Dead(c.Now()); !slices.Equal(dead, []string{"a"}) {
			t.Fatalf("at DeadAfter dead = %v, want [a]", dead)
		}
		if dead := d.Dead(c.Now()); len(dead) != 0 {
			t.Fatalf("a reported twice: %v", dead)
		}
		c.Advance(2 * time.Second)
		if dead := d.Dead(c.Now()); !slices.Equal(dead, []string{"b"}) {
			t.Fatalf("dead = %v, want [b]", dead)
		}
		if d.Tracking("a") || d.Tracking("b") {
			t.Fatal("dead members still tracked")
		}
	})

	t.Run("every heartbeat postpones death", func(t *testing.T) {
		c := clock.NewFake(start)
		d := newDetector(deadAfter)
		for i := 0; i < 100; i++ {
			d.Heard("a", 1, c.Now())
			c.Advance(deadAfter - time.Millisecond)
			if dead := d.Dead(c.Now()); len(dead) != 0 {
				t.Fatalf("round %d: dead %v though heard %v ago", i, dead, deadAfter-time.Millisecond)
			}
		}
	})

	t.Run("dead members come sorted", func(t *testing.T) {
		d := newDetector(deadAfter)
		for _, id := range []string{"c", "a", "d", "b"} {
			d.Heard(id, 1, start)
		}
		if dead := d.Dead(start.Add(time.Hour)); !slices.Equal(dead, []string{"a", "b", "c", "d"}) {
			t.Fatalf("dead = %v", dead)
		}
	})

	t.Run("a new incarnation replaces the old; a late message of the old one does not count", func(t *testing.T) {
		c := clock.NewFake(start)
		d := newDetector(deadAfter)
		d.Heard("a", 1, c.Now())
		c.Advance(4 * time.Second)
		d.Heard("a", 2, c.Now()) // restarted
		c.Advance(3 * time.Second)
		d.Heard("a", 1, c.Now()) // a late heartbeat of the past run
		c.Advance(2 * time.Second)
		if dead := d.Dead(c.Now()); !slices.Equal(dead, []string{"a"}) {
			t.Fatalf("dead = %v: the past run's heartbeat kept incarnation 2 alive", dead)
		}
	})

	t.Run("a time before the one recorded does not move it back", func(t *testing.T) {
		d := newDetector(deadAfter)
		d.Heard("a", 1, start.Add(3*time.Second))
		d.Heard("a", 1, start)
		if dead := d.Dead(start.Add(deadAfter + time.Second)); len(dead) != 0 {
			t.Fatalf("dead = %v", dead)
		}
	})

	t.Run("a forgotten member is never dead", func(t *testing.T) {
		d := newDetector(deadAfter)
		d.Heard("a", 1, start)
		d.Forget("a")
		if dead := d.Dead(start.Add(time.Hour)); len(dead) != 0 {
			t.Fatalf("dead = %v", dead)
		}
	})
}
