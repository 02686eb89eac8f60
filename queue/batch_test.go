package queue

import (
	"testing"
	"time"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/throttle"
)

func batchConfig(size, minSize int, latency time.Duration) Config {
	c := webhookConfig()
	c.BatchSize, c.MinBatchSize, c.MaxBatchLatency = size, minSize, latency
	return c
}

func TestBatchAssembly(t *testing.T) {
	t.Run("fewer than min_batch_size wait for max_batch_latency, then go as they are", func(t *testing.T) {
		c := New(batchConfig(10, 5, 2*time.Second), half)
		for i := 1; i <= 3; i++ {
			expect(t, "insert", c.Insert(newItem(i, t0), t0), "")
		}
		at, ok := c.Wake()
		if !ok || !at.Equal(t0.Add(2*time.Second)) {
			t.Fatalf("wake %v %v, want +2s", at, ok)
		}
		expect(t, "before the latency", c.Tick(t0.Add(1999*time.Millisecond)), "")
		expect(t, "at the latency", c.Tick(t0.Add(2*time.Second)), "start s1 [1,2,3]")
	})
	t.Run("min_batch_size ready messages go at once", func(t *testing.T) {
		c := New(batchConfig(10, 5, time.Minute), half)
		for i := 1; i <= 4; i++ {
			c.Insert(newItem(i, t0), t0)
		}
		expect(t, "the fifth", c.Insert(newItem(5, t0), t0), "start s1 [1,2,3,4,5]")
	})
	t.Run("a batch takes at most batch_size and the rest waits for its own batch", func(t *testing.T) {
		cfg := batchConfig(4, 3, time.Minute)
		cfg.IdleTimeout = 2 * time.Minute
		c := New(cfg, half)
		for i := 1; i <= 6; i++ {
			c.Insert(Item{ID: newItem(i, t0).ID, Due: t0.Add(time.Second)}, t0)
		}
		expect(t, "six due", c.Tick(t0.Add(time.Second)), "start s1 [1,2,3,4]")
		expect(t, "two left wait", c.Tick(t0.Add(30*time.Second)), "")
		expect(t, "after the latency", c.Tick(t0.Add(61*time.Second)), "start s2 [5,6]")
	})
	t.Run("the wait is capped by the idle timeout", func(t *testing.T) {
		c := New(batchConfig(10, 5, time.Hour), half)
		c.Insert(newItem(1, t0), t0)
		if at, _ := c.Wake(); !at.Equal(t0.Add(5 * time.Second)) {
			t.Fatalf("wake %v, want the 5s idle timeout", at.Sub(t0))
		}
		expect(t, "idle timeout", c.Tick(t0.Add(5*time.Second)), "start s1 [1]")
	})
	t.Run("a failed batch gives each message its own retry time", func(t *testing.T) {
		r := []float64{0.0, 0.999}
		i := 0
		c := New(batchConfig(2, 2, time.Hour), func() float64 { v := r[i%2]; i++; return v })
		c.Insert(newItem(1, t0), t0)
		c.Insert(newItem(2, t0), t0)
		acts := c.Finished(1, nil, false, t0)
		a, b := acts[0].(Retry).Item.Due, acts[1].(Retry).Item.Due
		if a.Equal(b) {
			t.Fatalf("both retry at %v: batch-mates must drift apart", a.Sub(t0))
		}
	})
}

