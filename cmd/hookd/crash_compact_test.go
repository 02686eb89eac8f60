package main

import (
	"bufio"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// compactPolicy posts Delivery, Bounce and TransientFailure records to the webhook, like
// testdata/webhook.lua, but Bounce records go to their own queue, "held", which with
// HOOKD_TEST_HOLD=1 lets one message an hour through: its messages stay in the spool while the
// deliveries around them are deleted, so the segments they were written to become sparse.
const compactPolicy = `
local kumo = require 'kumo'
local WEBHOOK_URL = os.getenv 'HOOKD_TEST_WEBHOOK'
local HOLD = os.getenv 'HOOKD_TEST_HOLD' == '1'

kumo.on('init', function()
  kumo.configure_log_hook {
    name = 'webhook',
    meta = { 'tenant', 'campaign' },
    headers = { 'Subject', 'X-*' },
    per_record = { Reception = { enable = false }, Delayed = { enable = false } },
  }
end)

kumo.on('should_enqueue_log_record', function(msg)
  local record = msg:get_meta 'log_record'
  if record.reception_protocol == 'LogRecord' then
    return false
  end
  if record.type == 'Bounce' then
    msg:set_meta('queue', 'held')
    return true
  end
  if record.type == 'Delivery' or record.type == 'TransientFailure' then
    msg:set_meta('queue', 'webhook')
    return true
  end
  return false
end)

kumo.on('get_queue_config', function(domain)
  local rate = nil
  if domain == 'held' and HOLD then
    rate = '1/h'
  end
  return kumo.make_queue_config {
    retry_interval = '1s',
    max_retry_interval = '1s',
    max_message_rate = rate,
    protocol = { custom_lua = { constructor = 'make.webhook' } },
  }
end)

kumo.on('make.webhook', function()
  local client = kumo.http.build_client { timeout = '10s' }
  local sender = {}
  function sender:send(msg)
    local r = client:post(WEBHOOK_URL):header('Content-Type', 'application/json'):body(msg:get_data()):send()
    local disposition = string.format('%d %s', r:status_code(), r:status_reason() or '')
    if r:status_is_success() then
      return disposition
    end
    kumo.reject(400, disposition)
  end
  function sender:close() client:close() end
  return sender
end)
`

// The segment store compacts every 30 s (segment.Options.CompactEvery), counted from when the
// spool is opened; `hookd run` has no setting for it.
const compactEvery = 30 * time.Second

// bigBounces makes n Bounce records numbered from first, each carrying padKB KiB of random text
// in its response, so that moving them is real work for the compactor.
func bigBounces(first, n, padKB int) []testRecord {
	recs := mailEvents(first, map[string]int{"Bounce": n})
	rng := rand.New(rand.NewPCG(uint64(first), 7))
	const hex = "0123456789abcdef"
	for i := range recs {
		pad := make([]byte, padKB<<10)
		for j := range pad {
			pad[j] = hex[rng.IntN(16)]
		}
		recs[i].Content += " " + string(pad)
	}
	return recs
}

// spoolMetrics reads the spool's figures from the node's /metrics; nil when the node did not answer.
func spoolMetrics(c *child) map[string]float64 {
	resp, err := http.Get(c.url + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !strings.HasPrefix(name, "hookd_spool_") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			out[name] = v
		}
	}
	return out
}

