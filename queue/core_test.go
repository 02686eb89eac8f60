package queue

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/message"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func half() float64 { return 0.5 }

func webhookConfig() Config {
	c := DefaultConfig()
	c.RetryInterval, c.MaxRetryInterval, c.Deliverable = time.Minute, 20*time.Minute, true
	return c
}

var ids = map[string]message.SpoolID{}

// newItem is message n, created at created: a real v1 spool id carrying that time, with n in its
// node bytes; the same n and time always give the same id.
func newItem(n int, created time.Time) Item {
	key := fmt.Sprint(n, created.UnixNano())
	id, ok := ids[key]
	if !ok {
		id = message.NewIDGen([6]byte{0, 0, 0, 0, byte(n >> 8), byte(n)}).New(created)
		ids[key] = id
	}
	return Item{ID: id}
}

// describe renders actions compactly so a test can compare whole transcripts.
func describe(acts []Action) string {
	var b strings.Builder
	for _, a := range acts {
		switch a := a.(type) {
		case Start:
			fmt.Fprintf(&b, "start s%d %s; ", a.Session, idList(a.Batch))
		case Deliver:
			fmt.Fprintf(&b, "deliver s%d %s; ", a.Session, idList(a.Batch))
		case Close:
			fmt.Fprintf(&b, "close s%d (%s); ", a.Session, a.Reason)
		case Retry:
			fmt.Fprintf(&b, "retry %d attempts=%d due=+%v; ", num(a.Item), a.Item.Attempts, a.Item.Due.Sub(t0))
		case Expire:
			fmt.Fprintf(&b, "expire %d; ", num(a.Item))
		case Forget:
			fmt.Fprintf(&b, "forget %d; ", num(a.Item))
		case Undeliverable:
			fmt.Fprintf(&b, "undeliverable %d attempts=%d; ", num(a.Item), a.Attempts)
		}
	}
	return strings.TrimSuffix(b.String(), "; ")
}

// insertDue queues messages 1..n due at `at` and ticks there, opening one session per message
// (the ideal count for n <= 2).
func insertDue(c *Core, n int, at time.Time) {
	for i := 1; i <= n; i++ {
		c.Insert(Item{ID: newItem(i, at).ID, Due: at.Add(time.Millisecond)}, at)
	}
	c.Tick(at.Add(time.Millisecond))
}

func num(it Item) int { return int(it.ID[14])<<8 | int(it.ID[15]) }

func idList(items []Item) string {
	s := make([]string, len(items))
	for i, it := range items {
		s[i] = fmt.Sprint(num(it))
	}
	return "[" + strings.Join(s, ",") + "]"
}

func expect(t *testing.T, what string, acts []Action, want string) {
	t.Helper()
	if got := describe(acts); got != want {
		t.Fatalf("%s:\n got: %s\nwant: %s", what, got, want)
	}
}

