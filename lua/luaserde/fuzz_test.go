package luaserde

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/message"
)

var jsonSeeds = []string{
	`{"type":"Delivery","id":"abc","recipient":["a@b","c@d"],"meta":{"x":null},"n":1.5e3}`,
	`[1,null,3]`, `{"1":"a","2":"b"}`, `"\ud83d\ude00\ud800"`, `-0.0e-7`, `[[[[]]]]`, `{}`, `null`,
	"\"\xff\"", `[1e400]`, `12345678901234567890`, `{"a":1,"a":null}`,
}

// FuzzJSONRoundTrip checks that FromJSON never panics, accepts what
// encoding/json accepts (bar the documented limits), and that encoding a
// parsed value and parsing it again gives an equal value.
func FuzzJSONRoundTrip(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		L := newState(t)
		v1, err := FromJSON(L, data)
		if err != nil {
			msg := err.Error()
			if json.Valid(data) && !strings.Contains(msg, "out of range") && !strings.Contains(msg, "nesting deeper") {
				t.Fatalf("FromJSON rejected valid JSON %q: %v", data, err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("FromJSON accepted invalid JSON %q", data)
		}
		enc, err := ToJSON(v1)
		if err != nil {
			t.Fatalf("ToJSON of parsed %q: %v", data, err)
		}
		v2, err := FromJSON(L, enc)
		if err != nil {
			t.Fatalf("re-parsing %q (from %q): %v", enc, data, err)
		}
		g1, err1 := toGo(v1)
		g2, err2 := toGo(v2)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(g1, g2) {
			t.Fatalf("round trip changed the value:\n in  %q\n out %q\n %#v (%v)\n %#v (%v)", data, enc, g1, err1, g2, err2)
		}
		pretty, err := ToJSONPretty(v1)
		if err != nil || !json.Valid(pretty) {
			t.Fatalf("ToJSONPretty of parsed %q: %q, %v", data, pretty, err)
		}
	})
}

// FuzzStringEncoding checks json_encode's strings against hookd's one rule: a Lua string that is
// valid UTF-8 comes out as message.AppendJSONString writes it, any other as the array of its byte
// values, and both kinds come out so inside a table, as a member name or not.
func FuzzStringEncoding(f *testing.F) {
	for _, s := range []string{"", "a", "<>&'/\x7f", "\u2028\u2029", "\x00\x1f\"\\", "😀", "a\xff", "\xe2\x82"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ToJSON(lua.LString(s))
		if err != nil {
			t.Fatal(err)
		}
		want := message.AppendJSONString(nil, s)
		if !utf8.ValidString(s) {
			want = []byte{'['}
			for i := 0; i < len(s); i++ {
				if i > 0 {
					want = append(want, ',')
				}
				want = strconv.AppendUint(want, uint64(s[i]), 10)
			}
			want = append(want, ']')
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("ToJSON(%q) = %s, want %s", s, got, want)
		}
		L := newState(t)
		tbl := L.NewTable()
		tbl.RawSetString("k", lua.LString(s))
		inTable, err := ToJSON(tbl)
		if err != nil || string(inTable) != `{"k":`+string(want)+`}` {
			t.Fatalf("ToJSON({k=%q}) = %s, %v", s, inTable, err)
		}
		if !utf8.ValidString(s) {
			return
		}
		tbl = L.NewTable()
		tbl.RawSetString(s, lua.LTrue)
		if asKey, err := ToJSON(tbl); err != nil || string(asKey) != "{"+string(want)+":true}" {
			t.Fatalf("ToJSON({[%q]=true}) = %s, %v", s, asKey, err)
		}
	})
}

// FuzzStripComments checks the invariants of StripComments on any input.
func FuzzStripComments(f *testing.F) {
	for _, s := range append(jsonSeeds, "# c\n{\"a\":\"//\"} /* x\n*/ // y", `"\"/*`, "/*/", "//\r\n#") {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		out := StripComments(data)
		if !bytes.Equal(data, orig) {
			t.Fatal("StripComments modified its input")
		}
		if len(out) != len(data) {
			t.Fatalf("length changed from %d to %d", len(data), len(out))
		}
		for i := range out {
			if out[i] != data[i] && out[i] != ' ' {
				t.Fatalf("byte %d changed to %q instead of a space", i, out[i])
			}
			if (data[i] == '\n') != (out[i] == '\n') {
				t.Fatalf("newline structure changed at byte %d", i)
			}
		}
		if again := StripComments(out); !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q -> %q", data, out, again)
		}
		if json.Valid(data) && !bytes.Equal(out, data) {
			t.Fatalf("changed valid JSON %q into %q", data, out)
		}
	})
}

// noGoPanic fails when err is a Go panic that gopher-lua caught (Lua
// errors raised on purpose are fine).
func noGoPanic(t *testing.T, err error) {
	t.Helper()
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) && apiErr.Type == lua.ApiErrorPanic {
		t.Fatalf("Go panic escaped: %v", err)
	}
}

// FuzzParseTOML checks that no TOML input makes toml_parse panic past the
// Lua error boundary.
func FuzzParseTOML(f *testing.F) {
	for _, s := range []string{"a = 1\n[b]\nc = [1, 2]", "[[x]]\ny = 1979-05-27", "a = {b = 'c'}", "= 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		L := newState(t)
		L.SetGlobal("doc", lua.LString(doc))
		noGoPanic(t, L.DoString(`v = kumo.toml_parse(doc)`))
		noGoPanic(t, L.DoString(`kumo.json_encode_pretty(v)`))
	})
}

// FuzzParseYAML checks that no YAML input makes yaml_parse panic past the
// Lua error boundary.
func FuzzParseYAML(f *testing.F) {
	for _, s := range []string{"a: [1, 2]\nb: {c: x}", "- &a x\n- *a", "? [1]\n: y", ": :"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		L := newState(t)
		L.SetGlobal("doc", lua.LString(doc))
		noGoPanic(t, L.DoString(`v = kumo.yaml_parse(doc)`))
		noGoPanic(t, L.DoString(`kumo.json_encode(v)`))
	})
}
