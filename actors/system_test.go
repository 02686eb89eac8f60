package actors

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
)

// webhookPolicy is a KumoMTA-style webhook policy. The webhook's status drives the outcome:
// 200 delivers, 421 rejects with 421, 599 raises a plain error, other 5xx reject 400, anything
// else rejects 500. kumo.test_event records constructor and close calls.
const webhookPolicy = `
kumo.on('init', function()
	kumo.configure_log_hook { name = 'wh', meta = { 'tenant' }, back_pressure = BACKPRESSURE }
end)
kumo.on('should_enqueue_log_record', function(msg, hook)
	local r = msg:get_meta('log_record')
	if r.type == 'Reception' then return false end
	if r.type == 'Bounce' then error('bounces are not wanted here') end
	if r.type == 'Feedback' then kumo.test_gate() end
	msg:set_meta('queue', 'webhook')
	return true
end)
kumo.on('get_queue_config', function(domain)
	if domain == 'webhook' then
		return kumo.make_queue_config { retry_interval = '1m', max_retry_interval = '20m', max_age = MAXAGE,
			protocol = { custom_lua = { constructor = 'make.webhook' } } }
	end
end)
kumo.on('get_egress_path_config', function()
	return kumo.make_egress_path { connection_limit = LIMIT, max_deliveries_per_connection = MAXDEL }
end)
kumo.on('make.webhook', function()
	kumo.test_event('connect')
	local client = kumo.http.build_client {}
	return {
		send = function(self, msg)
			local resp = client:post('WEBHOOK'):header('Content-Type', 'application/json'):body(msg:get_data()):send()
			local code = resp:status_code()
			if code == 200 then return 'ok' end
			if code == 421 then kumo.reject(421, 'closing') end
			if code == 599 then error('plain error') end
			if code >= 500 then kumo.reject(400, 'retry ' .. code) end
			kumo.reject(500, 'bounce ' .. code)
		end,
		close = function() kumo.test_event('close'); client:close() end,
	}
end)
`

