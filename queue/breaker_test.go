package queue

import (
	"fmt"
	"testing"
	"time"
)

// TestBreakerScript drives a breaker through open, a failed probe, a longer open period, a good
// probe and closed again, on a timeline that only the test moves.
func TestBreakerScript(t *testing.T) {
	b := NewBreaker("make.webhook|webhook", BreakerConfig{Failures: 3, OpenFor: 10 * time.Second, MaxOpenFor: 15 * time.Second})
	now := t0
	gate := func(want string) {
		t.Helper()
		g, until := b.Check(now)
		got := []string{"flowing", "paused", "probe"}[g]
		if g == Paused {
			got += fmt.Sprintf(" until +%v", until.Sub(t0))
		}
		if got != want {
			t.Fatalf("at +%v: gate %s, want %s", now.Sub(t0), got, want)
		}
	}
	attempt := func(ok bool) {
		t.Helper()
		done, allowed := b.Allow(now)
		if !allowed {
			t.Fatalf("at +%v: attempt refused", now.Sub(t0))
		}
		done(ok, now)
	}
	gate("flowing")
	attempt(false)
	attempt(false)
	gate("flowing")
	attempt(false) // the third consecutive failure opens it
	gate("paused until +10s")
	if _, ok := b.Allow(now); ok {
		t.Fatal("an attempt was allowed while open")
	}
	now = now.Add(9 * time.Second)
	gate("paused until +10s")
	now = now.Add(time.Second)
	gate("probe")
	done, ok := b.Allow(now)
	if !ok {
		t.Fatal("the probe was refused")
	}
	gate("paused until +12.5s") // the probe is out: others wait
	if _, ok := b.Allow(now); ok {
		t.Fatal("a second probe was allowed")
	}
	now = now.Add(time.Second)
	done(false, now) // the probe failed: open again, for twice as long (capped at 15s)
	gate("paused until +26s")
	now = t0.Add(26 * time.Second)
	gate("probe")
	attempt(true) // a good probe closes it
	gate("flowing")
	if st, opened, closed := b.State(); st != Closed || opened != 2 || closed != 1 {
		t.Fatalf("state %v, opened %d, closed %d", st, opened, closed)
	}
	attempt(false)
	attempt(true) // a success resets the consecutive failures
	attempt(false)
	attempt(false)
	gate("flowing")
}
