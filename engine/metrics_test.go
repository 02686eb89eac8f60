package engine

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd/message"
)

// TestSpoolMetrics delivers records through a durable spool and reads the spool's figures from
// /metrics: what was written, fsynced and read back to be delivered. A fresh message's first attempt
// uses the body the queue still holds; only its retry reads the spool, so the webhook refuses every
// first attempt.
func TestSpoolMetrics(t *testing.T) {
	const n = 5
	var got, calls atomic.Int64
	webhook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if calls.Add(1) <= n {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		got.Add(1)
	}))
	defer webhook.Close()
	policy := `
kumo.on('init', function() kumo.configure_log_hook { name = 'h' } end)
kumo.on('should_enqueue_log_record', function(msg)
  if msg:get_meta('log_record').reception_protocol == 'LogRecord' then return false end
  msg:set_meta('queue', 'webhook')
  return true
end)
kumo.on('get_queue_config', function(domain)
  if domain == 'webhook' then
    return kumo.make_queue_config { retry_interval = '1s', protocol = { custom_lua = { constructor = 'make.webhook' } } }
  end
end)
kumo.on('make.webhook', function()
  local client = kumo.http.build_client {}
  return { send = function(self, msg)
    local r = client:post('` + webhook.URL + `'):body(msg:get_data()):send()
    if not r:status_is_success() then kumo.reject(400, 'failed') end
    return 'delivered'
  end }
end)`
	e, err := New(Config{PolicySource: []byte(policy), SpoolDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer e.Stop(context.Background())
	for i := range n {
		rec := &message.LogRecord{Type: message.Delivery, Sender: "a@b.c", Recipient: message.Recipients{"d" + strconv.Itoa(i) + "@e.f"}}
		if err := e.Log(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(20 * time.Second); got.Load() < n || e.Stats().Queued > 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records delivered, stats %+v", got.Load(), n, e.Stats())
		}
	}
	rec := httptest.NewRecorder()
	e.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	values := map[string]float64{}
	for line := range strings.Lines(rec.Body.String()) {
		if name, v, ok := strings.Cut(strings.TrimSpace(line), " "); ok && strings.HasPrefix(name, "hookd_spool_") {
			values[name], _ = strconv.ParseFloat(v, 64)
		}
	}
	for name, min := range map[string]float64{"hookd_spool_frames_total": 1, "hookd_spool_fsyncs_total": 1,
		"hookd_spool_loads_total": n, "hookd_spool_segments": 1} {
		if v, ok := values[name]; !ok || v < min {
			t.Errorf("%s = %v (present: %v), want at least %v", name, v, ok, min)
		}
	}
	if hits, loads := values["hookd_spool_load_cache_hits_total"], values["hookd_spool_loads_total"]; hits > loads {
		t.Errorf("%v cache hits for %v loads", hits, loads)
	}
	if st, ok := e.SpoolStats(); !ok || st.Loads < n || st.Loads > 2*n || st.Frames == 0 {
		t.Errorf("SpoolStats() = %+v, %v; want the segment store's figures", st, ok)
	}
	mem, _ := New(Config{PolicySource: []byte(policy), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := mem.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer mem.Stop(context.Background())
	if _, ok := mem.SpoolStats(); ok {
		t.Error("an engine with its queue in memory reported segment spool figures")
	}
}
