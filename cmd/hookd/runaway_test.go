package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunawayPolicy runs a policy whose should_enqueue_log_record loops forever on some records and
// whose send loops forever on one queue: the node stays live, the other queue keeps delivering, and
// the log says where the policy was stopped.
func TestRunawayPolicy(t *testing.T) {
	recv, url := webhook(t, nil)
	node := startNodeWith(t, filepath.Join(t.TempDir(), "spool"), "testdata/runaway.lua",
		[]string{"--lua-deadline", "should_enqueue_log_record=200ms", "--lua-deadline", "send=1s"},
		"HOOKD_TEST_WEBHOOK="+url)
	stuck := mailEvents(7000, map[string]int{"Feedback": 2, "Bounce": 3})
	good := mailEvents(8000, map[string]int{"Delivery": 20})
	postRecords(t, node, "ndjson", append(stuck, good...))

	ctx, cancel := context.WithTimeout(t.Context(), deliveryTimeout)
	defer cancel()
	if err := recv.WaitFor(ctx, uint64(len(good))); err != nil {
		t.Fatalf("%d of %d deliveries of the healthy queue arrived: %v", recv.Stats().Unique, len(good), err)
	}
	resp, err := http.Get(node.url + "/api/check-liveness/v1")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("liveness after runaway calls: %v %v", resp, err)
	}
	resp.Body.Close()
	postRecords(t, node, "object", mailEvents(9000, map[string]int{"Delivery": 1})) // still taking work
	waitFor(t, "both runaways to be reported", func() bool {
		log := node.stderr.String()
		return strings.Contains(log, "runaway.lua:15: should_enqueue_log_record ran longer than 200ms") &&
			strings.Contains(log, "runaway.lua:35: make.stuck:send ran longer than 1s")
	})
	if code := node.terminate(t); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}
}
