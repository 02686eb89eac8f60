package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/sink"
	"github.com/hookd/hookd/message"
)

// loadGen posts records to nodes continuously, one batch at a time, and remembers which were
// acknowledged (HTTP 200 with every record accepted) and which were only sent: a batch whose
// answer never came, because the node was killed under it, may or may not have been kept.
type loadGen struct {
	batch int                             // records per POST
	pace  time.Duration                   // pause between two POSTs (0: none)
	make  func(first, n int) []testRecord // the records numbered first+1 .. first+n

	mu      sync.Mutex
	next    int
	acked   []testRecord
	posted  []testRecord // acked or unanswered
	refused []string     // answers other than 200 from a live node
}

func newLoadGen(first, batch int, pace time.Duration, mk func(first, n int) []testRecord) *loadGen {
	if mk == nil {
		mk = mixedEvents
	}
	return &loadGen{batch: batch, pace: pace, make: mk, next: first}
}

// mixedEvents makes n records of the kinds the test policies keep, mostly deliveries.
func mixedEvents(first, n int) []testRecord {
	bounces := n / 8
	failures := n / 16
	return mailEvents(first, map[string]int{"Delivery": n - bounces - failures, "Bounce": bounces,
		"TransientFailure": failures})
}

// start posts to c until the returned stop is called or a POST fails to get an answer (the node
// died). stop waits until the poster has returned.
func (g *loadGen) start(c *child) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer client.CloseIdleConnections()
		for ctx.Err() == nil {
			if !g.postOnce(ctx, client, c.url) {
				return
			}
			if g.pace > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(g.pace):
				}
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// postOnce posts one batch and reports whether the node answered.
func (g *loadGen) postOnce(ctx context.Context, client *http.Client, url string) bool {
	g.mu.Lock()
	recs := g.make(g.next, g.batch)
	g.next += len(recs)
	g.mu.Unlock()
	var body bytes.Buffer
	for _, r := range recs {
		body.Write(r.json())
		body.WriteByte('\n')
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/api/log/v1", &body)
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := client.Do(req)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.posted = append(g.posted, recs...)
	if err != nil {
		return false // killed under the request, or stopped: unanswered
	}
	defer resp.Body.Close()
	var answer bytes.Buffer
	_, _ = answer.ReadFrom(resp.Body)
	want := fmt.Sprintf(`{"accepted":%d}`, len(recs))
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(answer.String()) != want {
		g.refused = append(g.refused, fmt.Sprintf("status %d: %s", resp.StatusCode, strings.TrimSpace(answer.String())))
		return true
	}
	g.acked = append(g.acked, recs...)
	return true
}

// ackedCount is how many records have been acknowledged so far.
func (g *loadGen) ackedCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.acked)
}

// results returns copies of the acknowledged and the posted records, and the refusals.
func (g *loadGen) results() (acked, posted []testRecord, refused []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]testRecord(nil), g.acked...), append([]testRecord(nil), g.posted...),
		append([]string(nil), g.refused...)
}

func recordKey(r testRecord) string { return r.Type + "/" + r.ID }

