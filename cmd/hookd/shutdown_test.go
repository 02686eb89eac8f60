package main

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSecondSignalExitsAtOnce: SIGTERM starts a drain that waits for slow deliveries; a second
// SIGTERM ends the process at once, and a new node on the same spool delivers every record.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	sw := &switchable{}
	sw.delay.Store(int64(5 * time.Second)) // every delivery hangs far longer than the test waits
	recv, url := webhook(t, sw.wrap)
	spool := filepath.Join(t.TempDir(), "spool")
	node := startNodeWith(t, spool, webhookPolicy, []string{"--drain-timeout", "1m", "--log-level", "info"}, "HOOKD_TEST_WEBHOOK="+url)
	sent := mailEvents(3000, map[string]int{"Delivery": 40})
	postRecords(t, node, "ndjson", sent)
	waitFor(t, "deliveries to be in flight", func() bool { return sw.calls.Load() > 0 })

	if err := node.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the drain to begin", func() bool { return strings.Contains(node.stderr.String(), "stopping: refusing new work") })
	select {
	case <-node.exited:
		t.Fatal("the node exited while its deliveries hang and its drain timeout is a minute away")
	case <-time.After(300 * time.Millisecond):
	}
	start := time.Now()
	if err := node.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-node.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("a second SIGTERM did not end the node")
	}
	t.Logf("the second signal ended the node in %s", time.Since(start).Round(time.Millisecond))

	sw.delay.Store(0)
	node = startNodeOn(t, spool, webhookPolicy, "HOOKD_TEST_WEBHOOK="+url)
	ctx, cancel := context.WithTimeout(t.Context(), deliveryTimeout)
	defer cancel()
	if err := recv.WaitFor(ctx, uint64(len(sent))); err != nil {
		t.Fatalf("after the restart %d of %d records arrived: %v", recv.Stats().Unique, len(sent), err)
	}
	checkArrivals(t, recv, sent)
	if code := node.terminate(t); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}
}
