package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/message"
)

// slowPolicy routes each record to the queue its id names ("slow/1" to the queue slow), and its
// get_queue_config takes two seconds for the queue slow.
const slowPolicy = `
local kumo = require 'kumo'
kumo.on('init', function() kumo.configure_log_hook { name = 'webhook' } end)
kumo.on('should_enqueue_log_record', function(msg)
  local id = msg:get_meta('log_record').id
  msg:set_meta('queue', string.match(id, '^[^/]+'))
  return true
end)
kumo.on('get_queue_config', function(domain)
  if domain == 'slow' then kumo.pause(2) end
  return kumo.make_queue_config { protocol = { custom_lua = { constructor = 'make.webhook' } } }
end)
kumo.on('make.webhook', function()
  local client = kumo.http.build_client {}
  return {
    send = function(self, msg)
      local id = msg:get_meta('log_record').id
      local response = client:post('{{URL}}/' .. id):body(msg:get_data()):send()
      if not response:status_is_success() then
        kumo.reject(400, 'status ' .. response:status_code())
      end
      return 'ok'
    end,
  }
end)
`

// TestSlowQueueConfig: while get_queue_config takes two seconds for one queue, the other queues are
// configured and deliver as usual (the 99th percentile of their Log-to-POST latency stays under
// 50 ms), and the slow queue's messages are delivered once its answer comes.
func TestSlowQueueConfig(t *testing.T) {
	var mu sync.Mutex
	arrived := map[string]time.Time{}
	got := make(chan string, 1024)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		id := strings.TrimPrefix(r.URL.Path, "/")
		mu.Lock()
		arrived[id] = time.Now()
		mu.Unlock()
		got <- id
	}))
	defer srv.Close()
	pauses := make(chan time.Duration, 4)
	pause := func(args ...any) (any, error) {
		secs, _ := args[0].(int64)
		d := time.Duration(secs) * time.Second
		pauses <- d
		time.Sleep(d)
		return nil, nil
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := New(Config{PolicySource: []byte(strings.ReplaceAll(slowPolicy, "{{URL}}", srv.URL)),
		InMemory: true, Logger: quiet, Functions: map[string]Func{"pause": pause}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Stop(ctx)
	logID := func(id string) time.Time {
		t.Helper()
		at := time.Now()
		rec := &message.LogRecord{Type: message.Delivery, ID: id, Sender: "a@b.c", Recipient: message.Recipients{"d@e.f"}}
		if err := e.Log(ctx, rec); err != nil {
			t.Fatal(err)
		}
		return at
	}

	slowAt := logID("slow/1")
	select {
	case <-pauses: // the slow configuration is under way
	case <-time.After(10 * time.Second):
		t.Fatal("get_queue_config for the slow queue never ran")
	}
	sent := map[string]time.Time{}
	var fast []string
	for i := 0; time.Since(slowAt) < 1800*time.Millisecond; i++ {
		id := fmt.Sprintf("fast%d/%d", i%3, i)
		sent[id] = logID(id)
		fast = append(fast, id)
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s not delivered while the slow queue configures", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	_, slowEarly := arrived["slow/1"]
	lat := make([]time.Duration, 0, len(fast))
	for _, id := range fast {
		lat = append(lat, arrived[id].Sub(sent[id]))
	}
	mu.Unlock()
	if slowEarly {
		t.Fatal("the slow queue delivered before its configuration was answered")
	}
	slices.Sort(lat)
	p99 := lat[(len(lat)*99)/100]
	t.Logf("%d records to other queues while one configured: p50 %v, p99 %v, max %v", len(lat), lat[len(lat)/2], p99, lat[len(lat)-1])
	if len(lat) < 50 || p99 >= 50*time.Millisecond {
		t.Errorf("other queues: %d records, p99 %v; want >= 50 records and p99 < 50ms", len(lat), p99)
	}
	if qs := e.Queues(ctx); !slices.ContainsFunc(qs, func(q QueueStats) bool { return q.Name == "slow" && q.Configuring }) {
		t.Errorf("the slow queue does not say it is configuring: %+v", qs)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case id := <-got:
			if id == "slow/1" {
				mu.Lock()
				took := arrived[id].Sub(slowAt)
				mu.Unlock()
				if took < 2*time.Second {
					t.Fatalf("the slow queue's message arrived %v after Log, before its configuration could", took)
				}
				return
			}
		case <-deadline:
			t.Fatal("the slow queue's message was never delivered")
		}
	}
}
