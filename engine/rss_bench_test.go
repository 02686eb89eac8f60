package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/persistence/segment"
)

// deadWebhookPolicy queues every record for a webhook nobody listens on.
const deadWebhookPolicy = `
kumo.on('init', function() kumo.configure_log_hook { name = 'wh' } end)
kumo.on('should_enqueue_log_record', function(msg) msg:set_meta('queue', 'webhook'); return true end)
kumo.on('get_queue_config', function(domain)
	return kumo.make_queue_config { retry_interval = '1h', protocol = { custom_lua = { constructor = 'make.wh' } } }
end)
kumo.on('make.wh', function()
	local client = kumo.http.build_client {}
	return { send = function(self, msg) client:post('http://127.0.0.1:9/dead'):body(msg:get_data()):send(); return 'ok' end }
end)
`

// BenchmarkQueuedRSS measures the resident memory of an engine holding n messages queued behind a
// dead webhook (n from HOOKD_BENCH_QUEUED, default 100,000; the figure is for 1,000,000).
// The messages are written to the spool first, as a node that already failed once would have left
// them, and recovered by Start; the figure is the process's RSS once every queue holds them.
func BenchmarkQueuedRSS(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("HOOKD_BENCH_QUEUED")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	writeQueuedSpool(b, dir, n)
	runtime.GC()
	debug.FreeOSMemory()
	before := rssBytes(b)
	for b.Loop() {
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		eng, err := New(Config{PolicySource: []byte(deadWebhookPolicy), SpoolDir: dir, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := eng.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		for queued(eng) < n {
			time.Sleep(10 * time.Millisecond)
		}
		recovered := time.Since(start)
		runtime.GC()
		debug.FreeOSMemory()
		after := rssBytes(b)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(after)/(1<<20), "RSS-MiB")
		b.ReportMetric(float64(after-before)/float64(n), "RSS-B/msg")
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
		b.ReportMetric(recovered.Seconds(), "recover-s")
		if p := os.Getenv("HOOKD_BENCH_HEAPPROFILE"); p != "" {
			if f, err := os.Create(p); err == nil {
				_ = pprof.WriteHeapProfile(f)
				f.Close()
			}
		}
		if err := eng.Stop(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

func queued(e *Engine) int {
	total := 0
	for _, q := range e.Queues(context.Background()) {
		total += q.Scheduled + q.Ready + q.InFlight
	}
	return total
}

// writeQueuedSpool fills a spool with n webhook messages that failed once and wait an hour.
func writeQueuedSpool(b *testing.B, dir string, n int) {
	s, err := segment.Open(segment.Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	ids := message.NewIDGen(message.RandomNode())
	now := time.Now()
	for i := 0; i < n; i++ {
		rec := &message.LogRecord{Type: message.Delivery, ID: ids.New(now).String(), Sender: "news@acme.example",
			Recipient: message.Recipients{fmt.Sprintf("user%d@example.org", i)}, Queue: "acme@example.org",
			Response: message.Response{Code: 250, Content: "OK " + strconv.Itoa(i)}, Timestamp: now.Unix(), EventTime: now,
			BounceClassification: "Uncategorized", NodeID: "5b6c1f1e-4d2a-4c7e-9d7b-2f5e8c1a9b3d"}
		body := append(rec.AppendJSON(nil), '\n')
		m, err := message.NewHookMessage(rec, ids.New(now), body)
		if err != nil {
			b.Fatal(err)
		}
		m.Meta.SetString("queue", "webhook")
		meta, _ := persistence.EncodeMeta(m)
		s.Put(&persistence.Entry{ID: m.ID, Queue: "webhook", Attempts: 1, Due: now.Add(time.Hour), Meta: meta, Body: body}, nil)
		if i%10000 == 0 {
			s.Flush()
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
}

func rssBytes(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status here")
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	b.Skip("no VmRSS")
	return 0
}
