package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// reloadCrashPolicy is the webhook policy of testdata/webhook.lua spread over eight queues, with a
// version and two knobs that make a reload do measurable work: init (run once per load of the
// policy, at start and on every SIGHUP) and get_queue_config (run by every queue again after a
// reload) each log when they begin and end, and busy-wait @INIT_MS@ and @QUEUE_MS@ milliseconds in
// between. @PAD@ shifts configure_log_hook by a line per version, so the reloaded policy's hook is
// configured "at" another line: the engine logs that difference between loading the new policy
// and putting it in place.
const reloadCrashPolicy = `@PAD@
local kumo = require 'kumo'
local WEBHOOK_URL = os.getenv 'HOOKD_TEST_WEBHOOK'
local VERSION = '@VERSION@'
local function busy(ms)
  local till = os.clock() + ms / 1000
  while os.clock() < till do end
end

kumo.on('init', function()
  kumo.log_warn('crash-test: init begins v' .. VERSION)
  busy(@INIT_MS@)
  kumo.configure_log_hook {
    name = 'webhook',
    meta = { 'tenant', 'campaign' },
    headers = { 'Subject', 'X-*' },
    per_record = { Reception = { enable = false }, Delayed = { enable = false } },
  }
  kumo.log_warn('crash-test: init done v' .. VERSION)
end)

kumo.on('should_enqueue_log_record', function(msg, hook_name)
  local record = msg:get_meta 'log_record'
  if record.reception_protocol == 'LogRecord' then
    return false
  end
  if record.type == 'Delivery' or record.type == 'Bounce' or record.type == 'TransientFailure' then
    msg:set_meta('queue', 'webhook-' .. (tonumber(record.id:sub(-1), 16) % 8))
    return true
  end
  return false
end)

kumo.on('get_queue_config', function(domain)
  if domain:sub(1, 8) ~= 'webhook-' then
    return
  end
  kumo.log_warn('crash-test: get_queue_config begins v' .. VERSION .. ' ' .. domain)
  busy(@QUEUE_MS@)
  kumo.log_warn('crash-test: get_queue_config done v' .. VERSION .. ' ' .. domain)
  return kumo.make_queue_config {
    retry_interval = '1s',
    max_retry_interval = '1s',
    protocol = { custom_lua = { constructor = 'make.webhook' } },
  }
end)

kumo.on('get_egress_path_config', function()
  return kumo.make_egress_path { connection_limit = 2 }
end)

kumo.on('make.webhook', function()
  local client = kumo.http.build_client { timeout = '5s' }
  local sender = {}
  function sender:send(msg)
    local r = client:post(WEBHOOK_URL):header('Content-Type', 'application/json')
      :header('X-Policy-Version', VERSION):body(msg:get_data()):send()
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

// writeReloadPolicy writes version v of reloadCrashPolicy to file.
func writeReloadPolicy(t *testing.T, file string, v, initMS, queueMS int) {
	t.Helper()
	src := strings.NewReplacer("@PAD@", strings.Repeat("--\n", v), "@VERSION@", fmt.Sprint(v),
		"@INIT_MS@", fmt.Sprint(initMS), "@QUEUE_MS@", fmt.Sprint(queueMS)).Replace(reloadCrashPolicy)
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCrashDuringReload: under a continuous stream of POSTs, SIGHUP reloads a changed policy and
// SIGKILL lands in the reload: at once after the signal, a few milliseconds after it, inside the
// new policy's init (the policy logs when init begins and spends 150 ms in it; the kill comes
// after "begins" and before "done"), while the queues ask the new policy for their configuration
// again (each get_queue_config takes 40 ms; the kill comes after the first begins and before all
// eight are done), and in the second of three SIGHUPs sent back to back. Every round restarts on
// the spool the last one left, and a last node must deliver every record any node acknowledged.
func TestCrashDuringReload(t *testing.T) {
	sw := &switchable{}
	sw.delay.Store(int64(50 * time.Millisecond)) // two sessions a queue: a backlog at each kill
	recv, url := webhook(t, sw.wrap)
	dir := t.TempDir()
	file, spool := filepath.Join(dir, "policy.lua"), filepath.Join(dir, "spool")
	gen := newLoadGen(0, 25, 0, nil)
	flags := []string{"--log-level", "info"}
	env := "HOOKD_TEST_WEBHOOK=" + url
	version := 1
	seen := func(c *child, line string) bool { return strings.Contains(c.stderr.String(), line) }
	count := func(c *child, line string) int { return strings.Count(c.stderr.String(), line) }
	waitLine := func(c *child, line string) {
		t.Helper()
		waitFor(t, fmt.Sprintf("%q in the node's log", line), func() bool { return seen(c, line) })
	}
	// hup writes the next version of the policy and sends SIGHUP.
	hup := func(c *child, initMS, queueMS int) int {
		t.Helper()
		version++
		writeReloadPolicy(t, file, version, initMS, queueMS)
		if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatalf("SIGHUP: %v", err)
		}
		return version
	}
	rounds := []struct {
		name string
		kill func(c *child) string // sends SIGHUP(s), kills inside the reload, and says where it landed
	}{
		{"at once", func(c *child) string {
			v := hup(c, 150, 0)
			c.kill(t)
			return fmt.Sprintf("init begun: %v, done: %v", seen(c, fmt.Sprintf("init begins v%d", v)),
				seen(c, fmt.Sprintf("init done v%d", v)))
		}},
		{"after 3ms", func(c *child) string {
			v := hup(c, 150, 0)
			time.Sleep(3 * time.Millisecond) // the variant's timing, not a wait for a condition
			c.kill(t)
			return fmt.Sprintf("init begun: %v, done: %v", seen(c, fmt.Sprintf("init begins v%d", v)),
				seen(c, fmt.Sprintf("init done v%d", v)))
		}},
		{"inside init", func(c *child) string {
			v := hup(c, 150, 0)
			waitLine(c, fmt.Sprintf("init begins v%d", v))
			c.kill(t)
			if seen(c, fmt.Sprintf("init done v%d", v)) || seen(c, "policy reloaded") {
				t.Errorf("the reload had finished before SIGKILL; the round proves nothing")
			}
			return "after init began, before it was done"
		}},
		{"queues reconfiguring", func(c *child) string {
			v := hup(c, 0, 40)
			waitLine(c, fmt.Sprintf("get_queue_config begins v%d", v))
			// The queues start asking the new policy while the main goroutine is still about to
			// log the swap; each ask takes 40 ms, so waiting for that line still kills inside them.
			waitLine(c, "policy reloaded")
			c.kill(t)
			done := count(c, fmt.Sprintf("get_queue_config done v%d", v))
			if !seen(c, "policy reloaded") || done >= 8 {
				t.Errorf("SIGKILL did not land while the queues were reconfigured (reloaded: %v, %d of 8 done)",
					seen(c, "policy reloaded"), done)
			}
			return fmt.Sprintf("policy swapped, %d of 8 queues reconfigured", done)
		}},
		{"three SIGHUPs", func(c *child) string {
			v := hup(c, 100, 0)
			waitLine(c, fmt.Sprintf("init begins v%d", v))
			w := hup(c, 100, 0)
			_ = c.cmd.Process.Signal(syscall.SIGHUP)
			waitLine(c, fmt.Sprintf("init begins v%d", w))
			c.kill(t)
			if seen(c, fmt.Sprintf("init done v%d", w)) {
				t.Errorf("the second reload had finished before SIGKILL; the round proves nothing")
			}
			return fmt.Sprintf("first reload done: %v, inside the second's init", seen(c, fmt.Sprintf("init done v%d", v)))
		}},
	}
	writeReloadPolicy(t, file, version, 0, 0)
	node := startNodeWith(t, spool, file, flags, env)
	start := time.Now()
	for _, r := range rounds {
		stop := gen.start(node)
		base := gen.ackedCount()
		waitFor(t, "records acknowledged, some delivered, some waiting", func() bool {
			n := gen.ackedCount()
			return n >= base+500 && recv.Stats().Unique > 0 && n-int(recv.Stats().Unique) >= 100
		})
		where := r.kill(node)
		stop()
		if strings.Contains(node.stderr.String(), "level=ERROR") {
			t.Errorf("round %q: the node logged errors before SIGKILL:\n%s", r.name, node.stderr.String())
		}
		t.Logf("round %q: SIGKILL %s; %d acknowledged so far, %d arrived", r.name, where, gen.ackedCount(),
			recv.Stats().Unique)
		writeReloadPolicy(t, file, version, 0, 0) // the restart loads quickly; the next round reloads
		node = startNodeWith(t, spool, file, flags, env)
		checkSpoolClean(t, spool, node)
	}
	sw.delay.Store(0)
	acked, posted, refused := gen.results()
	for _, r := range refused {
		t.Errorf("a live node refused a POST: %s", r)
	}
	waitAcked(t, recv, acked, deliveryTimeout)
	f := checkAcked(t, recv, acked, posted)
	t.Logf("%d rounds: %s; took %s", len(rounds), f, time.Since(start).Round(time.Millisecond))
	if code := node.terminate(t); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}
}
