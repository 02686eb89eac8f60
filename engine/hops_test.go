package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/actors"
	"github.com/hookd/hookd/message"
)

// hopPolicy keeps every record for one webhook queue, delivered one POST per record.
const hopPolicy = `
local kumo = require 'kumo'
kumo.on('init', function() kumo.configure_log_hook { name = 'webhook' } end)
kumo.on('should_enqueue_log_record', function(msg)
  msg:set_meta('queue', 'webhook')
  return true
end)
kumo.on('get_queue_config', function()
  return kumo.make_queue_config { protocol = { custom_lua = { constructor = 'make.webhook' } } }
end)
kumo.on('make.webhook', function()
  local client = kumo.http.build_client {}
  return {
    send = function(self, msg)
      local response = client:post('{{URL}}'):body(msg:get_data()):send()
      if not response:status_is_success() then
        kumo.reject(400, 'status ' .. response:status_code())
      end
      return 'ok'
    end,
  }
end)
`

// TestHopsPerRecord counts the goroutines a record runs on between Engine.Log and the call that makes
// its POST, in the common case: a fresh message, its queue configured and its connection open and
// idle, the spool idle. The path is Log (the caller) → hook → the spool's syncer, which commits the
// request and hands the insert to the queue → queue → session: four hand-offs. Each is a real
// goroutine change: the test fails if a stage is added, or two stages that should share a goroutine
// stop sharing it.
func TestHopsPerRecord(t *testing.T) {
	arrived := make(chan struct{}, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		arrived <- struct{}{}
	}))
	defer srv.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := New(Config{PolicySource: []byte(strings.ReplaceAll(hopPolicy, "{{URL}}", srv.URL)),
		SpoolDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Stop(ctx)

	var mu sync.Mutex
	var hops []actors.Hop
	logOne := func(i int) {
		t.Helper()
		rec := &message.LogRecord{Type: message.Delivery, ID: fmt.Sprint(i), Sender: "a@b.c", Recipient: message.Recipients{"d@e.f"}}
		if err := e.Log(ctx, rec); err != nil {
			t.Fatal(err)
		}
		select {
		case <-arrived: // the session counts the delivery once it has the answer
			for deadline := time.Now().Add(10 * time.Second); e.Stats().Delivered < uint64(i); {
				if time.Now().After(deadline) {
					t.Fatalf("record %d arrived but is not counted delivered: %+v", i, e.Stats())
				}
				time.Sleep(time.Millisecond)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("record %d never arrived: %+v %+v", i, e.Queues(ctx), e.Stats())
		}
		// Wait for the spool to be idle again: the delivered message's delete written and synced.
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, _ := e.SpoolStats()
			if st.Entries == uint64(2*i) && st.Syncs >= st.Frames {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("spool never settled: %+v", st)
			}
			time.Sleep(time.Millisecond)
		}
	}
	logOne(1) // configures the queue and opens the connection

	const n = 10
	before, _ := e.SpoolStats()
	stop := actors.TraceHops(func(h actors.Hop) {
		mu.Lock()
		hops = append(hops, h)
		mu.Unlock()
	})
	for i := 2; i < 2+n; i++ {
		logOne(i)
	}
	stop()
	after, _ := e.SpoolStats()
	if got := after.CallerFrames - before.CallerFrames; got != n {
		t.Fatalf("%d of %d records were written on the hook's goroutine; the others took the writer's", got, n)
	}

	mu.Lock()
	defer mu.Unlock()
	stages := []string{actors.HopLog, actors.HopHook, actors.HopDurable, actors.HopQueue, actors.HopSend}
	if len(hops) != n*len(stages) {
		t.Fatalf("%d hops traced for %d records: %v", len(hops), n, hops)
	}
	for r := range n {
		path := hops[r*len(stages) : (r+1)*len(stages)]
		handoffs := 0
		for i, h := range path {
			if h.Stage != stages[i] {
				t.Fatalf("record %d: stage %d is %q, want %q (path %v)", r, i, h.Stage, stages[i], path)
			}
			if i > 0 && h.Goroutine != path[i-1].Goroutine {
				handoffs++
			}
		}
		if r == 0 {
			t.Logf("path %v", path)
		}
		if handoffs != 4 {
			t.Errorf("record %d crossed %d goroutine boundaries, want 4: %v", r, handoffs, path)
		}
	}
}
