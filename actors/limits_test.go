package actors

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hookd/hookd/message"
)

// queuesPolicy puts each record in the queue its meta field "q" names; queues are reaped after 5m.
const queuesPolicy = `
kumo.on('init', function()
	kumo.configure_log_hook { name = 'wh', meta = { 'q' } }
end)
kumo.on('should_enqueue_log_record', function(msg, hook)
	msg:set_meta('queue', msg:get_meta('q'))
	return true
end)
kumo.on('get_queue_config', function(domain)
	return kumo.make_queue_config { reap_interval = '5m',
		protocol = { custom_lua = { constructor = 'make.webhook' } } }
end)
kumo.on('get_egress_path_config', function()
	return kumo.make_egress_path { connection_limit = 1 }
end)
kumo.on('make.webhook', function()
	local client = kumo.http.build_client {}
	return {
		send = function(self, msg)
			local resp = client:post('WEBHOOK'):body(msg:get_data()):send()
			if resp:status_code() ~= 200 then kumo.reject(400, 'retry') end
			return 'ok'
		end,
		close = function() client:close() end,
	}
end)
`

func queued(q string, n int) *message.LogRecord {
	rec := record(message.Delivery, n)
	rec.Meta["q"] = []byte(`"` + q + `"`)
	return rec
}

func logErr(r *rig, recs ...*message.LogRecord) error {
	evs := make([]Record, len(recs))
	for i, rec := range recs {
		evs[i] = ExternalRecord(*rec)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.sys.Log(ctx, evs)
}

func TestQueueReapedAfterReapInterval(t *testing.T) {
	wh := newWebhook(t)
	r := startRig(t, queuesPolicy, wh.URL)
	r.log(t, queued("alpha", 1))
	wh.waitRequests(t, 1)
	eventually(t, "the message is delivered", func() bool { return r.sys.Stats().Delivered == 1 })
	r.clock.Advance(10 * time.Second) // past the session's idle timeout
	eventually(t, "the session closes", func() bool { return r.sys.Stats().Sessions == 0 })
	r.clock.Advance(4 * time.Minute)
	if qs := r.sys.Queues(context.Background(), false); len(qs) != 1 || qs[0].Name != "alpha" {
		t.Fatalf("before its reap_interval the empty queue should still exist: %+v", qs)
	}
	r.clock.Advance(time.Minute)
	eventually(t, "the idle queue is reaped", func() bool { return r.sys.Stats().Queues == 0 })

	// The name comes back as a new queue that delivers.
	r.log(t, queued("alpha", 2))
	wh.waitRequests(t, 1)
	eventually(t, "the second message is delivered", func() bool { return r.sys.Stats().Delivered == 2 })
	if n := r.sys.Stats().Queues; n != 1 {
		t.Fatalf("queues = %d, want 1", n)
	}
}

func TestQueueWithMessagesIsNotReaped(t *testing.T) {
	wh := newWebhook(t, 503, 503, 503)
	r := startRig(t, queuesPolicy, wh.URL)
	r.log(t, queued("beta", 1))
	wh.waitRequests(t, 1)
	eventually(t, "the first attempt fails", func() bool { return r.sys.Stats().Transient == 1 })
	for i := 2; i <= 3; i++ { // far past reap_interval, with the message still waiting
		r.clock.Advance(2 * time.Hour)
		eventually(t, "a retry fails", func() bool { return r.sys.Stats().Transient >= uint64(i) })
	}
	if st := r.sys.Stats(); st.Queues != 1 || st.Queued != 1 {
		t.Fatalf("a queue holding a message was reaped or lost it: %+v", st)
	}
}

func TestMaxQueuesRefusesNewQueues(t *testing.T) {
	wh := newWebhook(t)
	r := startRig(t, queuesPolicy, wh.URL, func(o *Options) { o.Limits.MaxQueues = 2 })
	r.log(t, queued("a", 1), queued("b", 2))
	err := logErr(r, queued("c", 3))
	if !errors.Is(err, ErrTooManyQueues) {
		t.Fatalf("a third queue: err = %v, want ErrTooManyQueues", err)
	}
	r.log(t, queued("a", 4)) // existing queues still take messages
	wh.waitRequests(t, 3)
	eventually(t, "the accepted messages are delivered", func() bool { return r.sys.Stats().Delivered == 3 })
	if st := r.sys.Stats(); st.Queues != 2 || st.Enqueued != 3 {
		t.Fatalf("stats %+v: want 2 queues and 3 messages enqueued", st)
	}
}

func TestMaxQueuedRefusesWork(t *testing.T) {
	wh := newWebhook(t)
	wh.holdRequests()
	r := startRig(t, queuesPolicy, wh.URL, func(o *Options) { o.Limits.MaxQueued = 3 })
	r.log(t, queued("a", 1), queued("a", 2), queued("a", 3))
	err := logErr(r, queued("a", 4))
	if !errors.Is(err, ErrQueueFull) {
		t.Fatalf("past MaxQueued: err = %v, want ErrQueueFull", err)
	}
	wh.release()
	eventually(t, "the queue empties", func() bool { return r.sys.Stats().Delivered == 3 })
	r.log(t, queued("a", 5)) // room again
	eventually(t, "the new message is delivered", func() bool { return r.sys.Stats().Delivered == 4 })
}

func TestMaxSessionsBoundsConcurrentSessions(t *testing.T) {
	wh := newWebhook(t)
	wh.holdRequests()
	r := startRig(t, queuesPolicy, wh.URL, func(o *Options) { o.Limits.MaxSessions = 2 })
	r.log(t, queued("a", 1), queued("b", 2), queued("c", 3), queued("d", 4))
	eventually(t, "two sessions post and the others wait for a slot", func() bool {
		wh.mu.Lock()
		defer wh.mu.Unlock()
		return wh.inflight == 2 && r.sys.Stats().SessionWaits >= 2
	})
	wh.release()
	wh.waitRequests(t, 4)
	eventually(t, "every message is delivered", func() bool { return r.sys.Stats().Delivered == 4 })
	wh.mu.Lock()
	defer wh.mu.Unlock()
	if wh.maxSeen != 2 {
		t.Fatalf("at most %d requests were in flight, want exactly 2", wh.maxSeen)
	}
}
