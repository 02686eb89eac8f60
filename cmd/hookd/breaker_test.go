package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metric reads one sample from the node's /metrics ("" when absent).
func metric(t *testing.T, node *child, name string) string {
	t.Helper()
	resp, err := http.Get(node.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			return line[strings.LastIndex(line, " ")+1:]
		}
	}
	return ""
}

// cpuSeconds is the CPU time a process has used so far (Linux).
func cpuSeconds(t *testing.T, pid int) float64 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Skip("no /proc here")
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ
}

// TestBreakerUnderOutage: the webhook dies under load and comes back. While the destination's
// breaker is open the node sends nothing and burns no CPU; the open and close show in /metrics;
// every record arrives in the end.
func TestBreakerUnderOutage(t *testing.T) {
	sw := &switchable{}
	sw.failing.Store(true)
	recv, url := webhook(t, sw.wrap)
	node := startNode(t, "testdata/breaker.lua", "HOOKD_TEST_WEBHOOK="+url)

	sent := mailEvents(5000, map[string]int{"Delivery": 80, "Bounce": 20})
	postRecords(t, node, "ndjson", sent[:50])
	waitFor(t, "the breaker to open", func() bool { return metric(t, node, "hookd_breaker_state") == "2" })

	// Requests sent before the breaker opened may still be on their way to the webhook: let them
	// land before counting (they fail at once).
	calls := sw.calls.Load()
	for range 5 {
		time.Sleep(100 * time.Millisecond)
		if now := sw.calls.Load(); now != calls {
			calls = now
			continue
		}
		break
	}
	cpu := cpuSeconds(t, node.cmd.Process.Pid)
	time.Sleep(time.Second) // inside the 2s open period
	if n := sw.calls.Load() - calls; n != 0 {
		t.Errorf("%d webhook requests while the breaker was open", n)
	}
	if used := cpuSeconds(t, node.cmd.Process.Pid) - cpu; used > 0.2 {
		t.Errorf("the node used %.2fs of CPU in 1s with its destination's breaker open", used)
	}
	postRecords(t, node, "array", sent[50:]) // still accepted, and queued, during the outage

	sw.failing.Store(false)
	ctx, cancel := context.WithTimeout(t.Context(), deliveryTimeout)
	defer cancel()
	if err := recv.WaitFor(ctx, uint64(len(sent))); err != nil {
		t.Fatalf("%d of %d records arrived after the outage: %v", recv.Stats().Unique, len(sent), err)
	}
	checkArrivals(t, recv, sent)
	if metric(t, node, "hookd_breaker_state") != "0" {
		t.Error("the breaker is not closed after the outage")
	}
	opened, _ := strconv.Atoi(metric(t, node, "hookd_breaker_opened_total"))
	closed, _ := strconv.Atoi(metric(t, node, "hookd_breaker_closed_total"))
	if opened < 1 || closed < 1 {
		t.Errorf("/metrics shows the breaker opened %d and closed %d times", opened, closed)
	}
	if delivered := metric(t, node, `total_messages_delivered{service="lua"}`); delivered == "" {
		t.Error("no total_messages_delivered in /metrics")
	}
	if code := node.terminate(t); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}
}
