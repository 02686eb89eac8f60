package bench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/engine"
	"github.com/hookd/hookd/httpapi"
)

// checkPhase checks what must hold for any phase in which every record was expected.
func checkPhase(t *testing.T, ph *Phase, n int) {
	t.Helper()
	c := ph.Receiver
	if !ph.Complete || ph.Expected != n || ph.Missing != 0 || len(ph.MissingSeqs) != 0 {
		t.Errorf("%s: complete %v, expected %d, missing %d %v; want all %d", ph.Name, ph.Complete, ph.Expected,
			ph.Missing, ph.MissingSeqs, n)
	}
	if ph.Accepted != n || ph.AcceptErrors != 0 || c.Unique != n || c.Records != n+c.Duplicates {
		t.Errorf("%s: accepted %d (%d errors), receiver %+v; want %d records exactly or at least once",
			ph.Name, ph.Accepted, ph.AcceptErrors, c, n)
	}
	if c.BadRequests != 0 || c.OutOfRange != 0 || c.Unidentified != 0 || c.DecodeErrors != 0 || c.Decoded == 0 {
		t.Errorf("%s: receiver %+v; want every record identified and every sampled one decoded", ph.Name, c)
	}
	if c.Attempted < c.Records || ph.AttemptsPerRecord < 1 {
		t.Errorf("%s: %d attempted for %d received (%.3f per record)", ph.Name, c.Attempted, c.Records, ph.AttemptsPerRecord)
	}
	l := ph.Latency
	if l.Samples != n || !(0 <= l.P50 && l.P50 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) || l.Mean > l.Max {
		t.Errorf("%s: latency %+v; want %d ordered samples", ph.Name, l, n)
	}
	if ph.AcceptRate <= 0 || ph.DeliverRate <= 0 || ph.DeliverSeconds > ph.WallSeconds || ph.AcceptSeconds > ph.WallSeconds {
		t.Errorf("%s: rates %.0f/%.0f over %.3fs/%.3fs of %.3fs", ph.Name, ph.AcceptRate, ph.DeliverRate,
			ph.AcceptSeconds, ph.DeliverSeconds, ph.WallSeconds)
	}
	// 99% of the records arrived no later than all of them: that rate is at least 0.99 of the whole.
	if c.Unique == n && (ph.Deliver99Rate <= 0 || ph.Deliver99Rate < 0.99*ph.DeliverRate*(1-1e-9)) {
		t.Errorf("%s: delivered/s to 99%% %.0f, all %.0f", ph.Name, ph.Deliver99Rate, ph.DeliverRate)
	}
	if ph.CPUSeconds <= 0 || ph.CPUPer1k <= 0 || ph.PeakRSS <= 0 {
		t.Errorf("%s: CPU %.3fs (%.4f per 1k), peak RSS %d; want them measured", ph.Name, ph.CPUSeconds, ph.CPUPer1k, ph.PeakRSS)
	}
}

func TestRunInProcess(t *testing.T) {
	const n = 2000
	tests := []struct {
		name string
		cfg  Config
	}{
		{"one record per POST, durable spool, with a baseline", Config{Baseline: true, Queues: 3}},
		{"send_batch of 50, memory spool, with a baseline", Config{Batch: 50, MinBatch: 10, Memory: true, Baseline: true,
			BatchLatency: 20 * time.Millisecond, LogBatch: 7}},
		{"a fifth of the requests fail, at a set rate", Config{FailRate: 0.2, Batch: 5, Memory: true, Rate: 10000,
			HookWorkers: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Records, cfg.Timeout, cfg.DecodeEvery, cfg.keepBodies = n, 30*time.Second, 3, 1
			var progress []Progress
			cfg.Progress = func(p Progress) { progress = append(progress, p) }
			rep, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkPhase(t, rep.Hookd, n)
			if e := rep.Hookd.Engine; e == nil || e.Kept != n || e.Delivered != n || e.Queued != 0 {
				t.Errorf("engine stats %+v; want all %d kept and delivered", e, n)
			}
			if cfg.Baseline {
				checkPhase(t, rep.Baseline, n)
				r := rep.Ratio
				if r == nil || r.DeliverRate <= 0 || r.CPUPer1k <= 0 || r.PeakRSS <= 0 {
					t.Errorf("ratios %+v", r)
				}
				if r != nil && r.DeliverRate != rep.Hookd.DeliverRate/rep.Baseline.DeliverRate {
					t.Errorf("delivered/s ratio %v is not hookd's over the baseline's", r.DeliverRate)
				}
			}
			c := rep.Hookd.Receiver
			if cfg.FailRate > 0 {
				if c.FailedRequests == 0 || rep.Hookd.AttemptsPerRecord <= 1 || rep.Hookd.Engine.Transient == 0 {
					t.Errorf("with failures: receiver %+v, %.3f attempts per record, engine %+v", c,
						rep.Hookd.AttemptsPerRecord, rep.Hookd.Engine)
				}
			} else if c.FailedRequests != 0 || rep.Hookd.AttemptsPerRecord != 1 {
				t.Errorf("without failures: receiver %+v", c)
			}
			batch := max(cfg.Batch, 1)
			if c.Requests < (n+batch-1)/batch || (batch == 1 && c.Requests != n) {
				t.Errorf("%d webhook requests for %d records in batches of %d", c.Requests, n, batch)
			}
			if len(progress) == 0 || progress[len(progress)-1].Delivered != n {
				t.Errorf("progress: %d reports, the last %+v", len(progress), progress[len(progress)-1])
			}
			var table, js bytes.Buffer
			if err := rep.WriteTable(&table); err != nil || !strings.Contains(table.String(), "latency p99.9 (ms)") ||
				strings.Contains(table.String(), "INCOMPLETE") {
				t.Errorf("table (%v):\n%s", err, table.String())
			}
			if err := rep.WriteJSON(&js); err != nil || !strings.Contains(js.String(), `"delivered_per_second"`) {
				t.Errorf("JSON (%v):\n%s", err, js.String())
			}
		})
	}
}

