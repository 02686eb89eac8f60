package actors

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/message"
)

func (r *rig) breakerState() string {
	for _, b := range r.sys.Breakers(context.Background()) {
		return b.State
	}
	return "none"
}

func TestCircuitBreaker(t *testing.T) {
	wh := newWebhook(t)
	wh.mu.Lock()
	wh.statuses = make([]int, 0)
	for i := 0; i < 1000; i++ {
		wh.statuses = append(wh.statuses, 503) // down until the test says otherwise
	}
	wh.mu.Unlock()
	src := strings.Replace(policy("7d", 1, 1024, 1000), "kumo.make_egress_path {",
		"kumo.make_egress_path { hookd_breaker_failures = 3, hookd_breaker_open_for = '30s',", 1)
	r := startRig(t, src, wh.URL)
	requests := func() int {
		wh.mu.Lock()
		defer wh.mu.Unlock()
		return 1000 - len(wh.statuses) + len(wh.bodies)
	}
	var recs []*message.LogRecord
	for i := 0; i < 10; i++ {
		recs = append(recs, record(message.Delivery, i))
	}
	r.log(t, recs...)
	eventually(t, "the breaker opens", func() bool { return r.breakerState() == "open" })
	eventually(t, "the attempts in flight are over", func() bool {
		qs := r.sys.Queues(context.Background(), false)
		return len(qs) == 1 && qs[0].InFlight == 0 && r.sys.Stats().Transient == uint64(requests())
	})
	first := requests()
	if first != 3 {
		t.Fatalf("%d requests before the breaker opened, want 3 (one session, three consecutive failures)", first)
	}
	qs := r.sys.Queues(context.Background(), false)
	if len(qs) != 1 || qs[0].Gate != "paused" || qs[0].Breaker != "open" || qs[0].Ready != 10-first {
		t.Fatalf("queue while open: %+v (the messages not yet tried wait, ready, without an attempt)", qs)
	}
	r.clock.Advance(29 * time.Second)
	if n := requests(); n != first {
		t.Fatalf("%d requests while the breaker was open", n-first)
	}
	// The 30s open period is over: one probe goes out, and fails; the breaker opens for 60s (doubled).
	r.clock.Advance(time.Second)
	eventually(t, "the probe", func() bool { return requests() == first+1 })
	eventually(t, "the breaker opens again", func() bool { return r.breakerState() == "open" })
	r.clock.Advance(59 * time.Second) // the first retries fall due at +1m: they wait too
	if n := requests(); n != first+1 {
		t.Fatalf("%d requests during the second open period", n-first-1)
	}
	wh.mu.Lock()
	wh.statuses = nil // the webhook is back
	wh.mu.Unlock()
	r.clock.Advance(time.Second)
	eventually(t, "the breaker closes after a good probe", func() bool { return r.breakerState() == "closed" })
	r.clock.Advance(10 * time.Minute) // every retry is due
	eventually(t, "every record is delivered", func() bool { return r.sys.Stats().Delivered == 10 })
	opened := r.sys.Breakers(context.Background())[0].Opened
	if opened != 2 {
		t.Fatalf("opened %d times, want 2", opened)
	}
}