func TestCoreSessions(t *testing.T) {
	t.Run("a due message starts a session that then idles out", func(t *testing.T) {
		c := New(webhookConfig(), half)
		expect(t, "insert", c.Insert(newItem(1, t0), t0), "start s1 [1]")
		expect(t, "a second message waits for the busy session: one session is ideal for one ready message",
			c.Insert(newItem(2, t0), t0), "")
		expect(t, "the session takes it when done", c.Finished(1, []Result{{newItem(1, t0).ID, Delivered}}, false, t0),
			"forget 1; deliver s1 [2]")
		expect(t, "finish", c.Finished(1, []Result{{newItem(2, t0).ID, Delivered}}, false, t0.Add(time.Second)), "forget 2")
		at, ok := c.Wake()
		if !ok || !at.Equal(t0.Add(6*time.Second)) {
			t.Fatalf("wake %v %v, want idle deadline at +6s", at, ok)
		}
		expect(t, "before the idle timeout", c.Tick(t0.Add(5*time.Second)), "")
		expect(t, "at the idle timeout", c.Tick(t0.Add(6*time.Second)), "close s1 (idle timeout)")
		if c.Sessions() != 0 || c.Len() != 0 {
			t.Fatalf("sessions=%d len=%d", c.Sessions(), c.Len())
		}
	})
	t.Run("ten ready messages open the ideal number of sessions, seven", func(t *testing.T) {
		c := New(webhookConfig(), half)
		for i := 1; i <= 10; i++ {
			c.Insert(Item{ID: newItem(i, t0).ID, Due: t0.Add(time.Minute)}, t0)
		}
		expect(t, "tick", c.Tick(t0.Add(time.Minute)),
			"start s1 [1]; start s2 [2]; start s3 [3]; start s4 [4]; start s5 [5]; start s6 [6]; start s7 [7]")
		expect(t, "s7 finishes and takes the next", c.Finished(7, []Result{{newItem(7, t0).ID, Delivered}}, false, t0.Add(time.Minute)),
			"forget 7; deliver s7 [8]")
	})
	t.Run("the most recently used idle session is reused first", func(t *testing.T) {
		c := New(webhookConfig(), half)
		insertDue(c, 2, t0)
		c.Finished(1, []Result{{newItem(1, t0).ID, Delivered}}, false, t0)
		c.Finished(2, []Result{{newItem(2, t0).ID, Delivered}}, false, t0.Add(time.Second))
		expect(t, "new work", c.Insert(newItem(3, t0), t0.Add(2*time.Second)), "deliver s2 [3]")
		expect(t, "s1 idles out alone", c.Tick(t0.Add(5*time.Second)), "close s1 (idle timeout)")
	})
	t.Run("a session closes after max_deliveries_per_connection messages", func(t *testing.T) {
		cfg := webhookConfig()
		cfg.MaxDeliveriesPerConnection = 2
		c := New(cfg, half)
		for i := 1; i <= 3; i++ {
			c.Insert(Item{ID: newItem(i, t0).ID, Due: t0.Add(time.Hour)}, t0)
		}
		c.Insert(newItem(9, t0), t0)
		c.Tick(t0.Add(time.Hour))
		// s1 has [9], s2 [1], s3 [2]; 3 waits.
		expect(t, "s1 finishes its first", c.Finished(1, []Result{{newItem(9, t0).ID, Delivered}}, false, t0.Add(time.Hour)), "forget 9; deliver s1 [3]")
		expect(t, "s1 finishes its second", c.Finished(1, []Result{{newItem(3, t0).ID, Delivered}}, false, t0.Add(time.Hour)),
			"forget 3; close s1 (max_deliveries_per_connection reached)")
	})
	t.Run("a session that closed itself is gone and new work starts a new one", func(t *testing.T) {
		c := New(webhookConfig(), half)
		c.Insert(newItem(1, t0), t0)
		expect(t, "421", c.Finished(1, []Result{{newItem(1, t0).ID, Transient}}, true, t0), "retry 1 attempts=1 due=+1m0s")
		if c.Sessions() != 0 {
			t.Fatalf("sessions=%d", c.Sessions())
		}
		expect(t, "retry due", c.Tick(t0.Add(time.Minute)), "start s2 [1]")
	})
	t.Run("messages missing from the results count as transient failures", func(t *testing.T) {
		cfg := webhookConfig()
		cfg.BatchSize = 3
		c := New(cfg, half)
		for i := 1; i <= 3; i++ {
			c.Insert(Item{ID: newItem(i, t0).ID, Due: t0.Add(time.Second)}, t0)
		}
		expect(t, "batch", c.Tick(t0.Add(time.Second)), "start s1 [1,2,3]")
		expect(t, "partial results", c.Finished(1, []Result{{newItem(2, t0).ID, Bounced}}, false, t0.Add(time.Second)),
			"retry 1 attempts=1 due=+1m1s; forget 2; retry 3 attempts=1 due=+1m1s")
	})
	t.Run("lowering connection_limit closes the idle sessions above it", func(t *testing.T) {
		c := New(webhookConfig(), half)
		insertDue(c, 3, t0)
		for i := 1; i <= 3; i++ {
			c.Finished(SessionID(i), []Result{{newItem(i, t0).ID, Delivered}}, false, t0)
		}
		cfg := webhookConfig()
		cfg.ConnectionLimit = 1
		expect(t, "refresh", c.SetConfig(cfg, t0), "close s1 (connection_limit lowered); close s2 (connection_limit lowered)")
	})
}

