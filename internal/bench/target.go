package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// NodeFigures are what a target node's /metrics said about its own process during the phase.
type NodeFigures struct {
	CPUSeconds float64 `json:"cpu_seconds"`        // process_cpu_seconds_total, end minus start
	CPUPer1k   float64 `json:"cpu_seconds_per_1k"` // per thousand records sent
	PeakRSS    int64   `json:"peak_rss_bytes"`     // highest process_resident_memory_bytes sampled
	Kept       int64   `json:"kept"`               // hookd_log_hook_records_total{outcome="kept"}, end minus start
}

// nodeMetrics are the figures read from one scrape of a node's /metrics.
type nodeMetrics struct {
	cpu  float64
	rss  int64
	kept int64
}

// target runs the hookd phase against a running node: cfg.Concurrency workers POST cfg.LogBatch
// records each to /api/log/v1 (one JSON object, or NDJSON); a record is accepted when its POST is
// answered 200. A 503 (back pressure) is retried after its Retry-After. What the node's hooks kept
// comes from its /metrics, read before and after.
func (r *runner) target(ctx context.Context) (*Phase, error) {
	base := strings.TrimSuffix(r.cfg.Target, "/")
	n, conc := r.cfg.Records, r.cfg.Concurrency
	tr := &http.Transport{MaxIdleConns: conc, MaxIdleConnsPerHost: conc, IdleConnTimeout: 90 * time.Second}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	before, err := scrape(ctx, client, base+"/metrics")
	if err != nil {
		return nil, fmt.Errorf("reading the node's metrics: %w", err)
	}

	ph := &Phase{Name: "hookd", Records: n, Spool: "target " + base}
	s := newPhaseState("hookd", n, r.recv.Begin(n), true)
	m := r.startMeter()
	stopWatch := r.watch(s, m)
	var peakNode atomic.Int64
	peakNode.Store(before.rss)
	stopSampling := sampleNode(ctx, client, base+"/metrics", &peakNode)

	feedCtx, stopFeed := context.WithCancel(ctx) // ends the feed if every worker gives up
	defer stopFeed()
	ch := feed(feedCtx, n, r.cfg.Rate)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			var seqs []int
			var body []byte
			for {
				seqs = collect(ctx, ch, seqs, r.cfg.LogBatch, 0)
				if len(seqs) == 0 {
					return
				}
				body = body[:0]
				for _, seq := range seqs {
					body = r.gen.Record(seq).AppendJSON(body)
					body = append(body, '\n')
				}
				if err := logPOST(ctx, client, base+"/api/log/v1", body, len(seqs) > 1); err != nil {
					s.fail(len(seqs), err)
					continue
				}
				s.accept(seqs, r.now())
			}
		})
	}
	wg.Wait()
	after, err := scrape(ctx, client, base+"/metrics")
	var waitErr error
	if err != nil {
		waitErr = fmt.Errorf("reading the node's metrics: %w", err)
	} else {
		s.expected.Store(after.kept - before.kept)
		waitErr = r.waitDelivered(ctx, s.tally, int(after.kept-before.kept))
	}
	stopSampling()
	stopWatch()
	r.finish(ph, s, m)
	if last, err := scrape(context.Background(), client, base+"/metrics"); err == nil {
		node := &NodeFigures{CPUSeconds: last.cpu - before.cpu, PeakRSS: max(peakNode.Load(), last.rss),
			Kept: last.kept - before.kept}
		node.CPUPer1k = node.CPUSeconds / (float64(n) / 1000)
		ph.Node = node
	}
	if waitErr == nil && ph.AcceptErrors > 0 {
		waitErr = fmt.Errorf("%d records refused, the first: %s", ph.AcceptErrors, ph.FirstAcceptError)
	}
	return ph, waitErr
}

// logPOST sends records to the node's log API until it takes them: 503 is retried after the
// Retry-After it names (at most a second); any other refusal is an error.
func logPOST(ctx context.Context, client *http.Client, url string, body []byte, ndjson bool) error {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		if ndjson {
			req.Header.Set("Content-Type", "application/x-ndjson")
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			return nil
		case resp.StatusCode != http.StatusServiceUnavailable:
			return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(answer))
		}
		wait := 100 * time.Millisecond
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			wait = min(time.Duration(secs)*time.Second, time.Second)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// sampleNode keeps the highest process_resident_memory_bytes of the node in peak, scraping twice a
// second until stopped.
func sampleNode(ctx context.Context, client *http.Client, url string, peak *atomic.Int64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if m, err := scrape(ctx, client, url); err == nil && m.rss > peak.Load() {
					peak.Store(m.rss)
				}
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// scrape reads the figures bench needs from a node's Prometheus text.
func scrape(ctx context.Context, client *http.Client, url string) (nodeMetrics, error) {
	var m nodeMetrics
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return m, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return m, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics picks process_cpu_seconds_total, process_resident_memory_bytes and the sum of
// hookd_log_hook_records_total{outcome="kept"} out of Prometheus text.
func parseMetrics(rd io.Reader) (nodeMetrics, error) {
	var m nodeMetrics
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		name, value := line[:i], line[i+1:]
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch {
		case name == "process_cpu_seconds_total":
			m.cpu = v
		case name == "process_resident_memory_bytes":
			m.rss = int64(v)
		case strings.HasPrefix(name, "hookd_log_hook_records_total{") && strings.Contains(name, `outcome="kept"`):
			m.kept += int64(v)
		}
	}
	return m, sc.Err()
}