func TestGate(t *testing.T) {
	t.Run("paused, due messages wait without spending attempts", func(t *testing.T) {
		c := New(webhookConfig(), half)
		expect(t, "pause", c.SetGate(Paused, t0.Add(30*time.Second), t0), "")
		expect(t, "a due message is held", c.Insert(newItem(1, t0), t0), "")
		if at, _ := c.Wake(); !at.Equal(t0.Add(30 * time.Second)) {
			t.Fatalf("wake %v, want the end of the pause", at.Sub(t0))
		}
		s, r, f := c.Counts()
		if s != 0 || r != 1 || f != 0 {
			t.Fatalf("counts %d %d %d", s, r, f)
		}
		expect(t, "tick while paused", c.Tick(t0.Add(10*time.Second)), "")
		expect(t, "flowing again", c.SetGate(Flowing, time.Time{}, t0.Add(30*time.Second)), "start s1 [1]")
	})
	t.Run("a probe hands out exactly one batch", func(t *testing.T) {
		c := New(webhookConfig(), half)
		c.SetGate(Paused, t0.Add(time.Hour), t0)
		for i := 1; i <= 3; i++ {
			c.Insert(newItem(i, t0), t0)
		}
		expect(t, "probe", c.SetGate(Probe, time.Time{}, t0), "start s1 [1]")
		expect(t, "nothing more while probing", c.Tick(t0.Add(time.Second)), "")
		expect(t, "the probe succeeded", c.Finished(1, []Result{{newItem(1, t0).ID, Delivered}}, false, t0.Add(time.Second)), "forget 1")
		expect(t, "closed breaker: back to one session per ready message by the ideal count", c.SetGate(Flowing, time.Time{}, t0.Add(time.Second)), "deliver s1 [2]")
	})
	t.Run("a batch handed back returns to the front without an attempt", func(t *testing.T) {
		c := New(webhookConfig(), half)
		c.Insert(newItem(1, t0), t0)
		expect(t, "return", c.Return(1, t0.Add(time.Minute), t0), "")
		if c.Sessions() != 0 || c.Len() != 1 {
			t.Fatalf("sessions %d len %d", c.Sessions(), c.Len())
		}
		expect(t, "resume", c.SetGate(Flowing, time.Time{}, t0), "start s2 [1]")
	})
}

func TestThrottles(t *testing.T) {
	t.Run("the queue's max_message_rate delays messages without spending attempts", func(t *testing.T) {
		cfg := webhookConfig()
		cfg.MessageRate = throttle.Spec{Limit: 2, Period: time.Minute}
		cfg.IdleTimeout = time.Minute
		c := New(cfg, half)
		for i := 1; i <= 3; i++ {
			c.Insert(Item{ID: newItem(i, t0).ID, Due: t0.Add(time.Second)}, t0)
		}
		expect(t, "two pass, the third waits", c.Tick(t0.Add(time.Second)), "start s1 [1]; start s2 [2]")
		if c.Throttled() != 1 {
			t.Fatalf("throttled %d", c.Throttled())
		}
		at, _ := c.Wake()
		if !at.Equal(t0.Add(31 * time.Second)) {
			t.Fatalf("the throttled message is due again at +%v, want +31s (2/min: one every 30s)", at.Sub(t0))
		}
		c.Finished(1, []Result{{newItem(1, t0).ID, Delivered}}, false, t0.Add(2*time.Second))
		c.Finished(2, []Result{{newItem(2, t0).ID, Delivered}}, false, t0.Add(2*time.Second))
		expect(t, "not before its turn", c.Tick(t0.Add(30*time.Second)), "")
		expect(t, "its turn", c.Tick(t0.Add(31*time.Second)), "deliver s2 [3]")
		var attempts []uint16
		c.Items(func(it Item) { attempts = append(attempts, it.Attempts) })
		for _, a := range attempts {
			if a != 0 {
				t.Fatal("the throttle spent an attempt")
			}
		}
	})
	t.Run("the egress path's max_message_rate paces batches", func(t *testing.T) {
		cfg := batchConfig(2, 1, 0)
		cfg.PathRate = throttle.Spec{Limit: 2, Period: time.Second}
		c := New(cfg, half)
		for i := 1; i <= 6; i++ {
			c.Insert(Item{ID: newItem(i, t0).ID, Due: t0.Add(time.Second)}, t0)
		}
		expect(t, "one batch of two within the rate", c.Tick(t0.Add(time.Second)), "start s1 [1,2]")
		at, _ := c.Wake()
		if !at.Equal(t0.Add(2 * time.Second)) {
			t.Fatalf("next batch at +%v, want +2s", at.Sub(t0))
		}
		expect(t, "the next batch a second later", c.Tick(t0.Add(2*time.Second)), "start s2 [3,4]")
	})
}