func TestCoreRetryAndExpiry(t *testing.T) {
	t.Run("transient failures follow the retry schedule until max_age", func(t *testing.T) {
		cfg := webhookConfig()
		cfg.MaxAge = time.Hour
		c := New(cfg, half)
		c.Insert(newItem(1, t0), t0)
		now := t0
		var got []string
		sid := SessionID(1)
		for i := 0; i < 10; i++ {
			acts := c.Finished(sid, []Result{{newItem(1, t0).ID, Transient}}, true, now)
			got = append(got, describe(acts))
			if _, ok := acts[0].(Expire); ok {
				break
			}
			at, _ := c.Wake()
			now = at
			acts = c.Tick(now)
			sid = acts[0].(Start).Session
		}
		want := []string{
			"retry 1 attempts=1 due=+1m0s",
			"retry 1 attempts=2 due=+3m0s",
			"retry 1 attempts=3 due=+7m0s",
			"retry 1 attempts=4 due=+15m0s",
			"retry 1 attempts=5 due=+31m0s",
			"retry 1 attempts=6 due=+51m0s",
			"expire 1", // 51m + 20m > 1h
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("schedule\n got %q\nwant %q", got, want)
		}
	})
	t.Run("the expiration text names the would-be age and max_age", func(t *testing.T) {
		cfg := webhookConfig()
		cfg.MaxAge = 10 * time.Minute
		c := New(cfg, half)
		created := t0.Add(-9*time.Minute - 30500*time.Millisecond)
		c.Insert(newItem(1, created), t0)
		acts := c.Finished(1, []Result{{newItem(1, t0).ID, Transient}}, false, t0)
		exp, ok := acts[0].(Expire)
		if !ok {
			t.Fatalf("got %s", describe(acts))
		}
		want := "Next delivery time would be 10m 30s 500ms after creation, which exceeds max_age=10m"
		if exp.Response != want {
			t.Fatalf("response %q\nwant %q", exp.Response, want)
		}
		if c.Len() != 0 {
			t.Fatal("expired message still queued")
		}
	})
	t.Run("exactly reaching max_age is not an expiry", func(t *testing.T) {
		cfg := webhookConfig()
		cfg.MaxAge = time.Minute
		c := New(cfg, half)
		c.Insert(newItem(1, t0), t0)
		expect(t, "fail", c.Finished(1, []Result{{newItem(1, t0).ID, Transient}}, false, t0), "retry 1 attempts=1 due=+1m0s")
	})
	t.Run("a queue without a deliverable protocol fails due messages transiently and never starts a session", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.MaxAge = 90 * time.Minute
		c := New(cfg, half)
		expect(t, "insert", c.Insert(newItem(1, t0), t0), "undeliverable 1 attempts=0; retry 1 attempts=1 due=+20m0s")
		expect(t, "second attempt", c.Tick(t0.Add(20*time.Minute)), "undeliverable 1 attempts=1; retry 1 attempts=2 due=+1h0m0s")
		expect(t, "third attempt expires", c.Tick(t0.Add(time.Hour)), "undeliverable 1 attempts=2; expire 1")
		if c.Sessions() != 0 {
			t.Fatal("sessions were started")
		}
	})
	t.Run("a zero retry interval still waits a second between attempts", func(t *testing.T) {
		cfg := webhookConfig()
		cfg.RetryInterval = 0
		c := New(cfg, half)
		c.Insert(newItem(1, t0), t0)
		expect(t, "fail", c.Finished(1, []Result{{newItem(1, t0).ID, Transient}}, true, t0), "retry 1 attempts=1 due=+1s")
	})
}

func TestCoreDrain(t *testing.T) {
	c := New(webhookConfig(), half)
	insertDue(c, 2, t0)
	c.Finished(2, []Result{{newItem(2, t0).ID, Delivered}}, false, t0)
	expect(t, "drain", c.Drain(t0), "close s2 (queue draining)")
	if c.Drained() {
		t.Fatal("drained with a busy session")
	}
	expect(t, "new work is kept but not handed out", c.Insert(newItem(3, t0), t0), "")
	expect(t, "busy session finishes", c.Finished(1, []Result{{newItem(1, t0).ID, Delivered}}, false, t0), "forget 1; close s1 (queue draining)")
	if !c.Drained() || c.Len() != 1 {
		t.Fatalf("drained=%v len=%d", c.Drained(), c.Len())
	}
	s, r, f := c.Counts()
	if s != 0 || r != 1 || f != 0 {
		t.Fatalf("counts %d %d %d", s, r, f)
	}
}
