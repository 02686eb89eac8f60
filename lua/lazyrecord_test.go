package lua

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/lua/luaserde"
	"github.com/hookd/hookd/message"
)

// goldenMessages are hook messages for every golden record.
func goldenMessages(t *testing.T) map[string]*Message {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "message", "testdata", "golden", "*.json"))
	if len(files) == 0 {
		t.Fatal("no golden records")
	}
	out := map[string]*Message{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := message.DecodeRecord(raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		m, err := message.NewHookMessage(rec, message.NewIDGen([6]byte{1}).New(testTime), raw)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = &Message{Msg: m, Record: rec}
	}
	return out
}

// TestLazyRecordMatchesTheFullTable: whatever a policy does with log_record (read fields, iterate,
// serialise), it sees what the fully built table holds.
func TestLazyRecordMatchesTheFullTable(t *testing.T) {
	s := newState(t, load(t, ``))
	for name, m := range goldenMessages(t) {
		full, err := luaserde.ToJSON(recordTable(s.L, m.Record))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			for _, field := range recordFieldNames { // each field read first, then the whole
				got := withMsg(t, s, &Message{Msg: m.Msg, Record: m.Record}, `
					local r = msg:get_meta('log_record')
					local v = r.`+field+`
					out = kumo.json_encode({ v = v, all = r })`)
				eager := recordFields[field](s.L, m.Record)
				want, _ := luaserde.ToJSON(tableOf(s.L, "v", eager, "all", mustJSON(t, s.L, full)))
				if !sameJSON(got, string(want)) {
					t.Fatalf("reading %s first:\n got %s\nwant %s", field, got, want)
				}
			}
			got := withMsg(t, s, &Message{Msg: m.Msg, Record: m.Record}, `
				local r = msg:get_meta('log_record')
				local copy = {}
				for k, v in pairs(r) do copy[k] = v end
				out = kumo.json_encode(copy)`)
			if !sameJSON(got, string(full)) {
				t.Fatalf("pairs before any read:\n got %s\nwant %s", got, full)
			}
			got = withMsg(t, s, &Message{Msg: m.Msg, Record: m.Record}, `
				local r = msg:get_meta('log_record')
				local n, k = 0, next(r)
				while k do n = n + 1; k = next(r, k) end
				local m = 0
				for _ in pairs(kumo.json_parse(kumo.json_encode(r))) do m = m + 1 end
				out = n .. '=' .. m`)
			if a, b, _ := strings.Cut(got, "="); a != b {
				t.Fatalf("next walks %s fields, the serialised record has %s", a, b)
			}
		})
	}
}

func TestLazyRecordWrites(t *testing.T) {
	s := newState(t, load(t, ``))
	m := hookMessage(t, message.Delivery)
	got := withMsg(t, s, m, `
		local r = msg:get_meta('log_record')
		r.type = 'Changed'         -- before it is read
		r.sender = nil             -- removed before it is read
		r.extra = 1                -- not a record field
		local code = r.response.code
		r.response = 'replaced'    -- after it was read
		out = r.type .. ',' .. tostring(r.sender) .. ',' .. r.extra .. ',' .. code .. ',' .. r.response
		local seen = {}
		for k, v in pairs(r) do seen[k] = v end
		out = out .. '|' .. tostring(seen.type) .. ',' .. tostring(seen.sender) .. ',' .. tostring(seen.id ~= nil)
		msg:set_meta('copy', r)
		out = out .. '|' .. msg:get_meta('copy').type .. ',' .. tostring(msg:get_meta('copy').sender)`)
	want := "Changed,nil,1,250,replaced|Changed,nil,true|Changed,nil"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// The same table is returned on every get_meta, so what one handler wrote another sees.
	got = withMsg(t, s, m, `out = msg:get_meta('log_record').type`)
	if got != "Changed" {
		t.Fatalf("a second get_meta: %s", got)
	}
}

// sameJSON compares two JSON texts as values (Lua tables have no member order).
func sameJSON(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

func tableOf(L *glua.LState, kv ...any) *glua.LTable {
	t := L.NewTable()
	for i := 0; i < len(kv); i += 2 {
		t.RawSetString(kv[i].(string), kv[i+1].(glua.LValue))
	}
	return t
}

func mustJSON(t *testing.T, L *glua.LState, raw []byte) glua.LValue {
	t.Helper()
	v, err := luaserde.FromJSON(L, raw)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestLazyRecordIsAPlainTableToMetatables: getmetatable and setmetatable see a plain table (no
// metatable, one may be set), complete it first, and its bookkeeping member never shows.
func TestLazyRecordIsAPlainTableToMetatables(t *testing.T) {
	s := newState(t, load(t, ``))
	m := hookMessage(t, message.Delivery)
	got := withMsg(t, s, m, `
		local r = msg:get_meta('log_record')
		local code = r.response.code
		local mt = getmetatable(r)
		local n = 0
		for k in pairs(r) do
			n = n + 1
			assert(type(k) == 'string' and k:byte(1) ~= 0, 'a bookkeeping member shows: ' .. tostring(k))
		end
		local id = r.id
		setmetatable(r, { __index = function(_, k) return 'default:' .. k end })
		out = tostring(mt) .. ',' .. code .. ',' .. tostring(n > 10) .. ',' .. tostring(id ~= nil) .. ',' .. r.no_such_field`)
	if want := "nil,250,true,true,default:no_such_field"; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	got = withMsg(t, s, hookMessage(t, message.Bounce), `
		local r = msg:get_meta('log_record')
		setmetatable(r, nil)  -- before any read: the table is completed, not emptied
		out = r.type .. ',' .. tostring(r.response ~= nil) .. ',' .. tostring(rawget(r, 'type') ~= nil)`)
	if want := "Bounce,true,true"; got != want {
		t.Fatalf("setmetatable first: got %s, want %s", got, want)
	}
}