func TestAdministrators(t *testing.T) {
	t.Run("a suspended queue fails due and ready messages transiently, with backoff", func(t *testing.T) {
		c := New(webhookConfig(), half)
		c.SetGate(Paused, t0.Add(time.Hour), t0) // hold the first message in the ready set
		c.Insert(newItem(1, t0), t0)
		c.Insert(Item{ID: newItem(2, t0).ID, Due: t0.Add(10 * time.Second)}, t0)
		c.SetGate(Flowing, time.Time{}, t0) // 1 starts a session
		c.Insert(newItem(3, t0), t0)        // 3 waits: one session is ideal for one ready message
		expect(t, "suspend", c.SetSuspended(true, t0), "undeliverable 3 attempts=0; retry 3 attempts=1 due=+1m0s")
		expect(t, "due while suspended", c.Tick(t0.Add(10*time.Second)), "undeliverable 2 attempts=0; retry 2 attempts=1 due=+1m10s")
		expect(t, "resumed: 3 is due, and waits for the busy session", c.SetSuspended(false, t0.Add(time.Minute)), "")
		expect(t, "the session takes it", c.Finished(1, []Result{{newItem(1, t0).ID, Delivered}}, false, t0.Add(time.Minute)),
			"forget 1; deliver s1 [3]")
	})
	t.Run("a bounced queue gives up everything not in flight", func(t *testing.T) {
		c := New(webhookConfig(), half)
		c.Insert(newItem(1, t0), t0)
		c.Insert(Item{ID: newItem(2, t0).ID, Due: t0.Add(time.Hour)}, t0)
		c.Insert(newItem(3, t0), t0)
		got := c.TakeWaiting()
		if len(got) != 2 || c.Len() != 1 {
			t.Fatalf("took %d, %d left; want 2 taken (scheduled and ready) and the one in flight left", len(got), c.Len())
		}
	})
}

// A session's results are matched to its batch by id, whatever their order, for short batches
// (scanned) and long ones (looked up); a message without a result failed transiently.
func TestFinishedMatchesResultsByID(t *testing.T) {
	for _, n := range []int{3, 40} {
		c := New(batchConfig(n, n, time.Hour), half)
		var items []Item
		for i := 1; i <= n; i++ {
			items = append(items, newItem(i, t0))
			c.Insert(items[i-1], t0)
		}
		// Reversed, without the first message, with a foreign id mixed in.
		var results []Result
		for i := n - 1; i >= 1; i-- {
			d := Delivered
			if i%2 == 0 {
				d = Bounced
			}
			results = append(results, Result{ID: items[i].ID, Disposition: d})
		}
		results = append(results, Result{ID: newItem(n+1, t0).ID, Disposition: Delivered})
		acts := c.Finished(1, results, false, t0)
		forgotten, retried := map[message.SpoolID]bool{}, map[message.SpoolID]bool{}
		for _, a := range acts {
			switch a := a.(type) {
			case Forget:
				forgotten[a.Item.ID] = true
			case Retry:
				retried[a.Item.ID] = true
			}
		}
		if len(forgotten) != n-1 || len(retried) != 1 || !retried[items[0].ID] {
			t.Fatalf("batch of %d: forgot %d, retried %v; want %d forgotten and the first retried",
				n, len(forgotten), retried, n-1)
		}
		for _, it := range items[1:] {
			if !forgotten[it.ID] {
				t.Fatalf("batch of %d: %v not forgotten", n, it.ID)
			}
		}
	}
}