// TestCrashDuringCompaction: three nodes in turn each leave a sealed segment of the spool sparse
// (1,000 deliveries done and deleted, 200 large bounces held back), so that the next node's
// compactor, at its first round 30 s after it opened the spool, moves the held messages forward
// one segment after another. That node takes a stream of new records meanwhile, and is killed
// with SIGKILL as soon as /metrics shows the first segment's moves done
// (hookd_spool_compacted_messages_total > 0): the compactor is then at work on the next segment,
// or deleting the ones it emptied, which the segment files still on disk after the kill show. A
// last node on the same spool must open it without damage and deliver every acknowledged record,
// intact.
func TestCrashDuringCompaction(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the compactor's first round, 30 s after the spool is opened")
	}
	const (
		segments   = 3
		batches    = 20 // per segment: each 50 deliveries and 10 held bounces
		deliveries = 50
		held       = 10
		padKB      = 16
	)
	recv, url := webhook(t, nil)
	spool := filepath.Join(t.TempDir(), "spool")
	policy := filepath.Join(t.TempDir(), "compact.lua")
	if err := os.WriteFile(policy, []byte(compactPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOOKD_TEST_WEBHOOK=" + url, "HOOKD_TEST_HOLD=1"}
	start := time.Now()

	var prep []testRecord // acknowledged by the nodes that make the sparse segments
	next, heldSent, deliveriesSent := 0, 0, 0
	for range segments {
		node := startNodeWith(t, spool, policy, nil, env...)
		for range batches {
			recs := append(mailEvents(next, map[string]int{"Delivery": deliveries}),
				bigBounces(next+deliveries, held, padKB)...)
			next += deliveries + held
			postRecords(t, node, "array", recs)
			prep = append(prep, recs...)
			heldSent += held
			deliveriesSent += deliveries
		}
		waitFor(t, "the deliveries to be done and deleted, the bounces held", func() bool {
			m := spoolMetrics(node)
			return recv.Stats().ByType["Delivery"] >= uint64(deliveriesSent) && m != nil &&
				m["hookd_spool_messages"] <= float64(heldSent)
		})
		node.kill(t) // its segment stays as it is: sealed, a sixth of it live
	}
	before := spoolFiles(t, spool)
	t.Logf("%d sparse segments made in %s: %v", segments, time.Since(start).Round(time.Millisecond), before)

	opened := time.Now()
	node := startNodeWith(t, spool, policy, nil, env...)
	gen := newLoadGen(1_000_000, 10, 50*time.Millisecond, func(first, n int) []testRecord {
		return mailEvents(first, map[string]int{"Delivery": n})
	})
	stop := gen.start(node)
	var m map[string]float64
	deadline := opened.Add(compactEvery + deliveryTimeout)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("no compaction within %s of the start; last metrics %v", time.Since(opened), m)
		}
		if time.Since(opened) < compactEvery-2*time.Second {
			time.Sleep(100 * time.Millisecond) // nothing to see before the compactor's first round
		}
		if m = spoolMetrics(node); m == nil {
			t.Fatalf("the node stopped answering before the compaction:\n%s", node.stderr.String())
		}
		if m["hookd_spool_compacted_messages_total"] > 0 {
			break
		}
	}
	node.kill(t)
	stop()
	after := spoolFiles(t, spool)
	left := 0
	for _, name := range before {
		for _, now := range after {
			if name == now {
				left++
			}
		}
	}
	bounces := map[string]bool{} // held messages that went out anyway: one an hour a node
	for _, got := range recv.Received() {
		if key, _, _ := strings.Cut(got.Key, "/"); key == "Bounce" {
			bounces[got.Key] = true
		}
	}
	moved, toMove := int(m["hookd_spool_compacted_messages_total"]), heldSent-len(bounces)
	t.Logf("SIGKILL %s after the spool was opened, with %d of the %d held messages moved by compaction and %d "+
		"segments deleted (of %d sparse ones); on disk after the kill: %d of them left, files %v",
		time.Since(opened).Round(time.Millisecond), moved, toMove, int(m["hookd_spool_segments_deleted_total"]),
		segments, left, after)
	switch {
	case moved < toMove:
		t.Logf("the kill landed inside the compaction: segments were left to compact")
	case left > 0:
		t.Logf("the kill landed inside the compaction: everything was moved, the emptied segments not yet deleted")
	default:
		t.Logf("the compaction had finished (every sparse segment moved and deleted) when the kill came")
	}

	// A node without the hold delivers everything.
	node = startNodeWith(t, spool, policy, []string{"--log-level", "info"}, env[0])
	checkSpoolClean(t, spool, node)
	acked, posted, refused := gen.results()
	for _, r := range refused {
		t.Errorf("a live node refused a POST: %s", r)
	}
	acked, posted = append(prep, acked...), append(prep, posted...)
	waitAcked(t, recv, acked, deliveryTimeout)
	f := checkAcked(t, recv, acked, posted)
	t.Logf("%s; took %s", f, time.Since(start).Round(time.Millisecond))
	if code := node.terminate(t); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}
}
