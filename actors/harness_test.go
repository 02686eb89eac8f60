package actors

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/lua"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
)

var t0 = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

// webhook is a loopback receiver whose answers the test scripts.
type webhook struct {
	*httptest.Server
	mu       sync.Mutex
	bodies   []json.RawMessage
	statuses []int // answered in order; 200 once exhausted
	inflight int
	maxSeen  int
	hold     chan struct{} // when set, each request waits for a value before answering
	arrived  chan struct{}
}

func newWebhook(t *testing.T, statuses ...int) *webhook {
	w := &webhook{statuses: statuses, arrived: make(chan struct{}, 1000)}
	w.Server = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(func() {
		w.release()
		w.Close()
	})
	return w
}

func (w *webhook) serve(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	w.inflight++
	w.maxSeen = max(w.maxSeen, w.inflight)
	hold := w.hold
	w.mu.Unlock()
	if hold != nil {
		<-hold
	}
	w.mu.Lock()
	w.inflight--
	status := 200
	if len(w.statuses) > 0 {
		status, w.statuses = w.statuses[0], w.statuses[1:]
	}
	if status == 200 {
		w.bodies = append(w.bodies, body)
	}
	w.mu.Unlock()
	rw.WriteHeader(status)
	w.arrived <- struct{}{}
}

// holdRequests makes requests wait until release.
func (w *webhook) holdRequests() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hold = make(chan struct{})
}

// release lets held requests (and later ones) through.
func (w *webhook) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.hold != nil {
		close(w.hold)
		w.hold = nil
	}
}

func (w *webhook) received() []map[string]any {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]map[string]any, len(w.bodies))
	for i, b := range w.bodies {
		_ = json.Unmarshal(b, &out[i])
	}
	return out
}

// waitRequests waits until n more requests have been answered.
func (w *webhook) waitRequests(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-w.arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("request %d of %d never arrived", i+1, n)
		}
	}
}

// rig is a running System on a fake clock with an in-memory spool.
type rig struct {
	gate   chan struct{} // kumo.test_gate() waits until it is closed
	sys    *System
	clock  *clock.Fake
	spool  *persistence.Memory
	events *eventLog
}

// eventLog records kumo.test_event(name) calls made by policies.
type eventLog struct {
	mu    sync.Mutex
	names []string
}

func (e *eventLog) add(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.names = append(e.names, name)
}

// openGate lets every kumo.test_gate() call return.
func (r *rig) openGate() { close(r.gate) }

func (e *eventLog) count(name string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, x := range e.names {
		if x == name {
			n++
		}
	}
	return n
}

// startRig loads src (with WEBHOOK replaced by url) and starts a system. Jitter is fixed at zero.
func startRig(t *testing.T, src, url string, hooks ...func(*Options)) *rig {
	t.Helper()
	events := &eventLog{}
	gate := make(chan struct{})
	ext := func(L *glua.LState, kumo *glua.LTable) {
		kumo.RawSetString("test_gate", L.NewFunction(func(L *glua.LState) int {
			events.add("gate")
			<-gate
			return 0
		}))
		kumo.RawSetString("test_event", L.NewFunction(func(L *glua.LState) int {
			events.add(L.CheckString(1))
			return 0
		}))
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts := lua.Options{Logger: log, Extensions: []func(*glua.LState, *glua.LTable){ext}}
	opts.HTTP.ParseDuration = message.ParseDuration
	p, err := lua.LoadSource("policy.lua", []byte(strings.ReplaceAll(src, "WEBHOOK", url)), opts)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{gate: gate, clock: clock.NewFake(t0), spool: persistence.NewMemory(), events: events}
	o := Options{Policy: p, Spool: r.spool, Clock: r.clock, Logger: log, NodeID: "node",
		Rand: func() float64 { return 0.5 }, IDs: message.NewIDGen([6]byte{1, 1, 1, 1, 1, 1})}
	for _, h := range hooks {
		h(&o)
	}
	r.sys, err = Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.sys.Stop(ctx)
	})
	return r
}

func (r *rig) log(t *testing.T, recs ...*message.LogRecord) {
	t.Helper()
	evs := make([]Record, len(recs))
	for i, rec := range recs {
		evs[i] = ExternalRecord(*rec)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.sys.Log(ctx, evs); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond until it holds or 10 s pass. It synchronises with the actors; it never
// decides a test's timing semantics (the fake clock does).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// entry returns the single spooled entry.
func (r *rig) entry(t *testing.T) *persistence.Entry {
	t.Helper()
	var out *persistence.Entry
	_ = r.spool.Recover(func(e *persistence.Entry) error { out = e; return nil })
	if out == nil {
		t.Fatal("spool is empty")
	}
	return out
}

func record(kind message.RecordType, n int) *message.LogRecord {
	id := message.NewIDGen([6]byte{2, 2, 2, 2, 2, byte(n)}).New(t0)
	return &message.LogRecord{Type: kind, ID: id.String(), Sender: "s@example.com",
		Recipient: message.Recipients{"r@example.net"}, Timestamp: t0.Unix(), EventTime: t0, NodeID: "node",
		Response: message.Response{Code: 250, Content: "ok"}, Meta: map[string]json.RawMessage{}}
}
