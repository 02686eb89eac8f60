package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// reloadPolicy is a small webhook policy that stamps its version on each request.
const reloadPolicy = `
local WEBHOOK_URL = os.getenv 'HOOKD_TEST_WEBHOOK'
kumo.on('init', function() kumo.configure_log_hook { name = 'webhook' } end)
kumo.on('should_enqueue_log_record', function(msg)
  msg:set_meta('queue', 'webhook')
  return true
end)
kumo.on('get_queue_config', function()
  return kumo.make_queue_config { retry_interval = '1s', protocol = { custom_lua = { constructor = 'make.webhook' } } }
end)
kumo.on('make.webhook', function()
  local client = kumo.http.build_client {}
  return { send = function(self, msg)
    local r = client:post(WEBHOOK_URL):header('Content-Type', 'application/json')
      :header('X-Policy-Version', 'VERSION'):body(msg:get_data()):send()
    if r:status_is_success() then return 'ok' end
    kumo.reject(400, 'retry')
  end }
end)
`

// TestReload changes the policy file under a running node and sends SIGHUP: new work uses the new
// policy; a policy that does not load leaves the running one in place, with the error logged.
func TestReload(t *testing.T) {
	recv, url := webhook(t, nil)
	dir := t.TempDir()
	file := filepath.Join(dir, "policy.lua")
	write := func(src string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(strings.ReplaceAll(reloadPolicy, "VERSION", "1"))
	node := startNodeWith(t, filepath.Join(dir, "spool"), file, []string{"--log-level", "info"}, "HOOKD_TEST_WEBHOOK="+url)
	versionOf := func(n uint64, recs []testRecord) string {
		t.Helper()
		postRecords(t, node, "object", recs)
		ctx, cancel := context.WithTimeout(t.Context(), deliveryTimeout)
		defer cancel()
		if err := recv.WaitFor(ctx, n); err != nil {
			t.Fatal(err)
		}
		got := recv.Received()
		return got[len(got)-1].Header.Get("X-Policy-Version")
	}
	if v := versionOf(1, mailEvents(100, map[string]int{"Delivery": 1})); v != "1" {
		t.Fatalf("version %q before the reload", v)
	}
	write(strings.ReplaceAll(reloadPolicy, "VERSION", "2"))
	node.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool { return strings.Contains(node.stderr.String(), "policy reloaded") })
	if v := versionOf(2, mailEvents(200, map[string]int{"Delivery": 1})); v != "2" {
		t.Fatalf("version %q after the reload", v)
	}
	write("this is not Lua (")
	node.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the failed reload to be logged", func() bool {
		return strings.Contains(node.stderr.String(), "reload failed; the running policy stays")
	})
	if v := versionOf(3, mailEvents(300, map[string]int{"Delivery": 1})); v != "2" {
		t.Fatalf("version %q after a failed reload; want the running policy (2) to stay", v)
	}
	if code := node.terminate(t); code != 0 {
		t.Errorf("exit %d", code)
	}
}
