package actors

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/hookd/hookd/message"
)

// localLogPolicy writes every record to local logs (Reception records to their own file, TransientFailure
// records not at all), keeps only records whose tenant is acme, and posts Deliveries to a webhook.
const localLogPolicy = `
kumo.on('init', function()
	kumo.configure_local_logs {
		log_dir = 'LOGDIR', max_segment_duration = '1m', meta = { 'tenant' }, filter_event = 'only_acme',
		per_record = { Reception = { suffix = '.reception' }, TransientFailure = { enable = false } },
	}
	kumo.configure_log_hook { name = 'wh' }
end)
kumo.on('only_acme', function(msg) return msg:get_meta('tenant') == 'acme' end)
kumo.on('should_enqueue_log_record', function(msg)
	msg:set_meta('queue', 'webhook')
	msg:set_meta('tenant', 'acme') -- so that records about the webhook delivery pass the filter
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

// readLogs decompresses every segment in dir and returns the records by file suffix.
func readLogs(t *testing.T, dir string) map[string][]map[string]any {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	sort.Strings(files)
	out := map[string][]map[string]any{}
	dec, _ := zstd.NewReader(nil)
	defer dec.Close()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := dec.DecodeAll(data, nil)
		if err != nil {
			t.Fatalf("%s is not zstd: %v", f, err)
		}
		suffix := filepath.Ext(f)
		if !strings.HasPrefix(suffix, ".reception") {
			suffix = ""
		}
		sc := bufio.NewScanner(bytes.NewReader(raw))
		for sc.Scan() {
			var rec map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("%s: a line is not JSON: %q", f, sc.Text())
			}
			out[suffix] = append(out[suffix], rec)
		}
	}
	return out
}

func TestLocalLogs(t *testing.T) {
	wh := newWebhook(t)
	dir := t.TempDir()
	r := startRig(t, strings.ReplaceAll(localLogPolicy, "LOGDIR", dir), wh.URL)
	acme := func(kind message.RecordType, n int) *message.LogRecord {
		rec := record(kind, n)
		rec.Meta["tenant"] = []byte(`"acme"`)
		rec.Meta["secret"] = []byte(`"x"`)
		return rec
	}
	other := record(message.Delivery, 9)
	other.Meta["tenant"] = []byte(`"globex"`)
	r.log(t, acme(message.Delivery, 1), acme(message.Reception, 2), acme(message.TransientFailure, 3), other)
	wh.waitRequests(t, 4) // the hook keeps all four records; local logs filter their own way
	eventually(t, "the webhook deliveries are recorded", func() bool { return r.sys.Stats().Delivered == 4 })
	// Segments stay open until max_segment_duration; a minute later they are closed and read-only.
	// Records about the webhook deliveries may still be on their way to the logger and open a new
	// segment, so time moves on a minute at a time until every record is in a closed segment.
	closed := func() (bool, int) {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			if fi, err := os.Stat(f); err != nil || fi.Mode().Perm()&0o222 != 0 {
				return false, 0
			}
		}
		n := 0
		for _, recs := range readLogs(t, dir) {
			n += len(recs)
		}
		return true, n
	}
	eventually(t, "every record is in a closed segment", func() bool {
		r.clock.Advance(time.Minute)
		ok, n := closed()
		return ok && n == 6
	})
	logs := readLogs(t, dir)
	if got := logs[".reception"]; len(got) != 1 || got[0]["type"] != "Reception" {
		t.Fatalf("reception file: %v", got)
	}
	main := logs[""]
	var types []string
	for _, rec := range main {
		types = append(types, rec["type"].(string))
		if meta := rec["meta"].(map[string]any); meta["secret"] != nil {
			t.Fatalf("meta not captured by the list: %v", meta)
		}
	}
	sort.Strings(types)
	// acme's Delivery, plus the Delivery records of the webhook messages (reception_protocol LogRecord,
	// tenant set to acme by the hook), never TransientFailure, never globex.
	want := []string{"Delivery", "Delivery", "Delivery", "Delivery", "Delivery"}
	if strings.Join(types, ",") != strings.Join(want, ",") {
		t.Fatalf("main log holds %v, want %v", types, want)
	}
	logRecords := 0
	for _, rec := range main {
		if rec["reception_protocol"] == "LogRecord" {
			logRecords++
		}
	}
	if logRecords != 4 {
		t.Fatalf("%d records about webhook deliveries in the local log, want 4", logRecords)
	}
}
