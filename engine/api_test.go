package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/hookd/hookd/actors"
	"github.com/hookd/hookd/lua"
	"github.com/hookd/hookd/message"
)

func TestDefaultLimitsAreTheActorsDefaults(t *testing.T) {
	if DefaultLimits != Limits(actors.DefaultLimits) {
		t.Fatalf("engine.DefaultLimits %+v, the actors use %+v", DefaultLimits, actors.DefaultLimits)
	}
	if DefaultLuaMemoryLimit != lua.DefaultMemoryLimit {
		t.Fatalf("engine.DefaultLuaMemoryLimit %d, the lua package uses %d", DefaultLuaMemoryLimit, lua.DefaultMemoryLimit)
	}
}

// A policy calls Config.Functions as kumo.NAME with plain values both ways, and an error a function
// returns is a Lua error the policy can catch.
func TestFunctions(t *testing.T) {
	var got [][]any
	fns := map[string]Func{
		"lookup": func(args ...any) (any, error) {
			got = append(got, args)
			return map[string]any{"url": "https://hooks.example/" + fmt.Sprint(args[0]), "tries": 3,
				"tags": []any{"a", int64(2), true}}, nil
		},
		"fail": func(args ...any) (any, error) { return nil, errors.New("no such tenant") },
	}
	src := `
local kumo = require 'kumo'
kumo.on('init', function()
  local r = kumo.lookup('acme', 1.5, 7, { 'x', 'y' }, { k = 'v' }, nil, false)
  assert(r.url == 'https://hooks.example/acme', r.url)
  assert(r.tries == 3 and r.tags[1] == 'a' and r.tags[2] == 2 and r.tags[3] == true)
  local ok, err = pcall(kumo.fail, 'x')
  assert(not ok and string.find(tostring(err), 'kumo.fail: no such tenant', 1, true), tostring(err))
  kumo.configure_log_hook { name = 'h' }
end)
`
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := New(Config{PolicySource: []byte(src), Functions: fns, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("kumo.lookup called %d times", len(got))
	}
	want := []any{"acme", 1.5, int64(7), []any{"x", "y"}, map[string]any{"k": "v"}, nil, false}
	if fmt.Sprint(got[0]) != fmt.Sprint(want) {
		t.Fatalf("arguments %#v, want %#v", got[0], want)
	}
	bad := map[string]Func{"chan": func(...any) (any, error) { return make(chan int), nil }}
	_, err := New(Config{PolicySource: []byte(`kumo.on('init', function() kumo.chan() end)`), Functions: bad, Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), "kumo.chan: result: json: unsupported type: chan int") {
		t.Fatalf("a result with no Lua value: %v", err)
	}
}

// The engine's errors answer errors.Is for the engine's own sentinels, whatever produced them.
func TestErrorsAreTheEngines(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	src := `kumo.on('init', function() kumo.configure_log_hook { name = 'h' } end)
kumo.on('should_enqueue_log_record', function(msg) msg:set_meta('queue', 'q' .. msg:get_meta('log_record').id) return true end)`
	e, err := New(Config{PolicySource: []byte(src), Logger: quiet, InMemory: true, Limits: Limits{MaxQueues: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Log(ctx, &message.LogRecord{Type: message.Delivery}); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("Log before Start: %v", err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	rec := func(id string) *message.LogRecord {
		return &message.LogRecord{Type: message.Delivery, ID: id, Sender: "a@b.c", Recipient: message.Recipients{"d@e.f"}}
	}
	if err := e.Log(ctx, rec("1")); err != nil {
		t.Fatal(err)
	}
	if err := e.Log(ctx, rec("2")); !errors.Is(err, ErrTooManyQueues) {
		t.Fatalf("a second queue past MaxQueues 1: %v", err)
	}
	if e.SpoolDir() != "memory" {
		t.Fatalf("InMemory: spool %q", e.SpoolDir())
	}
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Log(ctx, rec("3")); !errors.Is(err, ErrStopped) {
		t.Fatalf("Log after Stop: %v", err)
	}
	if err := e.Accepting(); !errors.Is(err, ErrStopped) {
		t.Fatalf("Accepting after Stop: %v", err)
	}
}