func policy(maxAge string, limit, maxDel, backPressure int) string {
	r := strings.NewReplacer("MAXAGE", "'"+maxAge+"'", "LIMIT", itoa(limit), "MAXDEL", itoa(maxDel),
		"BACKPRESSURE", itoa(backPressure))
	return r.Replace(webhookPolicy)
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestDelivery(t *testing.T) {
	t.Run("a kept record is posted once and leaves the spool", func(t *testing.T) {
		wh := newWebhook(t)
		r := startRig(t, policy("7d", 32, 1024, 1000), wh.URL)
		rec := record(message.Delivery, 1)
		rec.Meta["tenant"] = []byte(`"acme"`)
		rec.Meta["secret"] = []byte(`"x"`)
		r.log(t, rec)
		wh.waitRequests(t, 1)
		eventually(t, "the message is delivered", func() bool { return r.spool.Len() == 0 && r.sys.Stats().Delivered == 1 })
		got := wh.received()
		if len(got) != 1 || got[0]["type"] != "Delivery" || got[0]["id"] != rec.ID {
			t.Fatalf("received %v", got)
		}
		meta, _ := got[0]["meta"].(map[string]any)
		if len(meta) != 1 || meta["tenant"] != "acme" {
			t.Fatalf("captured meta %v, want only tenant", meta)
		}
	})
	t.Run("transient failures are retried on the backoff schedule until the webhook takes the record", func(t *testing.T) {
		wh := newWebhook(t, 503, 503, 200)
		r := startRig(t, policy("7d", 32, 1024, 1000), wh.URL)
		r.log(t, record(message.Delivery, 1))
		wh.waitRequests(t, 1)
		eventually(t, "the first retry is scheduled", func() bool { return r.spool.Len() == 1 && r.entry(t).Attempts == 1 })
		if due := r.entry(t).Due; !due.Equal(t0.Add(time.Minute)) {
			t.Fatalf("first retry due at %v, want +1m", due.Sub(t0))
		}
		r.clock.Advance(59 * time.Second)
		if r.entry(t).Attempts != 1 {
			t.Fatal("retried before its due time")
		}
		r.clock.Advance(time.Second)
		wh.waitRequests(t, 1)
		eventually(t, "the second retry is scheduled", func() bool { return r.entry(t).Attempts == 2 })
		if due := r.entry(t).Due; !due.Equal(t0.Add(3 * time.Minute)) {
			t.Fatalf("second retry due at %v, want +3m (1m, then 2m)", due.Sub(t0))
		}
		r.clock.Advance(2 * time.Minute)
		wh.waitRequests(t, 1)
		eventually(t, "the message is delivered", func() bool { return r.spool.Len() == 0 })
		if st := r.sys.Stats(); st.Delivered != 1 || st.Transient != 2 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("a 404 the policy rejects with 500 bounces at once, without retries", func(t *testing.T) {
		wh := newWebhook(t, 404)
		r := startRig(t, policy("7d", 32, 1024, 1000), wh.URL)
		r.log(t, record(message.Delivery, 1))
		wh.waitRequests(t, 1)
		eventually(t, "the message bounces", func() bool { return r.spool.Len() == 0 && r.sys.Stats().Bounced == 1 })
	})
	t.Run("a record about a hook's own message never reaches a hook", func(t *testing.T) {
		wh := newWebhook(t)
		r := startRig(t, policy("7d", 32, 1024, 1000), wh.URL)
		rec := record(message.Delivery, 1)
		lr := "LogRecord"
		rec.ReceptionProtocol = &lr
		r.log(t, rec)
		if st := r.sys.Stats(); st.Received != 0 || st.Kept != 0 || r.spool.Len() != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("an error in should_enqueue_log_record drops the record and is counted", func(t *testing.T) {
		wh := newWebhook(t)
		r := startRig(t, policy("7d", 32, 1024, 1000), wh.URL)
		r.log(t, record(message.Bounce, 1))
		if st := r.sys.Stats(); st.HookErrors != 1 || st.Enqueued != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestSessions(t *testing.T) {
	cases := []struct {
		name     string
		statuses []int
		connects int // constructor calls once both records are delivered
	}{
		{"reject 421 closes the connection, so the next record opens a new one", []int{421, 200}, 2},
		{"a plain error closes the connection too", []int{599, 200}, 2},
		{"a transient reject 400 keeps the connection", []int{503, 200}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wh := newWebhook(t, tc.statuses...)
			r := startRig(t, policy("7d", 1, 1024, 1000), wh.URL)
			r.log(t, record(message.Delivery, 1))
			wh.waitRequests(t, 1)
			eventually(t, "the failure is scheduled for retry", func() bool { return r.sys.Stats().Transient == 1 })
			r.log(t, record(message.TransientFailure, 2))
			wh.waitRequests(t, 1)
			eventually(t, "the second record is delivered", func() bool { return r.sys.Stats().Delivered == 1 })
			if n := r.events.count("connect"); n != tc.connects {
				t.Fatalf("constructor called %d times, want %d", n, tc.connects)
			}
			wantClose := tc.connects - 1
			if n := r.events.count("close"); n != wantClose {
				t.Fatalf("close called %d times, want %d", n, wantClose)
			}
		})
	}
	t.Run("a session closes after max_deliveries_per_connection", func(t *testing.T) {
		wh := newWebhook(t)
		r := startRig(t, policy("7d", 1, 2, 1000), wh.URL)
		r.log(t, record(message.Delivery, 1), record(message.Delivery, 2), record(message.Delivery, 3))
		wh.waitRequests(t, 3)
		eventually(t, "all three are delivered", func() bool { return r.sys.Stats().Delivered == 3 })
		if c, cl := r.events.count("connect"), r.events.count("close"); c != 2 || cl != 1 {
			t.Fatalf("connects %d closes %d, want 2 and 1", c, cl)
		}
	})
	t.Run("an idle session closes after idle_timeout", func(t *testing.T) {
		wh := newWebhook(t)
		r := startRig(t, policy("7d", 1, 1024, 1000), wh.URL)
		r.log(t, record(message.Delivery, 1))
		wh.waitRequests(t, 1)
		eventually(t, "delivered", func() bool { return r.sys.Stats().Delivered == 1 })
		eventually(t, "the session is idle", func() bool { return r.clock.Pending() >= 2 })
		r.clock.Advance(4 * time.Second)
		if r.events.count("close") != 0 {
			t.Fatal("closed before the idle timeout")
		}
		r.clock.Advance(time.Second)
		eventually(t, "the session closes", func() bool { return r.events.count("close") == 1 && r.sys.Stats().Sessions == 0 })
	})
	t.Run("connection_limit bounds concurrent sessions", func(t *testing.T) {
		wh := newWebhook(t)
		wh.holdRequests()
		r := startRig(t, policy("7d", 2, 1024, 1000), wh.URL)
		var recs []*message.LogRecord
		for i := 0; i < 40; i++ { // KumoMTA's ideal count reaches 2 of 2 from 31 ready messages
			recs = append(recs, record(message.Delivery, i))
		}
		r.log(t, recs...)
		eventually(t, "two requests are in flight", func() bool {
			wh.mu.Lock()
			defer wh.mu.Unlock()
			return wh.inflight == 2
		})
		wh.release()
		wh.waitRequests(t, 40)
		eventually(t, "all delivered", func() bool { return r.sys.Stats().Delivered == 40 })
		if wh.maxSeen != 2 {
			t.Fatalf("%d concurrent requests, limit 2", wh.maxSeen)
		}
	})
}

func TestBackPressure(t *testing.T) {
	wh := newWebhook(t)
	r := startRig(t, policy("7d", 32, 1024, 1), wh.URL)
	held := make(chan error, 1)
	go func() {
		evs := []Record{ExternalRecord(*record(message.Feedback, 1))}
		held <- r.sys.Log(context.Background(), evs)
	}()
	eventually(t, "the hook holds the first record", func() bool { return r.events.count("gate") == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := r.sys.Log(ctx, []Record{ExternalRecord(*record(message.Delivery, 2))})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "back_pressure 1") {
		t.Fatalf("second Log on a full hook: %v", err)
	}
	r.openGate()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	r.log(t, record(message.Delivery, 3))
	wh.waitRequests(t, 2)
}

func TestRecovery(t *testing.T) {
	t.Run("spooled messages are delivered after a restart with their attempts and due time", func(t *testing.T) {
		wh := newWebhook(t)
		spool := persistence.NewMemory()
		rec := record(message.Delivery, 1)
		body := append(rec.AppendJSON(nil), '\n')
		m, _ := message.NewHookMessage(rec, message.NewIDGen([6]byte{3}).New(t0.Add(-time.Hour)), body)
		m.Meta.SetString("queue", "webhook")
		meta, _ := persistence.EncodeMeta(m)
		spool.Put(&persistence.Entry{ID: m.ID, Queue: "webhook", Attempts: 3, Due: t0.Add(30 * time.Second), Meta: meta, Body: body}, nil)
		r := startRig(t, policy("7d", 32, 1024, 1000), wh.URL, func(o *Options) { o.Spool = spool })
		r.spool = spool
		eventually(t, "the queue has the message", func() bool { return r.sys.Stats().Queued == 1 })
		r.clock.Advance(29 * time.Second)
		if r.sys.Stats().Delivered != 0 {
			t.Fatal("delivered before its due time")
		}
		r.clock.Advance(time.Second)
		wh.waitRequests(t, 1)
		eventually(t, "delivered", func() bool { return spool.Len() == 0 })
	})
}

func TestSpawnRefusesDuplicates(t *testing.T) {
	wh := newWebhook(t)
	r := startRig(t, policy("7d", 32, 1024, 1000), wh.URL)
	l, err := r.sys.loop("test", "one", &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.stop()
	if _, err := r.sys.loop("test", "one", &recorder{}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second spawn: %v", err)
	}
}