func TestWebhookBodiesAreTheGeneratorsBytes(t *testing.T) {
	// The baseline posts Generator.Body; the engine must deliver the very same bytes.
	for _, batch := range []int{1, 4} {
		epoch := time.Now()
		r := &runner{cfg: Config{Records: 40, Batch: batch, Memory: true, keepBodies: 100}, epoch: epoch}
		cfg, err := r.cfg.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		r.cfg, r.gen = cfg, NewGenerator(cfg.Seed, cfg.Mix, cfg.Queues, epoch)
		r.recv = NewReceiver(ReceiverConfig{KeepBodies: 100}, epoch)
		srv := httptest.NewServer(r.recv)
		ph, err := r.inProcess(context.Background(), srv.URL+"/events")
		srv.Close()
		if err != nil || !ph.Complete {
			t.Fatalf("batch %d: %v, %+v", batch, err, ph)
		}
		for _, body := range r.recv.cur.Load().Bodies() {
			seqs, _ := scanSeqs(body)
			if want := r.batchBody(nil, seqs); !bytes.Equal(body, want) {
				t.Fatalf("batch %d: the webhook got\n%s\nthe generator makes\n%s", batch, body, want)
			}
		}
	}
}

func TestRunDead(t *testing.T) {
	rep, err := Run(context.Background(), Config{Records: 500, Dead: true, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h := rep.Hookd
	if h.Queued != 500 || h.Accepted != 500 || h.Receiver.Requests != 0 || h.RSSQueued <= 0 || h.SpoolBytes <= 0 {
		t.Errorf("dead webhook: queued %d, accepted %d, %d requests, RSS %d, spool %d bytes", h.Queued, h.Accepted,
			h.Receiver.Requests, h.RSSQueued, h.SpoolBytes)
	}
}

func TestRunTarget(t *testing.T) {
	// A node like `hookd run` with the built-in policy, delivering to where the bench will listen.
	addr, err := closedPortURL()
	if err != nil {
		t.Fatal(err)
	}
	listen := strings.TrimSuffix(strings.TrimPrefix(addr, "http://"), "/events")
	src, _, err := (&runner{cfg: Config{Connections: 8, Batch: 1}}).policySource(addr)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Config{PolicySource: src, SpoolDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop(context.Background())
	node := httptest.NewServer(httpapi.New(eng, httpapi.Options{}))
	defer node.Close()

	const n = 600
	rep, err := Run(context.Background(), Config{Records: n, Target: node.URL, Listen: listen, LogBatch: 3,
		Concurrency: 8, Timeout: 30 * time.Second, DecodeEvery: 1})
	var opErr *net.OpError
	if errors.As(err, &opErr) && strings.Contains(err.Error(), "address already in use") {
		t.Skipf("the receiver's port was taken in the meantime: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	checkPhase(t, rep.Hookd, n)
	if nd := rep.Hookd.Node; nd == nil || nd.Kept != n || nd.PeakRSS <= 0 || nd.CPUSeconds <= 0 {
		t.Errorf("node figures %+v; want %d kept and its CPU and RSS", nd, n)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "records must be at least 1"},
		{Config{Records: 1, FailRate: 1}, "fail rate must be in [0, 1)"},
		{Config{Records: 1, Memory: true, SpoolDir: "x"}, "not both"},
		{Config{Records: 1, Batch: 5, MinBatch: 6}, "min batch (6) must not exceed batch (5)"},
		{Config{Records: 1, Target: "localhost:8000"}, "is not an http(s) URL"},
		{Config{Records: 1, Target: "http://127.0.0.1:8000", Memory: true}, "the memory spool applies to an engine in this process"},
		{Config{Records: 1, Target: "http://127.0.0.1:8000", HookWorkers: 2}, "hook workers applies to an engine in this process"},
		{Config{Records: 1, Target: "http://127.0.0.1:8000", HeapBudget: 1 << 26}, "a heap budget applies to an engine in this process"},
		{Config{Records: 1, Dead: true, Baseline: true}, "takes neither a baseline nor a fail rate"},
		{Config{Records: 1, PolicyFile: "p.lua", Batch: 10}, "a policy file decides its own batching"},
		{Config{Records: 1, Concurrency: -1}, "concurrency must not be negative"},
	} {
		_, err := Run(context.Background(), tt.cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Run(%+v) = %v; want a ConfigError containing %q", tt.cfg, err, tt.want)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "leftover"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), Config{Records: 1, SpoolDir: dir}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a spool directory with files in it: %v", err)
	}
}
