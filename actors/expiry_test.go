package actors

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/message"
)

// mailPolicy delivers injected mail through queue 'mail' (whose sender always fails transiently) or
// leaves queue 'smtp.example' on the default (SMTP) config, and posts every TransientFailure and
// Expiration record to the webhook through an 'audit' hook.
const mailPolicy = `
kumo.on('init', function()
	kumo.configure_log_hook { name = 'audit', per_record = { Any = { enable = false },
		TransientFailure = { enable = true }, Expiration = { enable = true } } }
end)
kumo.on('should_enqueue_log_record', function(msg, hook)
	msg:set_meta('queue', 'audit.webhook')
	return true
end)
kumo.on('get_queue_config', function(domain)
	if domain == 'mail' then
		return kumo.make_queue_config { retry_interval = '1m', max_age = '3m',
			protocol = { custom_lua = { constructor = 'make.mail' } } }
	end
	if domain == 'audit.webhook' then
		return kumo.make_queue_config { protocol = { custom_lua = { constructor = 'make.audit' } } }
	end
end)
kumo.on('make.mail', function()
	return { send = function() kumo.reject(451, 'mailbox busy') end }
end)
kumo.on('make.audit', function()
	local client = kumo.http.build_client {}
	return { send = function(self, msg)
		client:post('WEBHOOK'):body(msg:get_data()):send()
		return 'posted'
	end }
end)
`

func inject(t *testing.T, r *rig, queue string) *message.Message {
	t.Helper()
	rcpt, _ := message.ParseAddress("someone@example.org")
	sender, _ := message.ParseAddress("sender@example.com")
	m := &message.Message{ID: r.sys.opts.IDs.New(t0), Sender: sender, Recipients: []message.Address{rcpt},
		Meta: message.Meta{}, Body: []byte("Subject: hi\r\n\r\nhello\r\n")}
	m.Meta.SetString("queue", queue)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.sys.Inject(ctx, []*message.Message{m}, "192.0.2.1", false); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestExpiry(t *testing.T) {
	wh := newWebhook(t)
	r := startRig(t, mailPolicy, wh.URL)
	m := inject(t, r, "mail")
	// Attempts at +0, +1m and +3m fail; the next would be at +7m, past max_age = 3m.
	for i, advance := range []time.Duration{0, time.Minute, 2 * time.Minute} {
		r.clock.Advance(advance)
		wh.waitRequests(t, 1)
		eventually(t, "the failure is recorded", func() bool { return r.sys.Stats().Transient == uint64(i+1) })
	}
	wh.waitRequests(t, 1) // the Expiration record
	eventually(t, "the message has left the spool", func() bool { return r.sys.Stats().Expired == 1 && r.spool.Len() <= 1 })
	got := wh.received()
	if len(got) != 4 {
		t.Fatalf("webhook received %d records, want 3 TransientFailure and 1 Expiration", len(got))
	}
	// The audit queue may deliver with more than one session, so arrival order is not fixed.
	sort.Slice(got, func(i, j int) bool {
		if got[i]["type"] != got[j]["type"] {
			return got[i]["type"] == "TransientFailure"
		}
		return got[i]["num_attempts"].(float64) < got[j]["num_attempts"].(float64)
	})
	for i, rec := range got[:3] {
		resp := rec["response"].(map[string]any)
		if rec["type"] != "TransientFailure" || rec["num_attempts"] != float64(i) || resp["code"] != float64(451) ||
			rec["id"] != m.ID.String() || rec["delivery_protocol"] != "Lua" || rec["site"] != "unspecified->mail@lua:make.mail" {
			t.Fatalf("record %d: %v", i, rec)
		}
	}
	exp := got[3]
	resp := exp["response"].(map[string]any)
	want := "Next delivery time would be 7m after creation, which exceeds max_age=3m"
	if exp["type"] != "Expiration" || resp["code"] != float64(551) || resp["content"] != want || exp["site"] != "" ||
		exp["delivery_protocol"] != nil || exp["num_attempts"] != float64(3) {
		t.Fatalf("expiration record: %v", exp)
	}
	ec := resp["enhanced_code"].(map[string]any)
	if ec["class"] != float64(5) || ec["subject"] != float64(4) || ec["detail"] != float64(7) {
		t.Fatalf("enhanced code %v", ec)
	}
	if _, err := r.spool.Load(m.ID); err == nil {
		t.Fatal("the expired message is still in the spool")
	}
}

func TestQueueWithoutProtocol(t *testing.T) {
	wh := newWebhook(t)
	r := startRig(t, mailPolicy, wh.URL)
	m := inject(t, r, "smtp.example")
	wh.waitRequests(t, 1)
	got := wh.received()
	resp := got[0]["response"].(map[string]any)
	content, _ := resp["content"].(string)
	if got[0]["type"] != "TransientFailure" || !strings.Contains(content, "no deliverable protocol") ||
		!strings.Contains(content, "smtp.example") {
		t.Fatalf("record %v", got[0])
	}
	if e, err := r.spool.Load(m.ID); err != nil || e.Attempts != 1 || !e.Due.Equal(t0.Add(20*time.Minute)) {
		t.Fatalf("the message should wait for its retry in 20m: %+v %v", e, err)
	}
}

func TestConfigRefresh(t *testing.T) {
	wh := newWebhook(t)
	src := strings.Replace(mailPolicy, "if domain == 'mail' then", "kumo.test_event('config:' .. domain)\n\tif domain == 'mail' then", 1)
	src = strings.Replace(src, "retry_interval = '1m', max_age = '3m',", "retry_interval = '1m', max_age = '3m', refresh_interval = '10m',", 1)
	r := startRig(t, src, wh.URL)
	inject(t, r, "mail")
	eventually(t, "the queue resolved its config", func() bool {
		qs := r.sys.Queues(context.Background(), false)
		for _, q := range qs {
			if q.Name == "mail" {
				return r.events.count("config:mail") == 1 && !q.Configuring
			}
		}
		return false
	})
	r.clock.Advance(9 * time.Minute)
	if n := r.events.count("config:mail"); n != 1 {
		t.Fatalf("get_queue_config ran %d times before refresh_interval", n)
	}
	r.clock.Advance(time.Minute)
	eventually(t, "the config is refreshed after refresh_interval", func() bool { return r.events.count("config:mail") == 2 })
}
