package lua

import (
	"bytes"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"
)

func loadLimited(t *testing.T, src string, limit int64) *Policy {
	t.Helper()
	// No deadline: under the race detector on a loaded machine a hog can take longer than the
	// default one to reach its memory limit, and these tests are about the limit.
	p, err := LoadSource("policy.lua", []byte(src), Options{MemoryLimit: limit,
		Deadlines: map[string]time.Duration{"should_enqueue_log_record": -1, "config": -1},
		Logger:    slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))})
	if err != nil {
		t.Fatalf("loading policy: %v", err)
	}
	return p
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// The size a state is measured at follows what it really holds on the Go heap, for the shapes of
// data a policy builds: arrays of numbers, tables of small tables, maps of strings.
func TestStateSizeFollowsTheHeap(t *testing.T) {
	for _, tc := range []struct{ name, build string }{
		{"numbers", "for i = 1, 1000000 do big[i] = i + 0.5 end"},
		{"tables", "for i = 1, 200000 do big[i] = {i, tostring(i)} end"},
		{"strings", "for i = 1, 200000 do big['key' .. i] = string.rep('v', 100) .. i end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newState(t, loadLimited(t, "big = {}", -1))
			before := stateSizeOf(s.L)
			heap0 := liveHeap()
			if err := s.L.DoString(tc.build); err != nil {
				t.Fatal(err)
			}
			held := float64(int64(liveHeap()) - int64(heap0))
			measured := float64(stateSizeOf(s.L) - before)
			runtime.KeepAlive(s)
			t.Logf("ratio %.2f", measured/held)
			if r := measured / held; r < 0.6 || r > 1.5 {
				t.Fatalf("measured %.1f MiB for %.1f MiB held on the heap (ratio %.2f)", measured/(1<<20), held/(1<<20), r)
			}
		})
	}
}

// A handler that builds 1 GiB of tables is stopped near the limit with an error that names the
// event, the place and the limit; its state is retired, a fresh one works, and the memory comes back.
func TestMemoryLimitStopsACall(t *testing.T) {
	const limit = 32 << 20
	p := loadLimited(t, `
kumo.on('should_enqueue_log_record', function(msg, hook)
  if hook == 'hog' then
    local t = {}
    for i = 1, 64 * 1024 * 1024 do t[i] = {i} end -- about 1 GiB
  end
  return true
end)`, limit)
	heap0 := liveHeap()
	s, err := p.NewState()
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.ShouldEnqueue(hookMessage(t, "Delivery"), "hog")
	var me *MemoryError
	if !errors.As(err, &me) {
		t.Fatalf("error %v (%T), want a MemoryError", err, err)
	}
	wantErr(t, err, "policy.lua:5:", "should_enqueue_log_record", "memory limit of 32 MiB")
	if !s.Broken() {
		t.Fatal("the state that ran past its limit is still usable")
	}
	_, err = s.ShouldEnqueue(hookMessage(t, "Delivery"), "other")
	var re *RetiredError
	if !errors.As(err, &re) {
		t.Fatalf("a call into the retired state: %v, want a RetiredError", err)
	}
	s.Close()
	s = nil
	if grown := int64(liveHeap()) - int64(heap0); grown > 16<<20 {
		t.Errorf("heap is %d MiB above where it was after the state was dropped", grown>>20)
	}
	fresh := newState(t, p)
	keep, err := fresh.ShouldEnqueue(hookMessage(t, "Delivery"), "other")
	if err != nil || !keep {
		t.Fatalf("a fresh state: %v %v", keep, err)
	}
}

// Growth spread over many calls counts too: a global that each call adds to stops the call that
// takes it past the limit.
func TestMemoryLimitAcrossCalls(t *testing.T) {
	p := loadLimited(t, `
hoard = {}
kumo.on('should_enqueue_log_record', function(msg, hook)
  hoard[#hoard + 1] = string.rep('x', 1024 * 1024) .. #hoard
  return true
end)`, 16<<20)
	s := newState(t, p)
	var calls int
	var err error
	for calls = 1; calls <= 200 && err == nil; calls++ {
		_, err = s.ShouldEnqueue(hookMessage(t, "Delivery"), "h")
	}
	var me *MemoryError
	if !errors.As(err, &me) {
		t.Fatalf("after %d calls: %v, want a MemoryError", calls, err)
	}
	t.Logf("stopped at call %d: %v", calls, err)
	if calls < 12 || calls > 30 {
		t.Fatalf("stopped after %d calls of 1 MiB each, want near 16", calls)
	}
}

// A coroutine runs under its state's limit too, and coroutine.wrap still passes values and errors.
func TestMemoryLimitInCoroutines(t *testing.T) {
	p := loadLimited(t, `
kumo.on('should_enqueue_log_record', function(msg, hook)
  if hook == 'wrap' then
    local f = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) error('boom ' .. b, 0) end)
    assert(f(1) == 2)
    local ok, err = pcall(f, 5)
    assert(not ok and err == 'boom 5', tostring(err))
    return true
  end
  local co = coroutine.create(function()
    local t = {}
    for i = 1, 64 * 1024 * 1024 do t[i] = {i} end
  end)
  local ok, err = coroutine.resume(co)
  error(err)
end)`, 16<<20)
	s := newState(t, p)
	if keep, err := s.ShouldEnqueue(hookMessage(t, "Delivery"), "wrap"); err != nil || !keep {
		t.Fatalf("coroutine.wrap: %v %v", keep, err)
	}
	_, err := s.ShouldEnqueue(hookMessage(t, "Delivery"), "hog")
	var me *MemoryError
	if !errors.As(err, &me) {
		t.Fatalf("error %v, want a MemoryError", err)
	}
}

// A policy whose top level is past the limit fails to load with the same clear error.
func TestMemoryLimitAtLoad(t *testing.T) {
	_, err := LoadSource("policy.lua", []byte("big = {}\nfor i = 1, 4e6 do big[i] = {} end"),
		Options{MemoryLimit: 8 << 20, Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))})
	var me *MemoryError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "memory limit of 8 MiB") {
		t.Fatalf("error %v, want a MemoryError", err)
	}
}

// The meter's look at the process counter and the walk of a small state are cheap next to a call.
func BenchmarkStateSize(b *testing.B) {
	s := newState(b, load(b, "kumo.on('should_enqueue_log_record', function() return true end)"))
	for b.Loop() {
		stateSizeOf(s.L)
	}
}

func BenchmarkProcessAllocs(b *testing.B) {
	m := newMeter(nil, 1)
	b.ReportAllocs()
	for b.Loop() {
		m.process()
	}
}

func stateSizeOf(L *glua.LState) int64 {
	n, _ := stateSize(L, 1<<40, 0)
	return n
}
