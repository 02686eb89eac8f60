package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence/segment"
)

// fullFS is the operating system's file system, except that while full is set every write stops
// halfway with ENOSPC, as a disk that fills in the middle of a frame does.
type fullFS struct {
	segment.FS
	full atomic.Bool
}

func (f *fullFS) OpenFile(name string, flag int, perm os.FileMode) (segment.File, error) {
	file, err := f.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &fullFile{File: file, fs: f}, nil
}

type fullFile struct {
	segment.File
	fs *fullFS
}

func (f *fullFile) WriteAt(p []byte, off int64) (int, error) {
	if !f.fs.full.Load() {
		return f.File.WriteAt(p, off)
	}
	n, _ := f.File.WriteAt(p[:len(p)/2], off)
	return n, &os.PathError{Op: "write", Path: "segment", Err: syscall.ENOSPC}
}

func (f *fullFile) Write(p []byte) (int, error) {
	if f.fs.full.Load() {
		return 0, &os.PathError{Op: "write", Path: "segment", Err: syscall.ENOSPC}
	}
	return f.File.Write(p)
}

// idReceiver is a webhook that notes the id of every record it is posted.
type idReceiver struct {
	*httptest.Server
	mu  sync.Mutex
	ids map[string]int
}

func newIDReceiver(t *testing.T) *idReceiver {
	r := &idReceiver{ids: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var rec struct{ ID string }
		body, _ := io.ReadAll(req.Body)
		if err := json.Unmarshal(body, &rec); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		r.mu.Lock()
		r.ids[rec.ID]++
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *idReceiver) got(id string) bool { return r.count(id) > 0 }

func (r *idReceiver) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ids[id]
}

// twoHooks keeps every record in two log hooks, each with its queue: a Log call writes two spool
// groups, and one may be durable while the other fails.
const twoHooks = `
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.configure_log_hook { name = 'a' }
  kumo.configure_log_hook { name = 'b' }
end)
kumo.on('should_enqueue_log_record', function(msg, hook)
  msg:set_meta('queue', hook)
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

// TestFullDiskRefusalIsTrue: while the spool's disk fills in the middle of writes, every Log call
// answered with an error leaves nothing that is ever delivered — not once space is back, not after
// a restart on the same spool — and every call answered nil is delivered.
func TestFullDiskRefusalIsTrue(t *testing.T) {
	rcv := newIDReceiver(t)
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	src := []byte(strings.ReplaceAll(twoHooks, "{{URL}}", rcv.URL))
	fs := &fullFS{FS: segment.OS}
	st, err := segment.Open(segment.Options{Dir: dir, FS: fs, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{PolicySource: src, Logger: quiet, spool: st})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var acked, refused []string
	var calls atomic.Int64
	const producers, perProducer, perCall = 6, 60, 3
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for c := range perProducer {
				switch calls.Add(1) {
				case producers * perProducer / 3:
					fs.full.Store(true)
				case 2 * producers * perProducer / 3:
					fs.full.Store(false)
				}
				var recs []*message.LogRecord
				var ids []string
				for r := range perCall {
					id := fmt.Sprintf("p%d-c%d-r%d", p, c, r)
					ids = append(ids, id)
					recs = append(recs, &message.LogRecord{Type: message.Delivery, ID: id, Sender: "a@b.c",
						Recipient: message.Recipients{"d@e.f"}})
				}
				err := e.Log(ctx, recs...)
				mu.Lock()
				if err == nil {
					acked = append(acked, ids...)
				} else {
					refused = append(refused, ids...)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(refused) == 0 || len(acked) == 0 {
		t.Fatalf("%d records acknowledged, %d refused: the full disk was not hit", len(acked), len(refused))
	}
	t.Logf("%d records acknowledged, %d refused while the disk was full", len(acked), len(refused))
	waitDelivered := func(ids []string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for _, id := range ids {
			for rcv.count(id) < 2 { // once per hook
				if time.Now().After(deadline) {
					t.Fatalf("acknowledged record %s was never delivered", id)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	waitDelivered(acked)
	// Let anything that should not be there have its chance: the queue empties, then a moment.
	for deadline := time.Now().Add(10 * time.Second); e.Stats().Queued > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range refused {
		if rcv.got(id) {
			t.Errorf("record %s of a refused call was delivered", id)
		}
	}

	// After a restart on the same spool, nothing of a refused call comes back either.
	e2, err := New(Config{PolicySource: src, Logger: quiet, SpoolDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := e2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); e2.Stats().Queued > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if err := e2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range refused {
		if rcv.got(id) {
			t.Errorf("record %s of a refused call was delivered after the restart", id)
		}
	}
}