// waitAcked waits, within timeout, until every acknowledged record has arrived at recv at least once.
func waitAcked(t *testing.T, recv *sink.Sink, acked []testRecord, timeout time.Duration) {
	t.Helper()
	missing := map[string]bool{}
	for _, r := range acked {
		missing[recordKey(r)] = true
	}
	deadline := time.Now().Add(timeout)
	scanned := 0
	for {
		got := recv.Received()
		for _, g := range got[scanned:] {
			rec, err := message.DecodeRecord(g.Raw)
			if err == nil {
				delete(missing, string(rec.Type)+"/"+rec.ID)
			}
		}
		scanned = len(got)
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			some := make([]string, 0, 5)
			for k := range missing {
				if len(some) == cap(some) {
					break
				}
				some = append(some, k)
			}
			t.Fatalf("%d of %d acknowledged records never arrived (LOST), e.g. %v", len(missing), len(acked), some)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ackFigures is what checkAcked found.
type ackFigures struct {
	acked, posted int // records acknowledged, records sent (acknowledged or unanswered)
	delivered     int // distinct records that arrived
	lost          int // acknowledged records that never arrived
	duplicates    int // records that arrived more than once
	unanswered    int // records of unanswered POSTs that arrived anyway (allowed: they were durable)
}

func (f ackFigures) String() string {
	return fmt.Sprintf("acknowledged %d, delivered %d, lost %d, duplicates %d, delivered though unanswered %d (of %d sent)",
		f.acked, f.delivered, f.lost, f.duplicates, f.unanswered, f.posted)
}

// checkAcked checks the receiver against what was sent: every acknowledged record arrived, each
// arrival is a record that was sent, intact; duplicates are counted, not refused (at-least-once).
func checkAcked(t *testing.T, recv *sink.Sink, acked, posted []testRecord) ackFigures {
	t.Helper()
	f := ackFigures{acked: len(acked), posted: len(posted)}
	sent := map[string]testRecord{}
	for _, r := range posted {
		sent[recordKey(r)] = r
	}
	seen := map[string]int{}
	for _, got := range recv.Received() {
		rec, err := message.DecodeRecord(got.Raw)
		if err != nil {
			t.Errorf("the webhook got %q, which is not a log record: %v", got.Raw, err)
			continue
		}
		key := string(rec.Type) + "/" + rec.ID
		if seen[key]++; seen[key] > 1 {
			continue
		}
		r, ok := sent[key]
		if !ok {
			t.Errorf("%s arrived, but it was never sent", key)
			continue
		}
		compareRecord(t, key, r, rec)
	}
	f.delivered = len(seen)
	isAcked := map[string]bool{}
	for _, r := range acked {
		key := recordKey(r)
		isAcked[key] = true
		if seen[key] == 0 {
			f.lost++
			if f.lost <= 10 {
				t.Errorf("%s was acknowledged (200) but never arrived", key)
			}
		}
	}
	for key, n := range seen {
		if n > 1 {
			f.duplicates++
		}
		if !isAcked[key] {
			f.unanswered++
		}
	}
	if f.lost > 0 {
		t.Errorf("%d acknowledged records LOST", f.lost)
	}
	return f
}

// TestCrashDuringDeliveryRepeated runs the load crash of TestCrashDuringDelivery three times, each
// on its own spool and receiver: SIGKILL while deliveries are in flight, a new node on the same
// spool, and every acknowledged record must arrive.
func TestCrashDuringDeliveryRepeated(t *testing.T) {
	for run := 1; run <= 3; run++ {
		t.Run(fmt.Sprintf("run%d", run), func(t *testing.T) {
			start := time.Now()
			f, before := crashDuringDelivery(t, 10000*run)
			t.Logf("run %d: %s; %d had arrived before SIGKILL; took %s", run, f, before,
				time.Since(start).Round(time.Millisecond))
		})
	}
}

// crashDuringDelivery is one run of TestCrashDuringDelivery: the records are acknowledged, the
// webhook is slow, the node is killed once some have arrived, and a new node delivers the rest.
func crashDuringDelivery(t *testing.T, first int) (ackFigures, uint64) {
	sw := &switchable{}
	sw.delay.Store(int64(20 * time.Millisecond))
	recv, url := webhook(t, sw.wrap)
	spool := filepath.Join(t.TempDir(), "spool")
	node := startNodeOn(t, spool, webhookPolicy, "HOOKD_TEST_WEBHOOK="+url)

	sent := mailEvents(first, map[string]int{"Delivery": 300, "Bounce": 60})
	for i := 0; i < len(sent); i += 60 {
		postRecords(t, node, "array", sent[i:i+60]) // each answer means "durable"
	}
	waitFor(t, "some deliveries to have arrived", func() bool { return recv.Stats().Unique >= 20 })
	node.kill(t)
	before := recv.Stats().Unique
	if before >= uint64(len(sent)) {
		t.Fatalf("everything was delivered before the kill (%d); the run proves nothing", before)
	}

	sw.delay.Store(0)
	node = startNodeOn(t, spool, webhookPolicy, "HOOKD_TEST_WEBHOOK="+url)
	waitAcked(t, recv, sent, deliveryTimeout)
	f := checkAcked(t, recv, sent, sent)
	if f.duplicates > 64 {
		t.Errorf("%d duplicates: more than the sessions that can be in flight at once", f.duplicates)
	}
	if code := node.terminate(t); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}
	return f, before
}

// spoolFiles lists the names of the files in a spool directory.
func spoolFiles(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

// checkSpoolClean fails when the spool holds a segment moved aside as corrupt, or the node that
// opened it reported damage other than a torn tail (the unacknowledged end of the last frame a
// killed writer may leave, which recovery cuts off by design).
func checkSpoolClean(t *testing.T, dir string, c *child) {
	t.Helper()
	for _, name := range spoolFiles(t, dir) {
		if strings.HasSuffix(name, ".corrupt") {
			t.Errorf("the spool holds %s: a segment was found unreadable after SIGKILL", name)
		}
	}
	for _, line := range strings.Split(c.stderr.String(), "\n") {
		if !strings.Contains(line, "spool recovery:") {
			continue
		}
		if strings.Contains(line, "cut a torn or corrupt tail") {
			t.Logf("recovery (allowed after SIGKILL): %s", line)
			continue
		}
		t.Errorf("spool recovery after SIGKILL found damage: %s", line)
	}
}
