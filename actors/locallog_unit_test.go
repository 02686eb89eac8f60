package actors

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/klauspost/compress/zstd"

	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/message"
)

// localUnitPolicy writes every record of a tenant other than globex, never TransientFailures, in
// one-minute segments; free space is not checked (0%), so the test does not depend on the disk.
const localUnitPolicy = `
kumo.on('init', function()
	kumo.configure_local_logs {
		log_dir = 'LOGDIR', max_segment_duration = '1m', meta = { 'tenant' }, filter_event = 'unit_filter',
		min_free_space = '0%', min_free_inodes = '0%',
		per_record = { TransientFailure = { enable = false } },
	}
end)
kumo.on('unit_filter', function(msg) return msg:get_meta('tenant') ~= 'globex' end)
`

// localUnitRig is one local logger on a loop, with stub ports; only its output directory is real.
type localUnitRig struct {
	e       *actor.Engine
	l       *loop
	dir     string
	send    *stubSender
	clock   *clock.Fake
	credits *Credits
	low     *atomic.Int32
}

func localUnitStart(t *testing.T) *localUnitRig {
	t.Helper()
	dir := t.TempDir()
	p, _ := stubPolicy(t, strings.ReplaceAll(localUnitPolicy, "LOGDIR", dir))
	if len(p.Config().LocalLogs) != 1 {
		t.Fatalf("the policy configured %d local logs", len(p.Config().LocalLogs))
	}
	cfg := p.Config().LocalLogs[0]
	e := stubEngine(t)
	r := &localUnitRig{e: e, dir: dir, send: newStubSender(e), clock: clock.NewFake(t0),
		credits: NewCredits(cfg.BackPressure), low: &atomic.Int32{}}
	r.l = stubStartLoop(t, e, "logger", "local-0", &localLogger{cfg: cfg, p: LocalPorts{Policies: stubPoliciesOf(p),
		Credits: r.credits, Send: r.send, Clock: r.clock, Log: stubLogger(), LowSpace: r.low}})
	return r
}

// log hands records to the logger as the intake does (a credit per record) and waits until the
// logger has returned the credits: it has written the records.
func (r *localUnitRig) log(t *testing.T, recs ...*message.LogRecord) {
	t.Helper()
	batch := make([]Record, len(recs))
	for i, rec := range recs {
		batch[i] = ExternalRecord(*rec)
	}
	if !r.credits.TryAcquire(len(batch)) {
		t.Fatal("no back_pressure credits")
	}
	r.e.Send(r.l.pid, LogBatch{Records: batch})
	ctx, cancel := context.WithTimeout(context.Background(), stubTimeout)
	defer cancel()
	if err := r.credits.WaitIdle(ctx); err != nil {
		t.Fatalf("the logger did not return its credits: %v", err)
	}
}

// localUnitRecord is record(kind, n) of the tenant, with a meta the logger does not capture.
func localUnitRecord(kind message.RecordType, n int, tenant string) *message.LogRecord {
	rec := record(kind, n)
	rec.Meta["tenant"] = json.RawMessage(`"` + tenant + `"`)
	rec.Meta["secret"] = json.RawMessage(`"x"`)
	return rec
}

// localUnitLine is the line the logger writes for rec: its JSON with only the tenant meta.
func localUnitLine(rec *message.LogRecord) string {
	lr := *rec
	lr.Meta = map[string]json.RawMessage{"tenant": rec.Meta["tenant"]}
	lr.Headers = map[string]json.RawMessage{}
	return string(lr.AppendJSON(nil))
}

// localUnitSegments returns the names of the segment files in dir, sorted.
func localUnitSegments(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = filepath.Base(f)
	}
	sort.Strings(names)
	return names
}

// localUnitRead decompresses a closed segment and returns its lines.
func localUnitRead(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	raw, err := dec.DecodeAll(data, nil)
	if err != nil {
		t.Fatalf("%s is not a complete zstd segment: %v", path, err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

func TestLocalUnitWritesFilteredRecords(t *testing.T) {
	r := localUnitStart(t)
	acme1 := localUnitRecord(message.Delivery, 1, "acme")
	globex := localUnitRecord(message.Delivery, 2, "globex")
	transient := localUnitRecord(message.TransientFailure, 3, "acme")
	acme4 := localUnitRecord(message.Bounce, 4, "acme")
	r.log(t, acme1, globex, transient)
	r.log(t, acme4)
	if r.credits.InUse() != 0 {
		t.Fatalf("%d credits not returned", r.credits.InUse())
	}

	stubStopLoop(t, r.l) // closes the open segment
	names := localUnitSegments(t, r.dir)
	if len(names) != 1 || names[0] != "20260601-080000" {
		t.Fatalf("segments %v, want one opened at the fake clock's time", names)
	}
	got := localUnitRead(t, filepath.Join(r.dir, names[0]))
	want := []string{localUnitLine(acme1), localUnitLine(acme4)}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("lines\n%s\nwant (no globex: filter_event; no TransientFailure: disabled)\n%s",
			strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r.low.Load() != 0 {
		t.Fatalf("LowSpace %d after stop", r.low.Load())
	}
}

func TestLocalUnitRotatesOnItsTimer(t *testing.T) {
	r := localUnitStart(t)
	first := localUnitRecord(message.Delivery, 1, "acme")
	r.log(t, first)
	// A second batch: once its credits are back, the logger has armed its timer for the first.
	second := localUnitRecord(message.Bounce, 2, "acme")
	r.log(t, second)

	r.clock.Advance(time.Minute) // the segment's deadline: the timer sends a localTick through Send
	for {
		s := stubWait(t, r.send.ch, "the localTick")
		if _, ok := s.Msg.(localTick); ok {
			if !s.PID.Equals(r.l.pid) {
				t.Fatalf("localTick sent to %v, not the logger %v", s.PID, r.l.pid)
			}
			break
		}
		if _, ok := s.Msg.(spaceTick); !ok {
			t.Fatalf("the logger's timers sent a %T", s.Msg)
		}
	}
	third := localUnitRecord(message.Delivery, 3, "acme")
	r.log(t, third) // handled after the tick: a new segment

	names := localUnitSegments(t, r.dir)
	if strings.Join(names, ",") != "20260601-080000,20260601-080100" {
		t.Fatalf("segments %v", names)
	}
	closed := filepath.Join(r.dir, names[0])
	fi, err := os.Stat(closed)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o222 != 0 {
		t.Fatalf("the expired segment is still writable (%v): the tick did not close it", fi.Mode())
	}
	if got := localUnitRead(t, closed); strings.Join(got, "\n") != localUnitLine(first)+"\n"+localUnitLine(second) {
		t.Fatalf("the first segment holds %q", got)
	}
	stubStopLoop(t, r.l)
	if got := localUnitRead(t, filepath.Join(r.dir, names[1])); len(got) != 1 || got[0] != localUnitLine(third) {
		t.Fatalf("the second segment holds %q", got)
	}
}
