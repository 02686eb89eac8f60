package main

import (
	"bufio"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSlowHeadersAreCut holds a connection open with half a request: the node closes it after
// --header-timeout and keeps serving others.
func TestSlowHeadersAreCut(t *testing.T) {
	node := startNodeWith(t, filepath.Join(t.TempDir(), "spool"), webhookPolicy,
		[]string{"--header-timeout", "300ms"}, "HOOKD_TEST_WEBHOOK=http://127.0.0.1:9/")
	conn, err := net.Dial("tcp", strings.TrimPrefix(node.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("POST /api/log/v1 HTTP/1.1\r\nHost: hookd\r\nContent-Type: appl")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	_, err = bufio.NewReader(conn).ReadString('\n')
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the node kept a connection with unfinished headers open for %s", time.Since(start))
	}
	resp, err := http.Get(node.url + "/api/check-liveness/v1")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("liveness: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestMaxQueuedRefusesWith503 fills a node whose webhook is down up to --max-queued: the next
// request is refused with 503 and Retry-After, and what was queued stays.
func TestMaxQueuedRefusesWith503(t *testing.T) {
	node := startNodeWith(t, filepath.Join(t.TempDir(), "spool"), webhookPolicy,
		[]string{"--max-queued", "3"}, "HOOKD_TEST_WEBHOOK=http://127.0.0.1:9/")
	postRecords(t, node, "array", mailEvents(1, map[string]int{"Delivery": 3}))
	rec := mailEvents(10, map[string]int{"Delivery": 1})[0]
	resp, err := http.Post(node.url+"/api/log/v1", "application/json", strings.NewReader(string(rec.json())))
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(body.String(), "queues are full") {
		t.Fatalf("past --max-queued: status %d, Retry-After %q, body %s", resp.StatusCode, resp.Header.Get("Retry-After"), body.String())
	}
	waitFor(t, "the 3 accepted records to be queued", func() bool { return queuedAt(t, node) == 3 })
	resp, err = http.Get(node.url + "/api/check-liveness/v1")
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("liveness of a full node: %v %v, want 503", resp, err)
	}
	resp.Body.Close()
}
