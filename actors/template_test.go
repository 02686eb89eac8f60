package actors

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/hookd/hookd/message"
)

// templatePolicy renders Delivery records through per_record templates, in a log hook (the webhook
// body) and in local logs (the log line); other record types stay JSON.
const templatePolicy = `
kumo.on('init', function()
	kumo.configure_local_logs { log_dir = 'LOGDIR', max_segment_duration = '1m',
		per_record = { Delivery = { template = 'local {{ type }} {{ id }} {{ response.code }}' } } }
	kumo.configure_log_hook { name = 'wh',
		per_record = { Delivery = { template = '{"kind": {{ type | tojson }}, "rcpt": {{ recipient | tojson }}, "code": {{ response.code }}}' } } }
end)
kumo.on('should_enqueue_log_record', function(msg)
	if msg:get_meta('log_record').reception_protocol == 'LogRecord' then return false end
	msg:set_meta('queue', 'webhook')
	return true
end)
kumo.on('get_queue_config', function()
	return kumo.make_queue_config { protocol = { custom_lua = { constructor = 'make.wh' } } }
end)
kumo.on('make.wh', function()
	local client = kumo.http.build_client {}
	return { send = function(self, msg) client:post('WEBHOOK'):body(msg:get_data()):send(); return 'posted' end }
end)
`

func TestPerRecordTemplates(t *testing.T) {
	wh := newWebhook(t)
	dir := t.TempDir()
	r := startRig(t, strings.ReplaceAll(templatePolicy, "LOGDIR", dir), wh.URL)
	del, bounce := record(message.Delivery, 1), record(message.Bounce, 2)
	r.log(t, del, bounce)
	wh.waitRequests(t, 2)
	eventually(t, "both are delivered", func() bool { return r.sys.Stats().Delivered == 2 })

	wh.mu.Lock()
	bodies := map[string]string{}
	for _, b := range wh.bodies {
		if bytes.Contains(b, []byte(`"kind"`)) {
			bodies["Delivery"] = string(b)
		} else {
			bodies["other"] = string(b)
		}
	}
	wh.mu.Unlock()
	if got, want := bodies["Delivery"], `{"kind": "Delivery", "rcpt": "r@example.net", "code": 250}`+"\n"; got != want {
		t.Errorf("templated hook body %q, want %q", got, want)
	}
	if got := bodies["other"]; !strings.HasPrefix(got, `{"type":"Bounce","id":"`+bounce.ID+`"`) {
		t.Errorf("a record type without a template is posted as JSON; got %q", got)
	}

	var lines []string
	eventually(t, "the local log segment closes", func() bool {
		r.clock.Advance(time.Minute)
		lines = localLines(t, dir)
		return len(lines) >= 4 // two records in, two delivery outcomes
	})
	want := "local Delivery " + del.ID + " 250"
	found, json := false, 0
	for _, l := range lines {
		if l == want {
			found = true
		}
		if strings.HasPrefix(l, "{") {
			json++
		}
	}
	if !found || json == 0 {
		t.Errorf("local log lines %q: want %q and JSON lines for untemplated types", lines, want)
	}
}

// localLines returns every line of the closed (read-only) local log segments in dir.
func localLines(t *testing.T, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	dec, _ := zstd.NewReader(nil)
	defer dec.Close()
	var out []string
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm()&0o222 != 0 {
			continue // still open
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := dec.DecodeAll(data, nil)
		if err != nil {
			t.Fatalf("%s is not zstd: %v", f, err)
		}
		out = append(out, strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")...)
	}
	return out
}
